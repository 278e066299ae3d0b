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
	"k8s.io/apimachinery/pkg/runtime"
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

// pushOutcome summarises a push for status, events and the sync's log line.
type pushOutcome struct {
	pods int
	// ok and unchanged count the pods that loaded the config and those that already ran it.
	ok, unchanged int
	failed        []string // "pod: reason", sorted
	rejected      bool     // at least one pod refused the config itself
	// unreachable are the pods that failed without refusing the config, in pod order.
	unreachable []podFailure
	// refusedBy is the first pod (in pod order) that refused the config, and refusal its
	// message; refusal is empty when no pod refused.
	refusedBy kengine.Endpoint
	refusal   string
}

// podFailure is a pod that could not be programmed and why.
type podFailure struct {
	pod, reason string
}

// syncResult is the result label of a sync that returned err.
func syncResult(err error) string {
	switch {
	case err == nil:
		return resultSuccess
	case errors.Is(err, errPushIncomplete):
		return resultRequeue
	}
	return resultError
}

// syncGateway runs the pipeline for one Gateway (runGatewaySync), then records its metrics
// and writes its one log line.
func (c *Controller) syncGateway(ctx context.Context, key types.NamespacedName) error {
	t := newSyncTrace(c.clock)
	err := c.runGatewaySync(ctx, key, t)
	t.finish()
	result := syncResult(err)
	c.metrics.observeSync(t, result)
	t.log(klog.FromContext(ctx), result, err)
	return err
}

// forgetGateway drops everything kept in memory about a Gateway that is deleted or no longer
// ours, metric series included, and removes its entries from route and policy status.
func (c *Controller) forgetGateway(ctx context.Context, key types.NamespacedName, t *syncTrace) error {
	c.managed.Forget(key)
	c.rejections.forget(key)
	c.renders.forget(key)
	c.events.forget(key)
	c.metrics.forgetGateway(key)
	defer t.begin(stageStatus)()
	return c.clearRouteParents(ctx, key)
}

// runGatewaySync is snapshot → translate → render → push → status for one Gateway. An error
// means "retry later"; problems a retry cannot fix go to status instead.
func (c *Controller) runGatewaySync(ctx context.Context, key types.NamespacedName, t *syncTrace) error {
	logger := klog.FromContext(ctx)
	gw, err := c.informers.Gateways.Gateways(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		logger.V(4).Info("Gateway deleted")
		return c.forgetGateway(ctx, key, t)
	}
	if err != nil {
		return err
	}
	class, err := c.informers.GatewayClasses.Get(string(gw.Spec.GatewayClassName))
	if apierrors.IsNotFound(err) {
		// Not ours until a class of ours exists (its creation re-enqueues us); routes must not
		// keep the status this controller wrote while it was.
		return c.forgetGateway(ctx, key, t)
	}
	if err != nil {
		return err
	}
	if !c.ownsClass(class) {
		return c.forgetGateway(ctx, key, t)
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
	endSnapshot := t.begin(stageSnapshot)
	dp, err := c.findDataPlane(key)
	if err != nil {
		return err
	}
	c.metrics.keepPods(key, dp.endpoints)
	snap, err := c.buildSnapshot(ctx, class, gw, dp, params.AllowExternalNameBackends)
	endSnapshot()
	if err != nil {
		return fmt.Errorf("building snapshot: %w", err)
	}
	fps := fingerprints(snap)
	snap.Excluded = c.rejections.excludedFor(key, fps, c.opts.Now())
	snap.Layer4Unavailable = c.rejections.layer4MissingFor(key, c.opts.Now())

	// The stages below may run more than once; each run is timed into its stage.
	ropts, pusher := c.opts.Render, c.pusher
	renders := c.renders.forGateway(key)
	topts := translate.Options{
		ControllerName:            c.opts.ControllerName,
		ReservedPorts:             c.reservedPorts(),
		AllowExternalNameBackends: params.AllowExternalNameBackends,
	}
	translateSnap := func() *translate.Result {
		defer t.begin(stageTranslate)()
		return translate.Translate(snap, topts)
	}
	render := func(tr *translate.Result) ([]byte, string, error) {
		defer t.begin(stageRender)()
		data, version, err := renders.render(tr, ropts)
		t.bytes, t.version = len(data), version
		return data, version, err
	}
	push := func(data []byte, version string) pushOutcome {
		defer t.begin(stagePush)()
		out := c.push(ctx, key, pusher, dp, data, version)
		t.pushed(out)
		return out
	}
	writeStatus := func(tr *translate.Result, dps status.DataPlane) error {
		c.metrics.setObjects(key, countObjects(snap, tr))
		defer t.begin(stageStatus)()
		return c.status.Write(ctx, gw, &tr.Status, dps)
	}

	// 2. translate
	tr := translateSnap()
	if paramsErr != nil {
		// Nothing is created or pushed for a Gateway whose parameters are invalid.
		tr.Status.Gateway.Conditions = []metav1.Condition{status.Condition(gatewayv1.GatewayConditionAccepted, false,
			gatewayv1.GatewayReasonInvalidParameters, paramsErr.Error(), gw.Generation)}
		c.events.invalidParameters(gw, key, paramsErr.Error())
		return writeStatus(tr, status.DataPlane{})
	}
	accepted := meta.IsStatusConditionTrue(tr.Status.Gateway.Conditions, string(gatewayv1.GatewayConditionAccepted))
	switch {
	case isManaged && accepted:
		endManaged := t.begin(stageManaged)
		params.ListenerSetListeners = servedListenerSetListeners(tr.Status.ListenerSets)
		access, err := c.managed.Reconcile(ctx, gw, class, params)
		endManaged()
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
		endManaged := t.begin(stageManaged)
		access, err := c.managed.ReconcileAdmin(ctx, gw, class)
		endManaged()
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
		return writeStatus(tr, dp.status(pushOutcome{pods: len(dp.endpoints), rejected: true, failed: []string{
			"bring-your-own Kengine needs the controller to run with --kengine-admin-config (mutual TLS) or --kengine-admin-insecure"}}))
	}
	// 3. render
	data, version, err := render(tr)
	if err != nil {
		return err
	}
	// 4. push
	var outcome pushOutcome
	if accepted {
		outcome = push(data, version)
		if outcome.refusal != "" && snap.Layer4Unavailable == "" && kengine.RefusesUnknownApp(outcome.refusal, kengine.AppLayer4) {
			// A Kengine without the layer4 app: serve the rest, say why the TLS, TCP and
			// UDP listeners are not (layer4.go).
			msg := layer4Message(outcome.refusedBy.Pod, outcome.refusal)
			logger.Info("Kengine has no layer4 app; pushing the config without TLS, TCP and UDP listeners", "pod", outcome.refusedBy.Pod)
			c.rejections.recordLayer4Missing(key, msg, c.opts.Now())
			snap.Layer4Unavailable = msg
			tr = translateSnap()
			if data, version, err = render(tr); err != nil {
				return err
			}
			outcome = push(data, version)
		}
		if outcome.refusal != "" {
			// One tenant must not stall the Gateway: find what the refusal depends on,
			// leave it out, and push the rest. The trial loads count as push time.
			endIsolate := t.begin(stagePush)
			isolated, err := c.isolateRefusal(ctx, key, pusher, snap, topts, ropts, fps, outcome)
			endIsolate()
			if err != nil {
				logger.Info("Could not isolate why Kengine refused the config; the pods keep their last good config", "pod", outcome.refusedBy.Pod, "err", err)
				c.events.refusedWhole(gw, key, podLabel(outcome.refusedBy), outcome.refusal)
			} else {
				tr, data, version = isolated.tr, isolated.data, isolated.version
				t.bytes, t.version = len(data), version
				outcome = push(data, version)
			}
		}
		if outcome.pods > 0 && len(outcome.failed) == 0 {
			c.rejections.recordAccepted(key, fps, snap.Excluded)
			c.metrics.pushSucceeded(key, c.opts.Now())
		}
		c.events.pushed(gw, key, outcome)
		if len(outcome.unreachable) > 0 {
			// Routine while pods start or stop, so not an error: status says so, and an
			// Event if it lasts. The sync is retried with backoff.
			logger.Info("Not every Kengine pod was programmed; they keep their last config",
				"programmed", outcome.ok+outcome.unchanged, "pods", outcome.pods, "failed", outcome.failed)
		}
	}
	c.metrics.setConfigSize(key, len(data))
	// 5. status
	if err := writeStatus(tr, dp.status(outcome)); err != nil {
		return err
	}
	if len(outcome.failed) > 0 && !outcome.rejected {
		return fmt.Errorf("%w: %s", errPushIncomplete, strings.Join(outcome.failed, "; "))
	}
	return nil
}

// countObjects is what the Gateway's object gauges report after a translation.
func countObjects(snap *translate.Snapshot, tr *translate.Result) gatewayObjects {
	o := gatewayObjects{routes: map[string]int{}, listeners: len(snap.Gateway.Spec.Listeners)}
	for _, r := range snap.Routes() {
		o.routes[string(translate.RouteKind(r))]++
	}
	for _, rr := range tr.Status.Routes {
		for _, p := range rr.Parents {
			if meta.IsStatusConditionFalse(p.Conditions, string(gatewayv1.RouteConditionAccepted)) {
				o.rejectedRoutes++
				break
			}
		}
	}
	return o
}

// push sends the config to every pod of the Gateway, counts each pod's result and summarises
// them.
func (c *Controller) push(ctx context.Context, key types.NamespacedName, pusher Pusher, dp *dataPlane, data []byte, version string) pushOutcome {
	out := pushOutcome{pods: len(dp.endpoints)}
	if len(dp.endpoints) == 0 {
		return out
	}
	results := pusher.Push(ctx, dp.endpoints, data, version)
	c.metrics.recordPush(key, results)
	if pusher != c.pusher {
		// A managed Gateway's client serves only its pods: forget those that are gone.
		present := endpointSet(dp.endpoints)
		pusher.Forget(func(ep kengine.Endpoint) bool { return present[ep] })
	}
	for _, r := range results {
		if r.Err == nil {
			if r.Skipped {
				out.unchanged++
			} else {
				out.ok++
			}
			continue
		}
		name := podLabel(r.Endpoint)
		if msg, refused := rejectionMessage(r.Err); refused {
			out.rejected = true
			if out.refusal == "" {
				out.refusedBy, out.refusal = r.Endpoint, msg
				if out.refusal == "" {
					out.refusal = r.Err.Error()
				}
			}
		} else {
			out.unreachable = append(out.unreachable, podFailure{pod: name, reason: r.Err.Error()})
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
	return finalizeConfig(tr, opts, nil)
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
	var routes []runtime.Object
	for _, r := range snap.Routes() {
		if _, out := bad[translate.RouteRef(string(translate.RouteKind(r)), r.GetNamespace(), r.GetName())]; out {
			if obj, ok := r.(runtime.Object); ok {
				routes = append(routes, obj)
			}
		}
	}
	c.events.refusedObjects(snap.Gateway, key, podLabel(outcome.refusedBy), names, routes, outcome.refusal)
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
