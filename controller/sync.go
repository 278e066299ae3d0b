package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

	// 1. snapshot
	snap, err := c.buildSnapshot(class, gw)
	if err != nil {
		return fmt.Errorf("building snapshot: %w", err)
	}
	// 2. translate
	tr := Translate(snap, TranslateOptions{ControllerName: gatewayv1.GatewayController(c.opts.ControllerName)})
	// 3. render
	cfg, err := Render(tr.Model, c.opts.Render)
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
	outcome := c.push(ctx, dp, data, version)
	logger.V(4).Info("Synced", "version", version[:12], "bytes", len(data), "pods", outcome.pods, "failed", len(outcome.failed))
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
func (c *Controller) push(ctx context.Context, dp *dataPlane, data []byte, version string) pushOutcome {
	out := pushOutcome{pods: len(dp.endpoints)}
	if len(dp.endpoints) == 0 {
		return out
	}
	for _, r := range c.pusher.Push(ctx, dp.endpoints, data, version) {
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
