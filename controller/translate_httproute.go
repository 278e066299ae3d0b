package controller

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/managed"
	"github.com/khulnasoft/gateway/informers"
)

// parentSelectsGateway reports whether a parentRef points at the snapshot's Gateway.
func parentSelectsGateway(p gatewayv1.ParentReference, routeNamespace string, gw *gatewayv1.Gateway) bool {
	if p.Group != nil && *p.Group != gatewayv1.GroupName {
		return false
	}
	if p.Kind != nil && *p.Kind != informers.KindGateway {
		return false
	}
	ns := routeNamespace
	if p.Namespace != nil && *p.Namespace != "" {
		ns = string(*p.Namespace)
	}
	return ns == gw.Namespace && string(p.Name) == gw.Name
}

// attachHTTPRoute decides, for every parentRef of the route that selects this Gateway, whether
// the route is accepted and to which listeners, adds its valid rules to those listeners, and
// returns the parent status entries. Invalid rules are dropped one by one (PartiallyInvalid);
// only a problem of the route as a whole, or no valid rule at all, rejects the route.
func attachHTTPRoute(s *Snapshot, opts TranslateOptions, listeners []*listener, r *gatewayv1.HTTPRoute) []gatewayv1.RouteParentStatus {
	var out []gatewayv1.RouteParentStatus
	gen := r.Generation
	var built *builtRoute // built lazily: only routes with a parent here need it

	for _, p := range r.Spec.ParentRefs {
		if !parentSelectsGateway(p, r.Namespace, s.Gateway) {
			continue
		}
		entry := gatewayv1.RouteParentStatus{ParentRef: p, ControllerName: opts.ControllerName}
		if built == nil {
			built = buildHTTPRouteRules(s, opts, r)
		}

		matched, reason, msg := selectListeners(s, listeners, p, r)
		var accepted metav1.Condition
		var partial *metav1.Condition
		switch {
		case len(matched) == 0:
			accepted = condition(gatewayv1.RouteConditionAccepted, false, reason, msg, gen)
		case built.problem != nil:
			accepted = condition(gatewayv1.RouteConditionAccepted, false, built.problem.reason, built.problem.message, gen)
		default:
			accepted = condition(gatewayv1.RouteConditionAccepted, true, gatewayv1.RouteReasonAccepted, "route accepted", gen)
			if len(built.dropped) > 0 {
				c := condition(gatewayv1.RouteConditionPartiallyInvalid, true, gatewayv1.RouteReasonUnsupportedValue,
					truncate("Dropped Rule(s): "+strings.Join(built.dropped, "; ")), gen)
				partial = &c
			}
			for _, m := range matched {
				m.l.status.AttachedRoutes++
				if m.l.served {
					addRules(m.l, m.hostnames, built.rules)
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

// routeCondition is a reason a route as a whole cannot be accepted.
type routeCondition struct {
	reason  gatewayv1.RouteConditionReason
	message string
}

// listenerMatch is a listener a route attached to, with the hostnames it answers there.
type listenerMatch struct {
	l         *listener
	hostnames []string
}

// selectListeners applies sectionName, port, allowedRoutes and hostname intersection.
func selectListeners(s *Snapshot, listeners []*listener, p gatewayv1.ParentReference, r *gatewayv1.HTTPRoute) ([]listenerMatch, gatewayv1.RouteConditionReason, string) {
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
		if l.attachable && l.kinds[informers.KindHTTPRoute] && namespaceAllowed(s, l.spec, r.Namespace) {
			allowed = append(allowed, l)
		}
	}
	if len(allowed) == 0 {
		return nil, gatewayv1.RouteReasonNotAllowedByListeners, "no listener allows this route (allowedRoutes kinds or namespaces, or the listener is invalid)"
	}
	var matched []listenerMatch
	for _, l := range allowed {
		lh := hostnameOf(l.spec.Hostname)
		var hosts []string
		if len(r.Spec.Hostnames) == 0 {
			hosts = []string{lh}
		}
		seen := map[string]bool{}
		for _, h := range r.Spec.Hostnames {
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

func addRules(l *listener, hostnames []string, rules []*RouteRule) {
	for _, h := range hostnames {
		vh := l.vhosts[h]
		if vh == nil {
			vh = &VirtualHost{Hostname: h}
			l.vhosts[h] = vh
		}
		for _, rule := range rules {
			rr := *rule
			rr.ListenerPort = int32(l.spec.Port)
			rr.ListenerTLS = l.spec.Protocol == gatewayv1.HTTPSProtocolType
			vh.Rules = append(vh.Rules, &rr)
		}
	}
}

// builtRoute is a route validated and expanded into rules.
type builtRoute struct {
	// rules are the valid rules, one RouteRule per match.
	rules []*RouteRule
	// problem, when set, rejects the route as a whole.
	problem *routeCondition
	// dropped says which rules were left out and why ("rule 2: ..."), for PartiallyInvalid.
	dropped []string
	// refs is the ResolvedRefs condition.
	refs metav1.Condition
}

// buildHTTPRouteRules validates a route and expands it into one RouteRule per match. A rule
// with an unsupported or invalid value is dropped on its own; a route without any valid rule,
// with an invalid hostname or with incompatible filters is rejected as a whole.
func buildHTTPRouteRules(s *Snapshot, opts TranslateOptions, r *gatewayv1.HTTPRoute) *builtRoute {
	gen := r.Generation
	nn := types.NamespacedName{Namespace: r.Namespace, Name: r.Name}
	out := &builtRoute{}
	refsReason, refsMsg := gatewayv1.RouteReasonResolvedRefs, "all references resolved"

	if msg, excluded := s.Excluded[RouteRef(informers.KindHTTPRoute, r.Namespace, r.Name)]; excluded {
		out.problem = &routeCondition{reason: gatewayv1.RouteReasonUnsupportedValue, message: truncate("Kengine refused the Gateway's config with this route: " + msg)}
	}
	for _, h := range r.Spec.Hostnames {
		if err := checkHostname(string(h)); err != nil && out.problem == nil {
			out.problem = &routeCondition{reason: gatewayv1.RouteReasonUnsupportedValue, message: err.Error()}
		}
	}
	for ri, rule := range r.Spec.Rules {
		err := validateRule(rule)
		var incompatible incompatibleFiltersError
		if errors.As(err, &incompatible) {
			if out.problem == nil {
				out.problem = &routeCondition{reason: gatewayv1.RouteReasonIncompatibleFilters, message: fmt.Sprintf("rule %d: %v", ri, err)}
			}
			continue
		}
		if err != nil {
			out.dropped = append(out.dropped, fmt.Sprintf("rule %d: %v", ri, err))
			continue
		}
		var backends []Backend
		for _, ref := range rule.BackendRefs {
			b, reason, msg := resolveBackend(s, opts, r, ref)
			if reason != "" && refsReason == gatewayv1.RouteReasonResolvedRefs {
				refsReason, refsMsg = reason, msg
			}
			backends = append(backends, b)
		}
		matches := rule.Matches
		if len(matches) == 0 {
			matches = []gatewayv1.HTTPRouteMatch{{}}
		}
		for mi, m := range matches {
			out.rules = append(out.rules, &RouteRule{
				Route: nn, RuleIndex: ri, MatchIndex: mi, Match: normalizeMatch(m),
				Filters: rule.Filters, Backends: backends,
				created: r.CreationTimestamp,
			})
		}
	}
	if out.problem == nil && len(r.Spec.Rules) > 0 && len(out.dropped) == len(r.Spec.Rules) {
		out.problem = &routeCondition{reason: gatewayv1.RouteReasonUnsupportedValue, message: truncate("no valid rule: " + strings.Join(out.dropped, "; "))}
	}
	out.refs = condition(gatewayv1.RouteConditionResolvedRefs, refsReason == gatewayv1.RouteReasonResolvedRefs, refsReason, refsMsg, gen)
	return out
}

// validateRule checks everything of one rule that Kengine compiles, and the fields the
// controller does not implement: those are refused, never silently ignored.
func validateRule(rule gatewayv1.HTTPRouteRule) error {
	if rule.Timeouts != nil {
		return fmt.Errorf("timeouts are not supported yet")
	}
	if rule.Retry != nil {
		return fmt.Errorf("retry is not supported yet")
	}
	if rule.SessionPersistence != nil {
		return fmt.Errorf("sessionPersistence is not supported yet")
	}
	if err := validateFilters(rule.Filters); err != nil {
		return err
	}
	for _, ref := range rule.BackendRefs {
		if len(ref.Filters) == 0 {
			continue
		}
		if err := validateFilters(ref.Filters); err != nil {
			var incompatible incompatibleFiltersError
			if errors.As(err, &incompatible) {
				return err
			}
			return fmt.Errorf("backendRef %s: %w", ref.Name, err)
		}
		// Kengine picks the upstream inside one proxy handler, after the filters ran, so
		// per-backend filters can only be honoured when there is one backend.
		if len(rule.BackendRefs) > 1 {
			return fmt.Errorf("backendRef %s: backendRef filters are supported only on rules with a single backendRef", ref.Name)
		}
	}
	matches := rule.Matches
	if len(matches) == 0 {
		matches = []gatewayv1.HTTPRouteMatch{{}}
	}
	for mi, m := range matches {
		m = normalizeMatch(m)
		if err := validateMatch(m); err != nil {
			return fmt.Errorf("match %d: %w", mi, err)
		}
		// Render's own builders: a value they cannot write literally is refused here.
		if _, _, err := matcherFor(m); err != nil {
			return fmt.Errorf("match %d: %w", mi, err)
		}
		probe := &RouteRule{Match: m, Filters: rule.Filters}
		if len(rule.BackendRefs) == 1 {
			probe.Backends = []Backend{{Filters: rule.BackendRefs[0].Filters}}
		}
		if _, _, _, err := filterHandlers(probe); err != nil {
			return err
		}
	}
	return nil
}

// normalizeMatch fills the defaults the API server would have set, so that objects created
// without defaulting (tests, old clients) behave the same.
func normalizeMatch(m gatewayv1.HTTPRouteMatch) gatewayv1.HTTPRouteMatch {
	if m.Path == nil {
		t, v := gatewayv1.PathMatchPathPrefix, "/"
		m.Path = &gatewayv1.HTTPPathMatch{Type: &t, Value: &v}
	} else {
		p := *m.Path
		if p.Type == nil {
			t := gatewayv1.PathMatchPathPrefix
			p.Type = &t
		}
		if p.Value == nil {
			v := "/"
			p.Value = &v
		}
		m.Path = &p
	}
	return m
}

func validateMatch(m gatewayv1.HTTPRouteMatch) error {
	switch *m.Path.Type {
	case gatewayv1.PathMatchExact, gatewayv1.PathMatchPathPrefix:
	case gatewayv1.PathMatchRegularExpression:
		if err := checkRegexpCost(wholeValuePattern(*m.Path.Value)); err != nil {
			return fmt.Errorf("path regular expression: %v", err)
		}
	default:
		return fmt.Errorf("path match type %q is not supported", *m.Path.Type)
	}
	for _, h := range m.Headers {
		if h.Type != nil && *h.Type == gatewayv1.HeaderMatchRegularExpression {
			if err := checkRegexpCost(wholeValuePattern(h.Value)); err != nil {
				return fmt.Errorf("header %s regular expression: %v", h.Name, err)
			}
		}
	}
	for _, q := range m.QueryParams {
		if q.Type != nil && *q.Type != gatewayv1.QueryParamMatchExact {
			return fmt.Errorf("query parameter match type %q is not supported", *q.Type)
		}
	}
	return nil
}

// incompatibleFiltersError marks filter combinations the spec forbids.
type incompatibleFiltersError struct{ msg string }

func (e incompatibleFiltersError) Error() string { return e.msg }

func validateFilters(filters []gatewayv1.HTTPRouteFilter) error {
	redirect, rewrite := false, false
	for _, f := range filters {
		switch f.Type {
		case gatewayv1.HTTPRouteFilterRequestHeaderModifier, gatewayv1.HTTPRouteFilterResponseHeaderModifier:
		case gatewayv1.HTTPRouteFilterRequestRedirect:
			if f.RequestRedirect == nil {
				return fmt.Errorf("requestRedirect filter without configuration")
			}
			redirect = true
		case gatewayv1.HTTPRouteFilterURLRewrite:
			if f.URLRewrite == nil {
				return fmt.Errorf("urlRewrite filter without configuration")
			}
			rewrite = true
		default:
			return fmt.Errorf("filter type %q is not supported", f.Type)
		}
	}
	if redirect && rewrite {
		return incompatibleFiltersError{"requestRedirect and urlRewrite cannot be used together"}
	}
	return nil
}

// resolveBackend turns a backendRef into endpoint addresses, or a failure status with the
// ResolvedRefs reason that explains it.
func resolveBackend(s *Snapshot, opts TranslateOptions, r *gatewayv1.HTTPRoute, ref gatewayv1.HTTPBackendRef) (Backend, gatewayv1.RouteConditionReason, string) {
	b := Backend{Weight: 1, Filters: ref.Filters}
	if ref.Weight != nil {
		b.Weight = *ref.Weight
	}
	if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Service") {
		b.FailureStatus = 500
		return b, gatewayv1.RouteReasonInvalidKind, fmt.Sprintf("backendRef %s: only core Services are supported", ref.Name)
	}
	ns := r.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	nn := types.NamespacedName{Namespace: ns, Name: string(ref.Name)}
	if !referenceAllowed(s.ReferenceGrants, reference{
		fromGroup: gatewayv1.GroupName, fromKind: informers.KindHTTPRoute, fromNamespace: r.Namespace,
		toGroup: "", toKind: "Service", toNamespace: ns, toName: nn.Name,
	}) {
		b.FailureStatus = 500
		return b, gatewayv1.RouteReasonRefNotPermitted, fmt.Sprintf("no ReferenceGrant allows HTTPRoute %s/%s to use Service %s", r.Namespace, r.Name, nn)
	}
	svc, ok := s.Services[nn]
	if !ok {
		b.FailureStatus = 500
		return b, gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("Service %s not found", nn)
	}
	b.Service = nn
	if ref.Port == nil {
		b.FailureStatus = 500
		return b, gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("backendRef to Service %s has no port", nn)
	}
	var port *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == int32(*ref.Port) {
			port = &svc.Spec.Ports[i]
			break
		}
	}
	if port == nil {
		b.FailureStatus = 500
		return b, gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("Service %s has no port %d", nn, *ref.Port)
	}
	policy := opts.addressPolicy
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		// The name is resolved by the controller and the addresses are pinned: left to
		// Kengine, DNS could answer with an address the check below never saw.
		if !opts.AllowExternalNameBackends {
			b.FailureStatus = 500
			return b, gatewayv1.RouteReasonRefNotPermitted, fmt.Sprintf("Service %s is of type ExternalName, which this GatewayClass does not allow as a backend (a cluster admin can set %s: \"true\" in the GatewayClass parameters)", nn, managed.ParamAllowExternalNameBackends)
		}
		res, ok := s.ExternalNames[svc.Spec.ExternalName]
		if !ok || res.Err != nil {
			b.FailureStatus = 500
			why := "not resolved"
			if ok {
				why = res.Err.Error()
			}
			return b, gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("Service %s: ExternalName %q: %s", nn, svc.Spec.ExternalName, why)
		}
		if err := policy.checkAll(res.Addrs); err != nil {
			b.FailureStatus = 500
			return b, gatewayv1.RouteReasonRefNotPermitted, fmt.Sprintf("Service %s: ExternalName %q: %v, which a route may not send traffic to", nn, svc.Spec.ExternalName, err)
		}
		for _, a := range res.Addrs {
			b.Endpoints = append(b.Endpoints, netip.AddrPortFrom(a, uint16(port.Port)).String())
		}
		return b, "", ""
	}
	eps, addrs := endpointAddresses(s.EndpointSlices[nn], port)
	if err := policy.checkAll(addrs); err != nil {
		b.FailureStatus = 500
		return b, gatewayv1.RouteReasonRefNotPermitted, fmt.Sprintf("Service %s: endpoint %v, which a route may not send traffic to", nn, err)
	}
	b.Endpoints = eps
	if len(b.Endpoints) == 0 {
		b.FailureStatus = 503
	}
	return b, "", ""
}

// endpointAddresses returns the sorted "ip:port" of the ready endpoints serving a Service port,
// and their IP addresses for the address policy (an address that does not parse is returned
// as the zero Addr, which the policy refuses). EndpointSlices name their ports after the
// Service port, which is how the target port is found even when the Service's targetPort is
// a name.
func endpointAddresses(slices []*discoveryv1.EndpointSlice, sp *corev1.ServicePort) ([]string, []netip.Addr) {
	seen := map[string]bool{}
	var out []string
	var addrs []netip.Addr
	for _, slice := range slices {
		if slice.AddressType != discoveryv1.AddressTypeIPv4 && slice.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		var target int32
		for _, p := range slice.Ports {
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			if name == sp.Name && proto == corev1.ProtocolTCP && p.Port != nil {
				target = *p.Port
				break
			}
		}
		if target == 0 {
			continue
		}
		for _, ep := range slice.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, addr := range ep.Addresses {
				hp := net.JoinHostPort(addr, strconv.Itoa(int(target)))
				if !seen[hp] {
					seen[hp] = true
					out = append(out, hp)
					a, _ := netip.ParseAddr(addr)
					addrs = append(addrs, a)
				}
			}
		}
	}
	sort.Strings(out)
	return out, addrs
}
