package status

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/informers"
)

// Result is the status translate derives for one Gateway and every route it looked at.
// Programmed is not in it: it depends on the push, and the writer adds it (see DataPlane).
type Result struct {
	// Gateway is the Gateway's own status.
	Gateway GatewayResult
	// Routes holds, for every route that names the Gateway, the Gateway's entries in its
	// status.parents (none when the route left the Gateway, so that stale entries go).
	Routes []RouteResult
	// ListenerSets holds, for every ListenerSet whose parentRef names the Gateway, its status
	// before the push, in precedence order.
	ListenerSets []ListenerSetResult
	// Policies holds, for every BackendTLSPolicy that targets a backend of the Gateway's routes
	// or still lists the Gateway as an ancestor, the Gateway's entries in its status.ancestors.
	Policies []PolicyResult
}

// GatewayResult is a Gateway's status before the push.
type GatewayResult struct {
	// Conditions holds Accepted.
	Conditions []metav1.Condition
	// Listeners is the status of every listener, in spec order, without Programmed.
	Listeners []gatewayv1.ListenerStatus
	// Served tells, per listener name, whether the listener is in the config.
	Served map[gatewayv1.SectionName]bool
	// Unprogrammable holds, per listener name, why a valid listener is left out of the config:
	// the Kengine pods cannot run it (they lack the layer4 app). It is reported as
	// Programmed=False with ListenerReasonModuleMissing.
	Unprogrammable map[gatewayv1.SectionName]string
	// AttachedListenerSets counts the ListenerSets accepted on the Gateway.
	AttachedListenerSets int32
}

// ListenerSetResult is a ListenerSet's status before the push. Its listeners are judged as
// part of the Gateway's merged listener list, so their Programmed condition follows the
// Gateway's push like the Gateway's own listeners.
type ListenerSetResult struct {
	// ListenerSet is the object as read from the cache.
	ListenerSet *gatewayv1.ListenerSet
	// Conditions holds Accepted.
	Conditions []metav1.Condition
	// Listeners is the status of every listener, in spec order, without Programmed; empty when
	// the Gateway does not take the ListenerSet's listeners at all (NotAllowed,
	// ParentNotAccepted).
	Listeners []gatewayv1.ListenerStatus
	// Served tells, per listener name, whether the listener is in the config.
	Served map[gatewayv1.SectionName]bool
	// Unprogrammable is GatewayResult.Unprogrammable for the ListenerSet's listeners.
	Unprogrammable map[gatewayv1.SectionName]string
}

// RouteResult is the status one Gateway owns in one route.
type RouteResult struct {
	// Route is the route as read from the cache: a *gatewayv1.HTTPRoute, GRPCRoute,
	// TLSRoute, TCPRoute or UDPRoute (the kinds Writer.WriteRoute knows).
	Route metav1.Object
	// Parents are the entries for the parentRefs that select the Gateway or one of its
	// ListenerSets.
	Parents []gatewayv1.RouteParentStatus
	// ListenerSets are the ListenerSets whose parentRef names the Gateway: the route's entries
	// for them belong to the Gateway's result as much as the entry for the Gateway itself.
	ListenerSets map[types.NamespacedName]bool
}

// ParentIsGateway reports whether a parentRef of a route in routeNamespace names the Gateway
// gwNamespace/gwName.
func ParentIsGateway(p gatewayv1.ParentReference, routeNamespace, gwNamespace, gwName string) bool {
	if p.Group != nil && *p.Group != gatewayv1.GroupName {
		return false
	}
	if p.Kind != nil && *p.Kind != "Gateway" {
		return false
	}
	ns := routeNamespace
	if p.Namespace != nil && *p.Namespace != "" {
		ns = string(*p.Namespace)
	}
	return ns == gwNamespace && string(p.Name) == gwName
}

// KindListenerSet is the ListenerSet kind, as a route parent.
const KindListenerSet = informers.KindListenerSet

// ParentListenerSet returns the ListenerSet a parentRef of a route in routeNamespace names;
// false when it names an object of another kind.
func ParentListenerSet(p gatewayv1.ParentReference, routeNamespace string) (types.NamespacedName, bool) {
	return informers.ParentListenerSet(p, routeNamespace)
}

// ListenerSetParent returns the Gateway a ListenerSet's spec.parentRef names; false when it
// names an object of another kind.
func ListenerSetParent(ls *gatewayv1.ListenerSet) (types.NamespacedName, bool) {
	return informers.ListenerSetParent(ls)
}
