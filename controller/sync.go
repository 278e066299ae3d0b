package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/managed"
	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/status"
	"github.com/khulnasoft/gateway/controller/translate"
	"github.com/khulnasoft/gateway/kengine"
)

// errPushIncomplete asks for a retry: some pods could not be reached yet.
var errPushIncomplete = errors.New("not every Kengine pod was programmed")

// pushOutcome summarises a push for status.
type pushOutcome struct {
	pods     int
	failed   []string // "pod: reason", sorted
	rejected bool     // at least one pod refused the config itself
	// refusedBy is the first pod (in pod order) that refused the config, and refusal its
	// message; refusal is empty when no pod refused.
	refusedBy kengine.Endpoint
	refusal   string
}

// syncGateway runs the pipeline for one Gateway: snapshot → translate → render → push →
// status. An error means "retry later"; problems a retry cannot fix go to status instead.
func (c *Controller) syncGateway(ctx context.Context, key types.NamespacedName) error {
	logger := klog.FromContext(ctx)
	gw, err := c.informers.Gateways.Gateways(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		logger.V(4).Info("Gateway deleted")
		c.managed.Forget(key)
		c.rejections.forget(key)
		return c.clearRouteParents(ctx, key)
	}
	if err != nil {
		return err
	}
	class, err := c.informers.GatewayClasses.Get(string(gw.Spec.GatewayClassName))
	if apierrors.IsNotFound(err) {
		// Not ours until a class of ours exists (its creation re-enqueues us); routes must not
		// keep the status this controller wrote while it was.
		return c.clearRouteParents(ctx, key)
	}
	if err != nil {
		return err
	}
	if !c.ownsClass(class) {
		return c.clearRouteParents(ctx, key)
	}

	// Managed or bring-your-own Kengine. The parameters are resolved for both: the class's
	// also say what route authors may do (ExternalName backends).
	isManaged := false
	if c.opts.Managed.Enabled {
		byo, err := c.managed.BringsOwnKengine(gw)
		if err != nil {
			return err
		}
		isManaged = !byo
	}
	params, paramsErr := c.managed.ResolveParameters(class, gw)
	var perr *managed.ParametersError
	if paramsErr != nil && !errors.As(paramsErr, &perr) {
		return paramsErr
	}

	// 1. snapshot, with the data plane: backends must never be the proxy's own pods.
	dp, err := c.findDataPlane(key)
	if err != nil {
		return err
	}
	snap, err := c.buildSnapshot(ctx, class, gw, dp, params.AllowExternalNameBackends)
	if err != nil {
		return fmt.Errorf("building snapshot: %w", err)
	}
	fps := fingerprints(snap)
	snap.Excluded = c.rejections.excludedFor(key, fps, c.opts.Now())
	snap.Layer4Unavailable = c.rejections.layer4MissingFor(key, c.opts.Now())
	// 2. translate
	topts := translate.Options{
		ControllerName:            c.opts.ControllerName,
		ReservedPorts:             c.reservedPorts(),
		AllowExternalNameBackends: params.AllowExternalNameBackends,
	}
	tr := translate.Translate(snap, topts)
	if paramsErr != nil {
		// Nothing is created or pushed for a Gateway whose parameters are invalid.
		tr.Status.Gateway.Conditions = []metav1.Condition{status.Condition(gatewayv1.GatewayConditionAccepted, false,
			gatewayv1.GatewayReasonInvalidParameters, paramsErr.Error(), gw.Generation)}
		return c.status.Write(ctx, gw, &tr.Status, status.DataPlane{})
	}
	accepted := meta.IsStatusConditionTrue(tr.Status.Gateway.Conditions, string(gatewayv1.GatewayConditionAccepted))
	ropts, pusher := c.opts.Render, c.pusher
	switch {
	case isManaged && accepted:
		params.ListenerSetListeners = servedListenerSetListeners(tr.Status.ListenerSets)
		access, err := c.managed.Reconcile(ctx, gw, class, params)
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // the namespace is going away, and the Gateway with it
			}
			return fmt.Errorf("reconciling the managed Kengine: %w", err)
		}
		ropts.Admin, ropts.PKI, pusher = access.Admin, access.PKI, access.Pusher
	case !isManaged && accepted && pusher == nil && c.opts.Managed.PKI != nil:
		// Bring-your-own Kengine without admin flags: the controller issues the admin Secret
		// the user's pods mount, and talks to them over the same mutual TLS.
		access, err := c.managed.ReconcileAdmin(ctx, gw, class)
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			return fmt.Errorf("reconciling the admin credentials: %w", err)
		}
		ropts.Admin, ropts.PKI, pusher = access.Admin, access.PKI, access.Pusher
	}
	if pusher == nil {
		// Bring-your-own Kengine without admin credentials: nothing can be pushed.
		return c.status.Write(ctx, gw, &tr.Status, dp.status(pushOutcome{pods: len(dp.endpoints), rejected: true, failed: []string{
			"bring-your-own Kengine needs the controller to run with --kengine-admin-config (mutual TLS) or --kengine-admin-insecure"}}))
	}
	// 3. render
	data, version, err := renderConfig(tr, ropts)
	if err != nil {
		return err
	}
	// 4. push
	var outcome pushOutcome
	if accepted {
		outcome = c.push(ctx, pusher, dp, data, version)
		if outcome.refusal != "" && snap.Layer4Unavailable == "" && kengine.RefusesUnknownApp(outcome.refusal, kengine.AppLayer4) {
			// A Kengine without the layer4 app: serve the rest, say why the TLS, TCP and
			// UDP listeners are not (layer4.go).
			msg := layer4Message(outcome.refusedBy.Pod, outcome.refusal)
			logger.Info("Kengine has no layer4 app; pushing the config without TLS, TCP and UDP listeners", "pod", outcome.refusedBy.Pod)
			c.rejections.recordLayer4Missing(key, msg, c.opts.Now())
			snap.Layer4Unavailable = msg
			tr = translate.Translate(snap, topts)
			if data, version, err = renderConfig(tr, ropts); err != nil {
				return err
			}
			outcome = c.push(ctx, pusher, dp, data, version)
		}
		if outcome.refusal != "" {
			// One tenant must not stall the Gateway: find what the refusal depends on,
			// leave it out, and push the rest.
			if isolated, err := c.isolateRefusal(ctx, key, pusher, snap, topts, ropts, fps, outcome); err != nil {
				logger.Info("Could not isolate why Kengine refused the config", "err", err)
			} else {
				tr, data, version, outcome = isolated.tr, isolated.data, isolated.version, c.push(ctx, pusher, dp, isolated.data, isolated.version)
			}
		}
		if outcome.pods > 0 && len(outcome.failed) == 0 {
			c.rejections.recordAccepted(key, fps, snap.Excluded)
		}
	}
	logger.V(4).Info("Synced", "managed", isManaged, "version", version[:12], "bytes", len(data), "pods", outcome.pods, "failed", len(outcome.failed))
	// 5. status
	if err := c.status.Write(ctx, gw, &tr.Status, dp.status(outcome)); err != nil {
		return err
	}
	if len(outcome.failed) > 0 && !outcome.rejected {
		return fmt.Errorf("%w: %s", errPushIncomplete, strings.Join(outcome.failed, "; "))
	}
	return nil
}

// push sends the config to every pod of the Gateway and summarises the results.
func (c *Controller) push(ctx context.Context, pusher Pusher, dp *dataPlane, data []byte, version string) pushOutcome {
	out := pushOutcome{pods: len(dp.endpoints)}
	if len(dp.endpoints) == 0 {
		return out
	}
	results := pusher.Push(ctx, dp.endpoints, data, version)
	if pusher != c.pusher {
		// A managed Gateway's client serves only its pods: forget those that are gone.
		present := endpointSet(dp.endpoints)
		pusher.Forget(func(ep kengine.Endpoint) bool { return present[ep] })
	}
	for _, r := range results {
		if r.Err == nil {
			continue
		}
		if msg, refused := rejectionMessage(r.Err); refused {
			out.rejected = true
			if out.refusal == "" {
				out.refusedBy, out.refusal = r.Endpoint, msg
				if out.refusal == "" {
					out.refusal = r.Err.Error()
				}
			}
		}
		name := r.Endpoint.Pod
		if name == "" {
			name = r.Endpoint.Address
		}
		out.failed = append(out.failed, fmt.Sprintf("%s: %v", name, r.Err))
	}
	sort.Strings(out.failed)
	return out
}

func endpointSet(eps []kengine.Endpoint) map[kengine.Endpoint]bool {
	out := make(map[kengine.Endpoint]bool, len(eps))
	for _, ep := range eps {
		out[ep] = true
	}
	return out
}

// reservedPorts are the ports Kengine uses itself: its admin endpoints and the readiness and
// failure servers. 2019 is Kengine's default local admin port, kept free for bring-your-own
// pods that leave it on.
func (c *Controller) reservedPorts() []int {
	ports := []int{2019, c.opts.AdminPort}
	if c.opts.Managed.AdminPort != 0 {
		ports = append(ports, c.opts.Managed.AdminPort)
	}
	if h := c.opts.Render.HealthPort; h != 0 {
		ports = append(ports, h, h+1, h+2)
	}
	return ports
}

// renderConfig renders a translation into the bytes pushed to the pods and their version.
func renderConfig(tr *translate.Result, opts render.Options) ([]byte, string, error) {
	cfg, err := render.Config(tr.Gateway, opts)
	if err != nil {
		return nil, "", fmt.Errorf("rendering config: %w", err)
	}
	data, version, err := kengine.Finalize(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("encoding config: %w", err)
	}
	return data, version, nil
}

// isolated is a Gateway's config without the objects Kengine refused.
type isolated struct {
	tr      *translate.Result
	data    []byte
	version string
}

// isolateRefusal runs trial loads on the pod that refused the config to find the objects the
// refusal depends on, remembers them as excluded, records the refusal in an Event and a
// metric, and returns the config without them.
func (c *Controller) isolateRefusal(ctx context.Context, key types.NamespacedName, pusher Pusher, snap *translate.Snapshot, topts translate.Options, ropts render.Options, fps map[translate.ObjectRef]string, outcome pushOutcome) (*isolated, error) {
	c.metrics.refusals.Inc()
	base := snap.Excluded
	pod := []kengine.Endpoint{outcome.refusedBy}
	try := func(ctx context.Context, excluded map[translate.ObjectRef]string) (bool, string, error) {
		trial := *snap
		trial.Excluded = excluded
		data, version, err := renderConfig(translate.Translate(&trial, topts), ropts)
		if err != nil {
			return false, "", err
		}
		res := pusher.Push(ctx, pod, data, version)[0]
		if res.Err == nil {
			return true, "", nil
		}
		if msg, refused := rejectionMessage(res.Err); refused {
			return false, msg, nil
		}
		return false, "", res.Err
	}
	bad, err := isolateRejection(ctx, try, outcome.refusal, candidateRefs(fps), base, c.rejections.lastAccepted(key), fps)
	if err != nil {
		return nil, err
	}
	if len(bad) == 0 {
		return nil, fmt.Errorf("every trial config was accepted; the refusal did not repeat")
	}
	c.rejections.recordExcluded(key, fps, bad, c.opts.Now())
	c.metrics.excluded.Add(float64(len(bad)))
	refs := candidateRefs(bad)
	names := make([]string, len(refs))
	for i, ref := range refs {
		names[i] = ref.String()
	}
	if c.opts.Recorder != nil {
		c.opts.Recorder.Eventf(snap.Gateway, corev1.EventTypeWarning, "ConfigRefused",
			"Kengine pod %s refused the config; left out: %s (%s)", outcome.refusedBy.Pod, strings.Join(names, ", "), status.Truncate(outcome.refusal))
	}
	klog.FromContext(ctx).Info("Kengine refused the config; left out the objects it depends on", "pod", outcome.refusedBy.Pod, "excluded", names)
	merged := make(map[translate.ObjectRef]string, len(base)+len(bad))
	for ref, msg := range base {
		merged[ref] = msg
	}
	for ref, msg := range bad {
		merged[ref] = msg
	}
	snap.Excluded = merged
	tr := translate.Translate(snap, topts)
	data, version, err := renderConfig(tr, ropts)
	if err != nil {
		return nil, err
	}
	return &isolated{tr: tr, data: data, version: version}, nil
}

// clearRouteParents removes this controller's entries for a Gateway from every route that
// still has them, once the Gateway is deleted or no longer of a class of ours.
func (c *Controller) clearRouteParents(ctx context.Context, key types.NamespacedName) error {
	objs, err := c.informers.AllRoutesForGateway(key)
	if err != nil {
		return err
	}
	err = c.status.ClearRoutes(ctx, key.Namespace, key.Name, objs)
	// Policies that still list the Gateway as an ancestor lose that entry too.
	policies, perr := c.informers.BackendTLSPoliciesFor(key, nil)
	if perr != nil {
		return errors.Join(err, perr)
	}
	for _, p := range policies {
		if werr := c.status.WritePolicy(ctx, key.Namespace, key.Name, status.PolicyResult{Policy: p}); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	return err
}
