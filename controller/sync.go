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

	"github.com/khulnasoft/gateway/kengine"
)

// errPushIncomplete asks for a retry: some pods could not be reached yet.
var errPushIncomplete = errors.New("not every Kengine pod was programmed")

// pushOutcome summarises a push for status.
type pushOutcome struct {
	pods     int
	failed   []string // "pod: reason", sorted
	rejected bool     // at least one pod refused the config itself
}

// syncGateway runs the pipeline for one Gateway: snapshot → translate → render → push →
// status. An error means "retry later"; problems a retry cannot fix go to status instead.
func (c *Controller) syncGateway(ctx context.Context, key types.NamespacedName) error {
	logger := klog.FromContext(ctx)
	gw, err := c.informers.Gateways.Gateways(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		logger.V(4).Info("Gateway deleted")
		c.forgetManaged(key)
		return nil
	}
	if err != nil {
		return err
	}
	class, err := c.informers.GatewayClasses.Get(string(gw.Spec.GatewayClassName))
	if apierrors.IsNotFound(err) {
		return nil // not ours until a class of ours exists; its creation re-enqueues us
	}
	if err != nil {
		return err
	}
	if !c.ownsClass(class) {
		return nil
	}

	// Managed or bring-your-own Kengine, and the managed deployment's parameters.
	managed, params, paramsErr := false, kengineParameters{}, error(nil)
	if c.opts.Managed.Enabled {
		byo, err := c.bringsOwnKengine(gw)
		if err != nil {
			return err
		}
		if !byo {
			managed = true
			params, paramsErr = c.resolveParameters(class, gw)
			var perr *parametersError
			if paramsErr != nil && !errors.As(paramsErr, &perr) {
				return paramsErr
			}
		}
	}

	// 1. snapshot
	snap, err := c.buildSnapshot(class, gw)
	if err != nil {
		return fmt.Errorf("building snapshot: %w", err)
	}
	// 2. translate
	tr := Translate(snap, TranslateOptions{ControllerName: gatewayv1.GatewayController(c.opts.ControllerName)})
	if paramsErr != nil {
		// Nothing is created or pushed for a Gateway whose parameters are invalid.
		tr.GatewayConditions = []metav1.Condition{condition(gatewayv1.GatewayConditionAccepted, false,
			gatewayv1.GatewayReasonInvalidParameters, paramsErr.Error(), gw.Generation)}
		return c.writeStatus(ctx, gw, tr, &dataPlane{}, pushOutcome{})
	}
	accepted := meta.IsStatusConditionTrue(tr.GatewayConditions, string(gatewayv1.GatewayConditionAccepted))
	render, pusher := c.opts.Render, c.pusher
	switch {
	case managed && accepted:
		if render, pusher, err = c.reconcileManaged(ctx, gw, class, params); err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // the namespace is going away, and the Gateway with it
			}
			return fmt.Errorf("reconciling the managed Kengine: %w", err)
		}
	case !managed && accepted && pusher == nil && c.opts.Managed.PKI != nil:
		// Bring-your-own Kengine without admin flags: the controller issues the admin Secret
		// the user's pods mount, and talks to them over the same mutual TLS.
		if render, pusher, _, err = c.reconcileAdmin(ctx, gw, class); err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			return fmt.Errorf("reconciling the admin credentials: %w", err)
		}
	}
	if pusher == nil {
		// Bring-your-own Kengine without admin credentials: nothing can be pushed.
		dp, err := c.findDataPlane(key)
		if err != nil {
			return err
		}
		return c.writeStatus(ctx, gw, tr, dp, pushOutcome{pods: len(dp.endpoints), rejected: true, failed: []string{
			"bring-your-own Kengine needs the controller to run with --kengine-admin-config (mutual TLS) or --kengine-admin-insecure"}})
	}
	// 3. render
	cfg, err := Render(tr.Model, render)
	if err != nil {
		return fmt.Errorf("rendering config: %w", err)
	}
	data, version, err := kengine.Finalize(cfg)
	if err != nil {
		return fmt.Errorf("encoding config: %w", err)
	}
	// 4. push
	dp, err := c.findDataPlane(key)
	if err != nil {
		return err
	}
	var outcome pushOutcome
	if accepted {
		outcome = c.push(ctx, pusher, dp, data, version)
	}
	logger.V(4).Info("Synced", "managed", managed, "version", version[:12], "bytes", len(data), "pods", outcome.pods, "failed", len(outcome.failed))
	// 5. status
	if err := c.writeStatus(ctx, gw, tr, dp, outcome); err != nil {
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
		var apiErr *kengine.APIError
		if errors.As(r.Err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 {
			out.rejected = true
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
