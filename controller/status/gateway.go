package status

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/addresses"
	"github.com/khulnasoft/gateway/informers"
)

// DataPlane is what a Gateway's Programmed condition is decided from: its Kengine Service,
// its pods and how the push went.
type DataPlane struct {
	// HasService is true when a Service fronts the Gateway's Kengine pods.
	HasService bool
	// Addresses come from the Service's load-balancer status: what it assigned, whether or not
	// spec.addresses asked for it.
	Addresses []gatewayv1.GatewayStatusAddress
	// Pods is the number of Kengine pods the config was pushed to.
	Pods int
	// Ready is the number of those pods the Gateway's Service reports ready, that is, that
	// receive traffic. Programmed waits for one, so that a client that waits for the
	// condition is served at once.
	Ready int
	// Failed lists "pod: reason" for every pod that was not programmed, sorted.
	Failed []string
	// Refused is true when a pod refused the config itself (not a transient failure).
	Refused bool
}

// GatewayStatus is the desired status of a Gateway (conditions without transition times).
func GatewayStatus(gw *gatewayv1.Gateway, res *GatewayResult, dp DataPlane) gatewayv1.GatewayStatus {
	gen := gw.Generation
	accepted := meta.IsStatusConditionTrue(res.Conditions, string(gatewayv1.GatewayConditionAccepted))
	// The addresses the load balancer assigned against those spec.addresses asks for.
	addrReason, addrMsg, addrUnmet := addresses.FromSpec(gw.Spec.Addresses).Unmet(dp.Addresses)
	var programmed metav1.Condition
	switch {
	case !accepted:
		programmed = Condition(gatewayv1.GatewayConditionProgrammed, false, gatewayv1.GatewayReasonInvalid, "the Gateway is not accepted", gen)
	case !dp.HasService:
		programmed = Condition(gatewayv1.GatewayConditionProgrammed, false, gatewayv1.GatewayReasonNoResources,
			fmt.Sprintf("no Service labelled %s=%s in namespace %s fronts Kengine pods", informers.GatewayNameLabel, gw.Name, gw.Namespace), gen)
	case dp.Pods == 0 && len(dp.Failed) > 0:
		programmed = Condition(gatewayv1.GatewayConditionProgrammed, false, gatewayv1.GatewayReasonInvalid, Truncate(strings.Join(dp.Failed, "; ")), gen)
	case dp.Pods == 0:
		programmed = Condition(gatewayv1.GatewayConditionProgrammed, false, gatewayv1.GatewayReasonPending, "waiting for Kengine pods behind the Gateway's Service", gen)
	case len(dp.Failed) > 0:
		reason := gatewayv1.GatewayReasonPending
		if dp.Refused {
			reason = gatewayv1.GatewayReasonInvalid
		}
		msg := fmt.Sprintf("%d of %d Kengine pods are not programmed (they keep serving their last good config): %s",
			len(dp.Failed), dp.Pods, strings.Join(dp.Failed, "; "))
		programmed = Condition(gatewayv1.GatewayConditionProgrammed, false, reason, Truncate(msg), gen)
	case dp.Ready == 0:
		programmed = Condition(gatewayv1.GatewayConditionProgrammed, false, gatewayv1.GatewayReasonPending,
			fmt.Sprintf("config programmed on %d Kengine pods; waiting for one of them to be ready behind the Gateway's Service", dp.Pods), gen)
	case addrUnmet:
		programmed = Condition(gatewayv1.GatewayConditionProgrammed, false, addrReason, Truncate(addrMsg), gen)
	default:
		programmed = Condition(gatewayv1.GatewayConditionProgrammed, true, gatewayv1.GatewayReasonProgrammed,
			fmt.Sprintf("config programmed on %d Kengine pods", dp.Pods), gen)
	}
	st := gatewayv1.GatewayStatus{
		Addresses:            dp.Addresses,
		Conditions:           append(append([]metav1.Condition{}, res.Conditions...), programmed),
		Listeners:            listenersProgrammed(res.Listeners, res.Served, res.Unprogrammable, pushed(programmed), false, gen),
		AttachedListenerSets: attachedListenerSets(res.AttachedListenerSets),
	}
	return st
}

// attachedListenerSets is status.attachedListenerSets: unset rather than zero, so that a
// cluster whose Gateway CRD predates the field sees no change.
func attachedListenerSets(n int32) *int32 {
	if n == 0 {
		return nil
	}
	return &n
}

// pushed reports whether a Gateway's Programmed condition says its config reached the pods
// (its address may still be pending, or not the one asked for).
func pushed(programmed metav1.Condition) bool {
	return programmed.Status == metav1.ConditionTrue || programmed.Reason == string(gatewayv1.GatewayReasonAddressNotAssigned) ||
		programmed.Reason == string(gatewayv1.GatewayReasonAddressNotUsable)
}

// listenersProgrammed adds Programmed to the status of listeners: a listener left out of the
// config says why (with the reason of its Accepted condition when acceptedReason is set and
// it is not accepted, Invalid otherwise); a served one follows the push.
func listenersProgrammed(listeners []gatewayv1.ListenerStatus, served map[gatewayv1.SectionName]bool, unprogrammable map[gatewayv1.SectionName]string,
	pushed, acceptedReason bool, gen int64) []gatewayv1.ListenerStatus {
	out := make([]gatewayv1.ListenerStatus, len(listeners))
	for i, l := range listeners {
		l.Conditions = append([]metav1.Condition{}, l.Conditions...)
		msg, isUnprogrammable := unprogrammable[l.Name]
		accepted := meta.FindStatusCondition(l.Conditions, string(gatewayv1.ListenerConditionAccepted))
		switch {
		case isUnprogrammable:
			l.Conditions = append(l.Conditions, Condition(gatewayv1.ListenerConditionProgrammed, false, ListenerReasonModuleMissing, Truncate(msg), gen))
		case !served[l.Name] && acceptedReason && accepted != nil && accepted.Status == metav1.ConditionFalse:
			l.Conditions = append(l.Conditions, Condition(gatewayv1.ListenerConditionProgrammed, false, accepted.Reason, accepted.Message, gen))
		case !served[l.Name]:
			l.Conditions = append(l.Conditions, Condition(gatewayv1.ListenerConditionProgrammed, false, gatewayv1.ListenerReasonInvalid, "the listener is not valid", gen))
		case !pushed:
			l.Conditions = append(l.Conditions, Condition(gatewayv1.ListenerConditionProgrammed, false, gatewayv1.ListenerReasonPending, "waiting for the Kengine pods to be programmed", gen))
		default:
			l.Conditions = append(l.Conditions, Condition(gatewayv1.ListenerConditionProgrammed, true, gatewayv1.ListenerReasonProgrammed, "listener programmed", gen))
		}
		out[i] = l
	}
	return out
}

// ListenerReasonModuleMissing is the Programmed=False reason of a valid listener the Kengine
// pods cannot run because their build lacks a module it needs (the layer4 app for TLS, TCP
// and UDP listeners). The specification lets implementations add reasons of their own.
const ListenerReasonModuleMissing gatewayv1.ListenerConditionReason = "ModuleMissing"

// occasionalGatewayConditions are the Gateway condition types the controller sets only in
// some states (a backend client certificate, an insecure client validation mode): once it no
// longer sets one, the condition is removed rather than kept as if another owner's.
var occasionalGatewayConditions = []string{
	string(gatewayv1.GatewayConditionResolvedRefs),
	string(gatewayv1.GatewayConditionInsecureFrontendValidationMode),
}

// withoutStaleConditions drops the occasional conditions that desired no longer holds.
func withoutStaleConditions(existing, desired []metav1.Condition) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(existing))
	for _, c := range existing {
		if slices.Contains(occasionalGatewayConditions, c.Type) && meta.FindStatusCondition(desired, c.Type) == nil {
			continue
		}
		out = append(out, c)
	}
	return out
}

// gatewayStatusChanged compares everything the controller owns, ignoring transition times.
func gatewayStatusChanged(existing, desired gatewayv1.GatewayStatus) bool {
	if len(withoutStaleConditions(existing.Conditions, desired.Conditions)) != len(existing.Conditions) {
		return true
	}
	if !reflect.DeepEqual(existing.Addresses, desired.Addresses) && !(len(existing.Addresses) == 0 && len(desired.Addresses) == 0) {
		return true
	}
	if deref(existing.AttachedListenerSets) != deref(desired.AttachedListenerSets) {
		return true
	}
	return conditionsChanged(existing.Conditions, desired.Conditions) || listenersChanged(existing.Listeners, desired.Listeners)
}

// listenersChanged compares listener statuses, ignoring transition times.
func listenersChanged(existing, desired []gatewayv1.ListenerStatus) bool {
	if len(existing) != len(desired) {
		return true
	}
	for i := range desired {
		e, d := existing[i], desired[i]
		if e.Name != d.Name || e.AttachedRoutes != d.AttachedRoutes || !reflect.DeepEqual(e.SupportedKinds, d.SupportedKinds) ||
			len(e.Conditions) != len(d.Conditions) || conditionsChanged(e.Conditions, d.Conditions) {
			return true
		}
	}
	return false
}

func deref(n *int32) int32 {
	if n == nil {
		return 0
	}
	return *n
}
