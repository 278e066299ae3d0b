package status

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ListenerSetReasonParentNotProgrammed is the Programmed=False reason of an accepted
// ListenerSet whose Gateway's config has not reached the Kengine pods; the specification
// names it without a constant.
const ListenerSetReasonParentNotProgrammed gatewayv1.ListenerSetConditionReason = "ParentNotProgrammed"

// ListenerSetStatus is the desired status of a ListenerSet (conditions without transition
// times), given the desired status of its Gateway: its listeners are programmed with the
// Gateway's config, so their Programmed condition follows the Gateway's push.
func ListenerSetStatus(res *ListenerSetResult, gw gatewayv1.GatewayStatus) gatewayv1.ListenerSetStatus {
	gen := res.ListenerSet.Generation
	accepted := meta.FindStatusCondition(res.Conditions, string(gatewayv1.ListenerSetConditionAccepted))
	gwProgrammed := meta.FindStatusCondition(gw.Conditions, string(gatewayv1.GatewayConditionProgrammed))
	isPushed := gwProgrammed != nil && pushed(*gwProgrammed)
	var programmed metav1.Condition
	switch {
	case accepted == nil || accepted.Status != metav1.ConditionTrue:
		// Not accepted: Programmed says why, as the conformance tests expect.
		reason, msg := string(gatewayv1.ListenerSetReasonInvalid), "the ListenerSet is not accepted"
		if accepted != nil {
			reason, msg = accepted.Reason, accepted.Message
		}
		programmed = Condition(gatewayv1.ListenerSetConditionProgrammed, false, reason, msg, gen)
	case !isPushed:
		msg := "the Gateway's config has not reached its Kengine pods"
		if gwProgrammed != nil {
			msg = Truncate("the Gateway is not programmed: " + gwProgrammed.Message)
		}
		programmed = Condition(gatewayv1.ListenerSetConditionProgrammed, false, ListenerSetReasonParentNotProgrammed, msg, gen)
	default:
		programmed = Condition(gatewayv1.ListenerSetConditionProgrammed, true, gatewayv1.ListenerSetReasonProgrammed, "listeners programmed with the Gateway's config", gen)
	}
	return gatewayv1.ListenerSetStatus{
		Conditions: append(append([]metav1.Condition{}, res.Conditions...), programmed),
		Listeners:  entryStatuses(listenersProgrammed(res.Listeners, res.Served, res.Unprogrammable, isPushed, true, gen)),
	}
}

// writeListenerSet writes a ListenerSet's status where it changed. A ListenerSet has one
// parent Gateway, whose sync owns its whole status.
func (w *Writer) writeListenerSet(ctx context.Context, ls *gatewayv1.ListenerSet, desired gatewayv1.ListenerSetStatus) error {
	client := w.client.GatewayV1().ListenerSets(ls.Namespace)
	return update(ctx, w.timeout, ls, func(ls *gatewayv1.ListenerSet) (*gatewayv1.ListenerSet, bool) {
		existing := listenerStatuses(ls.Status.Listeners)
		if !conditionsChanged(ls.Status.Conditions, desired.Conditions) && !listenersChanged(existing, listenerStatuses(desired.Listeners)) {
			return nil, false
		}
		now := metav1.NewTime(w.now())
		upd := ls.DeepCopy()
		upd.Status.Conditions = mergeConditions(ls.Status.Conditions, desired.Conditions, now)
		upd.Status.Listeners = entryStatuses(listenersWithTransitionTimes(existing, listenerStatuses(desired.Listeners), now))
		return upd, true
	}, func(ctx context.Context, upd *gatewayv1.ListenerSet) error {
		_, err := client.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if err == nil {
			klog.FromContext(ctx).V(2).Info("Updated ListenerSet status", "listenerSet", klog.KObj(upd))
		}
		return err
	}, func(ctx context.Context) (*gatewayv1.ListenerSet, error) {
		return client.Get(ctx, ls.Name, metav1.GetOptions{})
	})
}

// entryStatuses converts listener statuses to a ListenerSet's; the two types hold the same
// fields.
func entryStatuses(in []gatewayv1.ListenerStatus) []gatewayv1.ListenerEntryStatus {
	out := make([]gatewayv1.ListenerEntryStatus, len(in))
	for i, l := range in {
		out[i] = gatewayv1.ListenerEntryStatus{Name: l.Name, SupportedKinds: l.SupportedKinds, AttachedRoutes: l.AttachedRoutes, Conditions: l.Conditions}
	}
	return out
}

// listenerStatuses is the inverse of entryStatuses.
func listenerStatuses(in []gatewayv1.ListenerEntryStatus) []gatewayv1.ListenerStatus {
	out := make([]gatewayv1.ListenerStatus, len(in))
	for i, l := range in {
		out[i] = gatewayv1.ListenerStatus{Name: l.Name, SupportedKinds: l.SupportedKinds, AttachedRoutes: l.AttachedRoutes, Conditions: l.Conditions}
	}
	return out
}
