package controller

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/informers"
)

// maxMessage bounds condition messages (the API allows 32768 bytes).
const maxMessage = 4096

// writeStatus writes the Gateway's status and its part of every route's status, each only
// when it changed, each retried on conflict against a fresh read.
func (c *Controller) writeStatus(ctx context.Context, gw *gatewayv1.Gateway, tr *Translation, dp *dataPlane, outcome pushOutcome) error {
	var errs []error
	if err := c.writeGatewayStatus(ctx, gw, gatewayStatus(gw, tr, dp, outcome)); err != nil {
		errs = append(errs, fmt.Errorf("writing Gateway status: %w", err))
	}
	for _, rs := range tr.Routes {
		if err := c.writeHTTPRouteStatus(ctx, gw, rs); err != nil {
			errs = append(errs, fmt.Errorf("writing status of HTTPRoute %s/%s: %w", rs.Route.Namespace, rs.Route.Name, err))
		}
	}
	return errors.Join(errs...)
}

// gatewayStatus computes the desired Gateway status (conditions without transition times).
func gatewayStatus(gw *gatewayv1.Gateway, tr *Translation, dp *dataPlane, outcome pushOutcome) gatewayv1.GatewayStatus {
	gen := gw.Generation
	accepted := meta.IsStatusConditionTrue(tr.GatewayConditions, string(gatewayv1.GatewayConditionAccepted))
	var programmed metav1.Condition
	switch {
	case !accepted:
		programmed = condition(gatewayv1.GatewayConditionProgrammed, false, gatewayv1.GatewayReasonInvalid, "the Gateway is not accepted", gen)
	case len(dp.services) == 0:
		programmed = condition(gatewayv1.GatewayConditionProgrammed, false, gatewayv1.GatewayReasonNoResources,
			fmt.Sprintf("no Service labelled %s=%s in namespace %s fronts Kengine pods", informers.GatewayNameLabel, gw.Name, gw.Namespace), gen)
	case outcome.pods == 0 && len(outcome.failed) > 0:
		programmed = condition(gatewayv1.GatewayConditionProgrammed, false, gatewayv1.GatewayReasonInvalid, truncate(strings.Join(outcome.failed, "; ")), gen)
	case outcome.pods == 0:
		programmed = condition(gatewayv1.GatewayConditionProgrammed, false, gatewayv1.GatewayReasonPending, "waiting for Kengine pods behind the Gateway's Service", gen)
	case len(outcome.failed) > 0:
		reason := gatewayv1.GatewayReasonPending
		if outcome.rejected {
			reason = gatewayv1.GatewayReasonInvalid
		}
		msg := fmt.Sprintf("%d of %d Kengine pods are not programmed (they keep serving their last good config): %s",
			len(outcome.failed), outcome.pods, strings.Join(outcome.failed, "; "))
		programmed = condition(gatewayv1.GatewayConditionProgrammed, false, reason, truncate(msg), gen)
	case len(dp.addresses) == 0:
		programmed = condition(gatewayv1.GatewayConditionProgrammed, false, gatewayv1.GatewayReasonAddressNotAssigned, "the Gateway's Service has no load-balancer address yet", gen)
	default:
		programmed = condition(gatewayv1.GatewayConditionProgrammed, true, gatewayv1.GatewayReasonProgrammed,
			fmt.Sprintf("config programmed on %d Kengine pods", outcome.pods), gen)
	}
	st := gatewayv1.GatewayStatus{
		Addresses:  dp.addresses,
		Conditions: append(append([]metav1.Condition{}, tr.GatewayConditions...), programmed),
		Listeners:  make([]gatewayv1.ListenerStatus, len(tr.Listeners)),
	}
	pushed := programmed.Status == metav1.ConditionTrue || programmed.Reason == string(gatewayv1.GatewayReasonAddressNotAssigned)
	for i, l := range tr.Listeners {
		l.Conditions = append([]metav1.Condition{}, l.Conditions...)
		switch {
		case !tr.ListenerValid[l.Name]:
			l.Conditions = append(l.Conditions, condition(gatewayv1.ListenerConditionProgrammed, false, gatewayv1.ListenerReasonInvalid, "the listener is not valid", gen))
		case !pushed:
			l.Conditions = append(l.Conditions, condition(gatewayv1.ListenerConditionProgrammed, false, gatewayv1.ListenerReasonPending, "waiting for the Kengine pods to be programmed", gen))
		default:
			l.Conditions = append(l.Conditions, condition(gatewayv1.ListenerConditionProgrammed, true, gatewayv1.ListenerReasonProgrammed, "listener programmed", gen))
		}
		st.Listeners[i] = l
	}
	return st
}

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return s[:maxMessage-3] + "..."
}

func (c *Controller) writeGatewayStatus(ctx context.Context, gw *gatewayv1.Gateway, desired gatewayv1.GatewayStatus) error {
	client := c.gateway.GatewayV1().Gateways(gw.Namespace)
	return updateStatus(ctx, gw, func(gw *gatewayv1.Gateway) (*gatewayv1.Gateway, bool) {
		if !gatewayStatusChanged(gw.Status, desired) {
			return nil, false
		}
		now := metav1.NewTime(c.opts.Now())
		upd := gw.DeepCopy()
		upd.Status.Addresses = desired.Addresses
		upd.Status.Conditions = mergeConditions(gw.Status.Conditions, desired.Conditions, now)
		upd.Status.Listeners = make([]gatewayv1.ListenerStatus, len(desired.Listeners))
		for i, l := range desired.Listeners {
			var old []metav1.Condition
			for _, e := range gw.Status.Listeners {
				if e.Name == l.Name {
					old = e.Conditions
				}
			}
			l.Conditions = withTransitionTimes(old, l.Conditions, now)
			upd.Status.Listeners[i] = l
		}
		return upd, true
	}, func(ctx context.Context, upd *gatewayv1.Gateway) error {
		_, err := client.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if err == nil {
			klog.FromContext(ctx).V(2).Info("Updated Gateway status")
		}
		return err
	}, func(ctx context.Context) (*gatewayv1.Gateway, error) {
		return client.Get(ctx, gw.Name, metav1.GetOptions{})
	})
}

// gatewayStatusChanged compares everything the controller owns, ignoring transition times.
func gatewayStatusChanged(existing, desired gatewayv1.GatewayStatus) bool {
	if !reflect.DeepEqual(existing.Addresses, desired.Addresses) && !(len(existing.Addresses) == 0 && len(desired.Addresses) == 0) {
		return true
	}
	if conditionsChanged(existing.Conditions, desired.Conditions) || len(existing.Listeners) != len(desired.Listeners) {
		return true
	}
	for i := range desired.Listeners {
		e, d := existing.Listeners[i], desired.Listeners[i]
		if e.Name != d.Name || e.AttachedRoutes != d.AttachedRoutes || !reflect.DeepEqual(e.SupportedKinds, d.SupportedKinds) ||
			len(e.Conditions) != len(d.Conditions) || conditionsChanged(e.Conditions, d.Conditions) {
			return true
		}
	}
	return false
}

// writeHTTPRouteStatus replaces this Gateway's entries in a route's status.parents and keeps
// every other entry (other Gateways, other controllers).
func (c *Controller) writeHTTPRouteStatus(ctx context.Context, gw *gatewayv1.Gateway, rs RouteStatus) error {
	client := c.gateway.GatewayV1().HTTPRoutes(rs.Route.Namespace)
	return updateStatus(ctx, rs.Route, func(route *gatewayv1.HTTPRoute) (*gatewayv1.HTTPRoute, bool) {
		parents, changed := c.mergeRouteParents(route.Status.Parents, route.Namespace, gw, rs.Parents)
		if !changed {
			return nil, false
		}
		upd := route.DeepCopy()
		upd.Status.Parents = parents
		return upd, true
	}, func(ctx context.Context, upd *gatewayv1.HTTPRoute) error {
		_, err := client.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		return err
	}, func(ctx context.Context) (*gatewayv1.HTTPRoute, error) {
		return client.Get(ctx, rs.Route.Name, metav1.GetOptions{})
	})
}

// mergeRouteParents returns existing with the entries this controller wrote for this Gateway
// replaced by desired, and whether anything changed.
func (c *Controller) mergeRouteParents(existing []gatewayv1.RouteParentStatus, routeNamespace string, gw *gatewayv1.Gateway, desired []gatewayv1.RouteParentStatus) ([]gatewayv1.RouteParentStatus, bool) {
	now := metav1.NewTime(c.opts.Now())
	out := make([]gatewayv1.RouteParentStatus, 0, len(existing)+len(desired))
	var ours []gatewayv1.RouteParentStatus
	for _, p := range existing {
		if string(p.ControllerName) == c.opts.ControllerName && parentSelectsGateway(p.ParentRef, routeNamespace, gw) {
			ours = append(ours, p)
			continue
		}
		out = append(out, p)
	}
	changed := len(ours) != len(desired)
	for _, d := range desired {
		var old []metav1.Condition
		found := false
		for _, o := range ours {
			if reflect.DeepEqual(o.ParentRef, d.ParentRef) {
				old, found = o.Conditions, true
				if len(o.Conditions) != len(d.Conditions) || conditionsChanged(o.Conditions, d.Conditions) {
					changed = true
				}
			}
		}
		if !found {
			changed = true
		}
		d.Conditions = withTransitionTimes(old, d.Conditions, now)
		out = append(out, d)
	}
	return out, changed
}

// clearRouteParents removes this controller's entries for a Gateway from every route that
// still has them, once the Gateway is deleted or no longer of a class of ours: a route must
// not keep claiming Accepted on a parent that no longer serves it.
func (c *Controller) clearRouteParents(ctx context.Context, key types.NamespacedName) error {
	routes, err := c.informers.HTTPRoutesForGateway(key)
	if err != nil {
		return err
	}
	gone := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	var errs []error
	for _, r := range routes {
		if err := c.writeHTTPRouteStatus(ctx, gone, RouteStatus{Route: r}); err != nil {
			errs = append(errs, fmt.Errorf("clearing status of HTTPRoute %s/%s: %w", r.Namespace, r.Name, err))
		}
	}
	return errors.Join(errs...)
}
