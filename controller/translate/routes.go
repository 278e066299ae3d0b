package translate

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/status"
)

// route is what every route kind shares. Parent attachment, allowedRoutes, hostname
// intersection, the HTTPRoute/GRPCRoute hostname rule and the route's parent status are written
// once against it (attachRoutes); backend references are resolved by one function for every
// kind (resolveBackend).
type route interface {
	// kind is the route's kind, as listeners allow it and ReferenceGrants name it.
	kind() gatewayv1.Kind
	// object is the route as read from the cache, for its status.
	object() metav1.Object
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

// routeProblem is what rejects a route of any kind as a whole before its rules are read: a
// config holding it was refused by Kengine, or one of its hostnames cannot be compiled.
func (t *translator) routeProblem(r route) *routeCondition {
	m := r.meta()
	if msg, excluded := t.s.Excluded[RouteRef(string(r.kind()), m.Namespace, m.Name)]; excluded {
		return &routeCondition{reason: gatewayv1.RouteReasonUnsupportedValue, message: status.Truncate("Kengine refused the Gateway's config with this route: " + msg)}
	}
	for _, hn := range r.hostnames() {
		if err := checkHostname(string(hn)); err != nil {
			return &routeCondition{reason: gatewayv1.RouteReasonUnsupportedValue, message: err.Error()}
		}
	}
	return nil
}

// routePlan is one route on its way through attachRoutes: built, its parentRefs matched to
// listeners, and the listeners another kind's route keeps it from.
type routePlan struct {
	r       route
	built   *builtRoute // nil when no parentRef selects the Gateway
	parents []parentPlan
	// lostTo maps a listener to the route of the other kind that holds a hostname this route
	// wanted there (see settleKindConflicts).
	lostTo map[*listener]route
}

// parentPlan is one parentRef of a route that selects the translated Gateway or one of its
// ListenerSets.
type parentPlan struct {
	ref gatewayv1.ParentReference
	// set is the ListenerSet the parentRef names; nil when it names the Gateway.
	set     *listenerSet
	matched []listenerMatch
	// reason and msg say why no listener matched.
	reason gatewayv1.RouteConditionReason
	msg    string
}

// attachRoutes decides, for every parentRef of every route that selects the translated
// Gateway, whether the route is accepted and to which listeners, adds its valid rules to those
// listeners, and records the parent status entries in the result, in the order of routes.
// Invalid rules are dropped one by one (PartiallyInvalid); only a problem of the route as a
// whole, or no valid rule at all, rejects the route.
func (t *translator) attachRoutes(routes []route, listeners []*listener) {
	plans := make([]*routePlan, len(routes))
	for i, r := range routes {
		plans[i] = t.planRoute(r, listeners)
	}
	settleKindConflicts(plans)
	var sets map[types.NamespacedName]bool
	if len(t.sets) > 0 {
		sets = make(map[types.NamespacedName]bool, len(t.sets))
		for key := range t.sets {
			sets[key] = true
		}
	}
	for _, p := range plans {
		t.res.Routes = append(t.res.Routes, status.RouteResult{Route: p.r.object(), Parents: t.admit(p), ListenerSets: sets})
	}
}

// planRoute builds a route (only if a parentRef selects the Gateway or one of its
// ListenerSets) and matches each such parentRef to listeners.
func (t *translator) planRoute(r route, listeners []*listener) *routePlan {
	p := &routePlan{r: r}
	m := r.meta()
	gw := t.s.Gateway
	for _, ref := range r.parentRefs() {
		var set *listenerSet
		if key, ok := status.ParentListenerSet(ref, m.Namespace); ok {
			if set = t.sets[key]; set == nil {
				continue // a ListenerSet of another Gateway
			}
		} else if !status.ParentIsGateway(ref, m.Namespace, gw.Namespace, gw.Name) {
			continue
		}
		if p.built == nil {
			p.built = r.build(t)
		}
		matched, reason, msg := t.selectListeners(listeners, ref, set, r)
		p.parents = append(p.parents, parentPlan{ref: ref, set: set, matched: matched, reason: reason, msg: msg})
	}
	return p
}

// admit turns a plan into parent status entries and attaches the route's rules to the
// listeners it is accepted on.
func (t *translator) admit(p *routePlan) []gatewayv1.RouteParentStatus {
	var out []gatewayv1.RouteParentStatus
	gen := p.r.meta().Generation
	built := p.built
	for _, pp := range p.parents {
		entry := gatewayv1.RouteParentStatus{ParentRef: pp.ref, ControllerName: gatewayv1.GatewayController(t.opts.ControllerName)}
		var matched []listenerMatch
		var lost *listener
		for _, lm := range pp.matched {
			if _, ok := p.lostTo[lm.l]; ok {
				if lost == nil {
					lost = lm.l
				}
				continue
			}
			matched = append(matched, lm)
		}
		var accepted metav1.Condition
		var partial *metav1.Condition
		switch {
		case len(pp.matched) == 0:
			accepted = status.Condition(gatewayv1.RouteConditionAccepted, false, pp.reason, pp.msg, gen)
		case built.problem != nil:
			accepted = status.Condition(gatewayv1.RouteConditionAccepted, false, built.problem.reason, built.problem.message, gen)
		case len(matched) == 0:
			// The specification names no reason for this rejection; the listener does not
			// allow the route because another kind holds the hostname there.
			accepted = status.Condition(gatewayv1.RouteConditionAccepted, false, gatewayv1.RouteReasonNotAllowedByListeners,
				kindConflictMessage(lost, p.lostTo[lost]), gen)
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

// kindConflictMessage explains why a route lost listener l to winner, a route of the other kind.
func kindConflictMessage(l *listener, winner route) string {
	m := winner.meta()
	return status.Truncate(fmt.Sprintf("listener %s: %s %s/%s, created earlier (or first by namespace/name), already answers a hostname "+
		"this route asks for; an HTTPRoute and a GRPCRoute may not share a hostname on one listener", l.spec.Name, winner.kind(), m.Namespace, m.Name))
}

// routeClaim is a route that would attach to a listener, with the hostnames it would answer
// there.
type routeClaim struct {
	plan      *routePlan
	hostnames []string
}

// settleKindConflicts applies the rule of the GRPCRoute specification: an HTTPRoute and a
// GRPCRoute whose hostnames intersect cannot both attach to one listener, and the one created
// first (then the one first by "namespace/name") is kept. Claims are taken in that order, so a
// route lost to an older one holds nothing against younger routes. Rules of both kinds thus
// never share a virtual host.
func settleKindConflicts(plans []*routePlan) {
	var order []*listener
	claims := map[*listener][]routeClaim{}
	for _, p := range plans {
		if p.built == nil || p.built.problem != nil {
			continue // rejected as a whole: attached nowhere, holds nothing
		}
		for _, pp := range p.parents {
			for _, lm := range pp.matched {
				if _, seen := claims[lm.l]; !seen {
					order = append(order, lm.l)
				}
				if cs := claims[lm.l]; len(cs) > 0 && cs[len(cs)-1].plan == p {
					continue // a second parentRef to the same listener
				}
				claims[lm.l] = append(claims[lm.l], routeClaim{plan: p, hostnames: lm.hostnames})
			}
		}
	}
	for _, l := range order {
		cs := claims[l]
		if !rivalsMeet(cs) {
			continue // one kind only: nothing to settle, and no need to sort
		}
		sort.SliceStable(cs, func(i, j int) bool { return routeOlder(cs[i].plan.r, cs[j].plan.r) })
		kept := map[gatewayv1.Kind][]routeClaim{}
		for _, c := range cs {
			kind := c.plan.r.kind()
			others := kept[rivalKinds[kind]]
			i := slices.IndexFunc(others, func(o routeClaim) bool { return hostnamesIntersect(o.hostnames, c.hostnames) })
			if i < 0 {
				kept[kind] = append(kept[kind], c)
				continue
			}
			if c.plan.lostTo == nil {
				c.plan.lostTo = map[*listener]route{}
			}
			c.plan.lostTo[l] = others[i].plan.r
		}
	}
}

// rivalsMeet reports whether claims holds routes of two kinds that are rivals.
func rivalsMeet(claims []routeClaim) bool {
	seen := map[gatewayv1.Kind]bool{}
	for _, c := range claims {
		kind := c.plan.r.kind()
		if seen[rivalKinds[kind]] {
			return true
		}
		seen[kind] = true
	}
	return false
}

// rivalKinds pairs the route kinds that may not share a hostname on one listener.
var rivalKinds = map[gatewayv1.Kind]gatewayv1.Kind{KindHTTPRoute: KindGRPCRoute, KindGRPCRoute: KindHTTPRoute}

// routeOlder orders routes by creation time, then by "namespace/name", then by kind.
func routeOlder(a, b route) bool {
	ma, mb := a.meta(), b.meta()
	if !ma.CreationTimestamp.Equal(&mb.CreationTimestamp) {
		return ma.CreationTimestamp.Before(&mb.CreationTimestamp)
	}
	if ka, kb := ma.Namespace+"/"+ma.Name, mb.Namespace+"/"+mb.Name; ka != kb {
		return ka < kb
	}
	return a.kind() < b.kind()
}

// hostnamesIntersect reports whether some request host is admitted by a hostname of each list
// ("" admits every host).
func hostnamesIntersect(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if _, ok := intersectHostname(x, y); ok {
				return true
			}
		}
	}
	return false
}

// listenerMatch is a listener a route attached to, with the hostnames it answers there.
type listenerMatch struct {
	l         *listener
	hostnames []string
}

// selectListeners applies sectionName, port, allowedRoutes and hostname intersection to the
// listeners of the parent a parentRef names: those of the ListenerSet set, or the Gateway's
// own when set is nil (a Gateway parentRef never reaches a ListenerSet's listener).
func (t *translator) selectListeners(listeners []*listener, p gatewayv1.ParentReference, set *listenerSet, r route) ([]listenerMatch, gatewayv1.RouteConditionReason, string) {
	if set != nil && !set.attached {
		return nil, gatewayv1.RouteReasonNoMatchingParent, "the ListenerSet is not attached to its Gateway; see its Accepted condition"
	}
	var candidates []*listener
	for _, l := range listeners {
		if l.set != set {
			continue
		}
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
		if l.attachable && l.kinds[r.kind()] && t.namespaceAllowed(l, r.meta().Namespace) {
			allowed = append(allowed, l)
		}
	}
	if len(allowed) == 0 {
		return nil, gatewayv1.RouteReasonNotAllowedByListeners, "no listener allows this route (allowedRoutes kinds or namespaces, or the listener is invalid)"
	}
	var matched []listenerMatch
	routeHosts := r.hostnames()
	for _, l := range allowed {
		lh := listenerHostname(l.spec)
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
