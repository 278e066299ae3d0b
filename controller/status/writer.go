package status

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// Writer writes status for one controller: only what changed, retried on conflict against a
// fresh read, never touching what other controllers or other Gateways own.
type Writer struct {
	client         gatewayclient.Interface
	controllerName gatewayv1.GatewayController
	now            func() time.Time
	// timeout bounds every call to the API server: a hung API server must not hold a worker
	// until shutdown.
	timeout time.Duration
}

// DefaultAPITimeout bounds a call to the API server when NewWriter is given none.
const DefaultAPITimeout = 30 * time.Second

// NewWriter returns a writer for the controller named controllerName; now stamps condition
// transitions, and apiTimeout (DefaultAPITimeout when zero) bounds each API call.
func NewWriter(client gatewayclient.Interface, controllerName string, now func() time.Time, apiTimeout time.Duration) *Writer {
	if apiTimeout <= 0 {
		apiTimeout = DefaultAPITimeout
	}
	return &Writer{client: client, controllerName: gatewayv1.GatewayController(controllerName), now: now, timeout: apiTimeout}
}

// update is the one conflict-retry loop behind every status write. desired computes the object
// to write from the latest copy of it and whether that changes anything; nothing is written
// when it does not. On a conflict the object is read again and desired recomputed from the
// fresh copy, so another writer's entries (other controllers, other Gateways) are never lost.
// An object deleted meanwhile has no status left to report on.
func update[T any](ctx context.Context, timeout time.Duration, current T, desired func(current T) (T, bool),
	write func(context.Context, T) error, get func(context.Context) (T, error)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		upd, changed := desired(current)
		if !changed {
			return nil
		}
		callCtx, cancel := context.WithTimeout(ctx, timeout)
		err := write(callCtx, upd)
		cancel()
		if apierrors.IsNotFound(err) {
			return nil
		}
		if apierrors.IsConflict(err) {
			callCtx, cancel := context.WithTimeout(ctx, timeout)
			fresh, getErr := get(callCtx)
			cancel()
			switch {
			case apierrors.IsNotFound(getErr):
				return nil
			case getErr != nil:
				// Retrying with the stale copy would only conflict again.
				return fmt.Errorf("reading the object again after a conflict: %w", getErr)
			}
			current = fresh
		}
		return err
	})
}

// WriteGatewayClass sets a class's conditions and supported features.
func (w *Writer) WriteGatewayClass(ctx context.Context, gc *gatewayv1.GatewayClass, conditions []metav1.Condition, features []gatewayv1.SupportedFeature) error {
	client := w.client.GatewayV1().GatewayClasses()
	return update(ctx, w.timeout, gc, func(gc *gatewayv1.GatewayClass) (*gatewayv1.GatewayClass, bool) {
		if !conditionsChanged(gc.Status.Conditions, conditions) && reflect.DeepEqual(gc.Status.SupportedFeatures, features) {
			return nil, false
		}
		upd := gc.DeepCopy()
		upd.Status.Conditions = mergeConditions(gc.Status.Conditions, conditions, metav1.NewTime(w.now()))
		upd.Status.SupportedFeatures = features
		return upd, true
	}, func(ctx context.Context, upd *gatewayv1.GatewayClass) error {
		_, err := client.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if err == nil {
			klog.FromContext(ctx).V(4).Info("Updated GatewayClass status")
		}
		return err
	}, func(ctx context.Context) (*gatewayv1.GatewayClass, error) {
		return client.Get(ctx, gc.Name, metav1.GetOptions{})
	})
}

// Write writes a Gateway's status (res.Gateway with Programmed decided from dp), the status of
// the ListenerSets that name it, and its part of every route's status.
func (w *Writer) Write(ctx context.Context, gw *gatewayv1.Gateway, res *Result, dp DataPlane) error {
	var errs []error
	gwStatus := GatewayStatus(gw, &res.Gateway, dp)
	if err := w.writeGateway(ctx, gw, gwStatus); err != nil {
		errs = append(errs, fmt.Errorf("writing Gateway status: %w", err))
	}
	for i := range res.ListenerSets {
		ls := res.ListenerSets[i].ListenerSet
		if err := w.writeListenerSet(ctx, ls, ListenerSetStatus(&res.ListenerSets[i], gwStatus)); err != nil {
			errs = append(errs, fmt.Errorf("writing status of ListenerSet %s/%s: %w", ls.Namespace, ls.Name, err))
		}
	}
	for _, rr := range res.Routes {
		if err := w.WriteRoute(ctx, gw.Namespace, gw.Name, rr); err != nil {
			errs = append(errs, err)
		}
	}
	for _, pr := range res.Policies {
		if err := w.WritePolicy(ctx, gw.Namespace, gw.Name, pr); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (w *Writer) writeGateway(ctx context.Context, gw *gatewayv1.Gateway, desired gatewayv1.GatewayStatus) error {
	client := w.client.GatewayV1().Gateways(gw.Namespace)
	return update(ctx, w.timeout, gw, func(gw *gatewayv1.Gateway) (*gatewayv1.Gateway, bool) {
		if !gatewayStatusChanged(gw.Status, desired) {
			return nil, false
		}
		now := metav1.NewTime(w.now())
		upd := gw.DeepCopy()
		upd.Status.Addresses = desired.Addresses
		upd.Status.Conditions = mergeConditions(withoutStaleConditions(gw.Status.Conditions, desired.Conditions), desired.Conditions, now)
		upd.Status.Listeners = listenersWithTransitionTimes(gw.Status.Listeners, desired.Listeners, now)
		upd.Status.AttachedListenerSets = desired.AttachedListenerSets
		return upd, true
	}, func(ctx context.Context, upd *gatewayv1.Gateway) error {
		_, err := client.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if err == nil {
			klog.FromContext(ctx).V(4).Info("Updated Gateway status")
		}
		return err
	}, func(ctx context.Context) (*gatewayv1.Gateway, error) {
		return client.Get(ctx, gw.Name, metav1.GetOptions{})
	})
}

// listenersWithTransitionTimes stamps the conditions of desired listener statuses, keeping
// the transition time of a condition whose status the listener of the same name had.
func listenersWithTransitionTimes(existing, desired []gatewayv1.ListenerStatus, now metav1.Time) []gatewayv1.ListenerStatus {
	out := make([]gatewayv1.ListenerStatus, len(desired))
	for i, l := range desired {
		var old []metav1.Condition
		for _, e := range existing {
			if e.Name == l.Name {
				old = e.Conditions
			}
		}
		l.Conditions = withTransitionTimes(old, l.Conditions, now)
		out[i] = l
	}
	return out
}

// ClearRoutes removes this controller's entries for the Gateway gwNamespace/gwName from every
// given route, once the Gateway is deleted or no longer of a class of ours: a route must not
// keep claiming Accepted on a parent that no longer serves it.
func (w *Writer) ClearRoutes(ctx context.Context, gwNamespace, gwName string, routes []metav1.Object) error {
	var errs []error
	for _, r := range routes {
		if err := w.WriteRoute(ctx, gwNamespace, gwName, RouteResult{Route: r}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// WriteRoute replaces this controller's entries for one Gateway in a route's status.parents
// and keeps every other entry (other Gateways, other controllers).
func (w *Writer) WriteRoute(ctx context.Context, gwNamespace, gwName string, rr RouteResult) error {
	merge := func(existing []gatewayv1.RouteParentStatus) ([]gatewayv1.RouteParentStatus, bool) {
		return w.mergeParents(existing, rr.Route.GetNamespace(), gwNamespace, gwName, rr.ListenerSets, rr.Parents)
	}
	var err error
	switch r := rr.Route.(type) {
	case *gatewayv1.HTTPRoute:
		c := w.client.GatewayV1().HTTPRoutes(r.Namespace)
		err = writeRoute(ctx, w.timeout, r, merge, func(r *gatewayv1.HTTPRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus },
			(*gatewayv1.HTTPRoute).DeepCopy, c.UpdateStatus, c.Get)
	case *gatewayv1.GRPCRoute:
		c := w.client.GatewayV1().GRPCRoutes(r.Namespace)
		err = writeRoute(ctx, w.timeout, r, merge, func(r *gatewayv1.GRPCRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus },
			(*gatewayv1.GRPCRoute).DeepCopy, c.UpdateStatus, c.Get)
	case *gatewayv1.TLSRoute:
		c := w.client.GatewayV1().TLSRoutes(r.Namespace)
		err = writeRoute(ctx, w.timeout, r, merge, func(r *gatewayv1.TLSRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus },
			(*gatewayv1.TLSRoute).DeepCopy, c.UpdateStatus, c.Get)
	case *gatewayv1.TCPRoute:
		c := w.client.GatewayV1().TCPRoutes(r.Namespace)
		err = writeRoute(ctx, w.timeout, r, merge, func(r *gatewayv1.TCPRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus },
			(*gatewayv1.TCPRoute).DeepCopy, c.UpdateStatus, c.Get)
	case *gatewayv1.UDPRoute:
		c := w.client.GatewayV1().UDPRoutes(r.Namespace)
		err = writeRoute(ctx, w.timeout, r, merge, func(r *gatewayv1.UDPRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus },
			(*gatewayv1.UDPRoute).DeepCopy, c.UpdateStatus, c.Get)
	default:
		return fmt.Errorf("writing route status: unknown route type %T", rr.Route)
	}
	if err != nil {
		return fmt.Errorf("writing status of %T %s/%s: %w", rr.Route, rr.Route.GetNamespace(), rr.Route.GetName(), err)
	}
	return nil
}

// writeRoute is WriteRoute for one route kind T, given how to reach its RouteStatus, copy it,
// update its status and read it.
func writeRoute[T metav1.Object](ctx context.Context, timeout time.Duration, route T,
	merge func([]gatewayv1.RouteParentStatus) ([]gatewayv1.RouteParentStatus, bool),
	statusOf func(T) *gatewayv1.RouteStatus, deepCopy func(T) T,
	updateStatus func(context.Context, T, metav1.UpdateOptions) (T, error),
	get func(context.Context, string, metav1.GetOptions) (T, error)) error {
	name := route.GetName()
	return update(ctx, timeout, route, func(r T) (T, bool) {
		parents, changed := merge(statusOf(r).Parents)
		if !changed {
			var zero T
			return zero, false
		}
		upd := deepCopy(r)
		statusOf(upd).Parents = parents
		return upd, true
	}, func(ctx context.Context, upd T) error {
		_, err := updateStatus(ctx, upd, metav1.UpdateOptions{})
		return err
	}, func(ctx context.Context) (T, error) {
		return get(ctx, name, metav1.GetOptions{})
	})
}

// mergeParents returns existing with the entries this controller wrote for the Gateway and
// for its ListenerSets (sets) replaced by desired, and whether anything changed.
func (w *Writer) mergeParents(existing []gatewayv1.RouteParentStatus, routeNamespace, gwNamespace, gwName string, sets map[types.NamespacedName]bool, desired []gatewayv1.RouteParentStatus) ([]gatewayv1.RouteParentStatus, bool) {
	return mergeEntries(w.now(), existing, desired, 0,
		func(p *gatewayv1.RouteParentStatus) bool {
			if p.ControllerName != w.controllerName {
				return false
			}
			if key, ok := ParentListenerSet(p.ParentRef, routeNamespace); ok {
				return sets[key]
			}
			return ParentIsGateway(p.ParentRef, routeNamespace, gwNamespace, gwName)
		},
		func(p *gatewayv1.RouteParentStatus) any { return p.ParentRef },
		func(p *gatewayv1.RouteParentStatus) *[]metav1.Condition { return &p.Conditions })
}

// mergeEntries is the merge behind route parents and policy ancestors: the entries of
// existing that ours selects (this controller's, for this Gateway) are replaced by desired,
// keeping each condition's transition time when its status did not change; every other entry
// is kept as it is. ref identifies an entry; limit, when positive, caps the list (the API's
// maximum). It reports whether anything changed.
func mergeEntries[E any](now time.Time, existing, desired []E, limit int, ours func(*E) bool, ref func(*E) any, conditions func(*E) *[]metav1.Condition) ([]E, bool) {
	stamp := metav1.NewTime(now)
	out := make([]E, 0, len(existing)+len(desired))
	var mine []E
	for i := range existing {
		if ours(&existing[i]) {
			mine = append(mine, existing[i])
			continue
		}
		out = append(out, existing[i])
	}
	changed := len(mine) != len(desired)
	for _, d := range desired {
		var old []metav1.Condition
		found := false
		for i := range mine {
			if reflect.DeepEqual(ref(&mine[i]), ref(&d)) {
				oc, dc := *conditions(&mine[i]), *conditions(&d)
				old, found = oc, true
				if len(oc) != len(dc) || conditionsChanged(oc, dc) {
					changed = true
				}
			}
		}
		if !found {
			changed = true
		}
		if limit > 0 && len(out) >= limit {
			continue
		}
		*conditions(&d) = withTransitionTimes(old, *conditions(&d), stamp)
		out = append(out, d)
	}
	return out, changed
}
