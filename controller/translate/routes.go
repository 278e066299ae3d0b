package translate

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/status"
)

// route is what every route kind shares. Parent attachment, allowedRoutes, hostname
// intersection and the route's parent status are written once against it (attach); backend
// references are resolved by one function for every kind (resolveBackend).
type route interface {
	// kind is the route's kind, as listeners allow it and ReferenceGrants name it.
	kind() gatewayv1.Kind
	// meta is the route's object metadata.
	meta() *metav1.ObjectMeta
	// parentRefs are the route's spec.parentRefs.
	parentRefs() []gatewayv1.ParentReference
	// hostnames are the route's spec.hostnames; nil for kinds without hostnames.
	hostnames() []gatewayv1.Hostname
	// build validates the rules and resolves their backends. It is called once per route,
	// and only for routes with a parentRef to the translated Gateway.
	build(t *translator) *builtRoute
}

// builtRoute is a route validated and resolved.
type builtRoute struct {
	// problem, when set, rejects the route as a whole.
	problem *routeCondition
	// dropped says which rules were left out and why ("rule 2: ..."), for PartiallyInvalid.
	dropped []string
	// failing says which rules answer some or all of their requests with 500 because a
	// filter cannot be applied, and why; also reported as PartiallyInvalid.
	failing []string
	// refs is the ResolvedRefs condition.
	refs metav1.Condition
	// attach adds the valid rules to a served listener, for the hostnames the route answers
	// there.
	attach func(l *listener, hostnames []string)
}

// partialMessage is the PartiallyInvalid message: the rules left out, then the rules that
// answer 500; empty when every rule is served as written.
func (b *builtRoute) partialMessage() string {
	var parts []string
	if len(b.dropped) > 0 {
		parts = append(parts, "Dropped Rule(s): "+strings.Join(b.dropped, "; "))
	}
	if len(b.failing) > 0 {
		parts = append(parts, "Rule(s) answering 500: "+strings.Join(b.failing, "; "))
	}
	return strings.Join(parts, ". ")
}

// routeCondition is a reason a route as a whole cannot be accepted.
type routeCondition struct {
	reason  gatewayv1.RouteConditionReason
	message string
}

// attach decides, for every parentRef of the route that selects the translated Gateway,
// whether the route is accepted and to which listeners, adds its valid rules to those
// listeners, and returns the parent status entries. Invalid rules are dropped one by one
// (PartiallyInvalid); only a problem of the route as a whole, or no valid rule at all, rejects
// the route.
func (t *translator) attach(r route, listeners []*listener) []gatewayv1.RouteParentStatus {
	var out []gatewayv1.RouteParentStatus
	m := r.meta()
	gen := m.Generation
	gw := t.s.Gateway
	var built *builtRoute // built lazily: only routes with a parent here need it

	for _, p := range r.parentRefs() {
		if !status.ParentIsGateway(p, m.Namespace, gw.Namespace, gw.Name) {
			continue
		}
		entry := gatewayv1.RouteParentStatus{ParentRef: p, ControllerName: gatewayv1.GatewayController(t.opts.ControllerName)}
		if built == nil {
			built = r.build(t)
		}

		matched, reason, msg := t.selectListeners(listeners, p, r)
		var accepted metav1.Condition
		var partial *metav1.Condition
		switch {
		case len(matched) == 0:
			accepted = status.Condition(gatewayv1.RouteConditionAccepted, false, reason, msg, gen)
		case built.problem != nil:
			accepted = status.Condition(gatewayv1.RouteConditionAccepted, false, built.problem.reason, built.problem.message, gen)
		default:
			accepted = status.Condition(gatewayv1.RouteConditionAccepted, true, gatewayv1.RouteReasonAccepted, "route accepted", gen)
			if msg := built.partialMessage(); msg != "" {
				c := status.Condition(gatewayv1.RouteConditionPartiallyInvalid, true, gatewayv1.RouteReasonUnsupportedValue, status.Truncate(msg), gen)
				partial = &c
			}
			for _, lm := range matched {
				lm.l.status.AttachedRoutes++
				if lm.l.served {
					built.attach(lm.l, lm.hostnames)
				}
			}
		}
		entry.Conditions = []metav1.Condition{accepted, built.refs}
		if partial != nil {
			entry.Conditions = append(entry.Conditions, *partial)
		}
		out = append(out, entry)
	}
	return out
}

// listenerMatch is a listener a route attached to, with the hostnames it answers there.
type listenerMatch struct {
	l         *listener
	hostnames []string
}

// selectListeners applies sectionName, port, allowedRoutes and hostname intersection.
func (t *translator) selectListeners(listeners []*listener, p gatewayv1.ParentReference, r route) ([]listenerMatch, gatewayv1.RouteConditionReason, string) {
	var candidates []*listener
	for _, l := range listeners {
		if p.SectionName != nil && *p.SectionName != l.spec.Name {
			continue
		}
		if p.Port != nil && *p.Port != l.spec.Port {
			continue
		}
		candidates = append(candidates, l)
	}
	if len(candidates) == 0 {
		return nil, gatewayv1.RouteReasonNoMatchingParent, "no listener matches the parentRef's sectionName and port"
	}
	var allowed []*listener
	for _, l := range candidates {
		if l.attachable && l.kinds[r.kind()] && t.namespaceAllowed(l.spec, r.meta().Namespace) {
			allowed = append(allowed, l)
		}
	}
	if len(allowed) == 0 {
		return nil, gatewayv1.RouteReasonNotAllowedByListeners, "no listener allows this route (allowedRoutes kinds or namespaces, or the listener is invalid)"
	}
	var matched []listenerMatch
	routeHosts := r.hostnames()
	for _, l := range allowed {
		lh := hostnameOf(l.spec.Hostname)
		var hosts []string
		if len(routeHosts) == 0 {
			hosts = []string{lh}
		}
		seen := map[string]bool{}
		for _, h := range routeHosts {
			if x, ok := intersectHostname(lh, string(h)); ok && !seen[x] {
				seen[x] = true
				hosts = append(hosts, x)
			}
		}
		if len(hosts) > 0 {
			matched = append(matched, listenerMatch{l: l, hostnames: hosts})
		}
	}
	if len(matched) == 0 {
		return nil, gatewayv1.RouteReasonNoMatchingListenerHostname, "no listener hostname intersects the route's hostnames"
	}
	return matched, "", ""
}
