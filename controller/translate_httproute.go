package controller

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

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
// the route is accepted and to which listeners, adds its rules to those listeners, and returns
// the parent status entries.
func attachHTTPRoute(s *Snapshot, opts TranslateOptions, listeners []*listener, r *gatewayv1.HTTPRoute) []gatewayv1.RouteParentStatus {
	var out []gatewayv1.RouteParentStatus
	gen := r.Generation
	var rules []*RouteRule // built lazily: only routes with an accepted parent need them
	var routeProblem *routeCondition
	var refsCond metav1.Condition
	built := false

	for _, p := range r.Spec.ParentRefs {
		if !parentSelectsGateway(p, r.Namespace, s.Gateway) {
			continue
		}
		entry := gatewayv1.RouteParentStatus{ParentRef: p, ControllerName: opts.ControllerName}
		if !built {
			rules, routeProblem, refsCond = buildHTTPRouteRules(s, r)
			built = true
		}

		matched, reason, msg := selectListeners(s, listeners, p, r)
		var accepted metav1.Condition
		switch {
		case len(matched) == 0:
			accepted = condition(gatewayv1.RouteConditionAccepted, false, reason, msg, gen)
		case routeProblem != nil:
			accepted = condition(gatewayv1.RouteConditionAccepted, false, routeProblem.reason, routeProblem.message, gen)
		default:
			accepted = condition(gatewayv1.RouteConditionAccepted, true, gatewayv1.RouteReasonAccepted, "route accepted", gen)
			for _, m := range matched {
				m.l.status.AttachedRoutes++
				if m.l.served {
					addRules(m.l, m.hostnames, rules)
				}
			}
		}
		entry.Conditions = []metav1.Condition{accepted, refsCond}
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

// buildHTTPRouteRules validates a route and expands it into one RouteRule per match. It returns
// a problem that prevents acceptance (unsupported values) and the ResolvedRefs condition.
func buildHTTPRouteRules(s *Snapshot, r *gatewayv1.HTTPRoute) ([]*RouteRule, *routeCondition, metav1.Condition) {
	gen := r.Generation
	nn := types.NamespacedName{Namespace: r.Namespace, Name: r.Name}
	var rules []*RouteRule
	var problem *routeCondition
	refsReason, refsMsg := gatewayv1.RouteReasonResolvedRefs, "all references resolved"
	setProblem := func(format string, args ...any) {
		if problem == nil {
			problem = &routeCondition{reason: gatewayv1.RouteReasonUnsupportedValue, message: fmt.Sprintf(format, args...)}
		}
	}

	for ri, rule := range r.Spec.Rules {
		if err := validateFilters(rule.Filters); err != nil {
			if _, incompatible := err.(incompatibleFiltersError); incompatible {
				if problem == nil {
					problem = &routeCondition{reason: gatewayv1.RouteReasonIncompatibleFilters, message: fmt.Sprintf("rule %d: %v", ri, err)}
				}
			} else {
				setProblem("rule %d: %v", ri, err)
			}
			continue
		}
		var backends []Backend
		for _, ref := range rule.BackendRefs {
			b, reason, msg := resolveBackend(s, r, ref)
			if reason != "" && refsReason == gatewayv1.RouteReasonResolvedRefs {
				refsReason, refsMsg = reason, msg
			}
			if len(ref.Filters) > 0 {
				if err := validateFilters(ref.Filters); err != nil {
					setProblem("rule %d backendRef %s: %v", ri, ref.Name, err)
				}
				// Kengine picks the upstream inside one proxy handler, after the filters ran,
				// so per-backend filters can only be honoured when there is one backend.
				if len(rule.BackendRefs) > 1 {
					setProblem("rule %d backendRef %s: backendRef filters are supported only on rules with a single backendRef", ri, ref.Name)
				}
			}
			backends = append(backends, b)
		}
		matches := rule.Matches
		if len(matches) == 0 {
			matches = []gatewayv1.HTTPRouteMatch{{}}
		}
		for mi, m := range matches {
			m = normalizeMatch(m)
			if err := validateMatch(m); err != nil {
				setProblem("rule %d match %d: %v", ri, mi, err)
				continue
			}
			rules = append(rules, &RouteRule{
				Route: nn, RuleIndex: ri, MatchIndex: mi, Match: m,
				Filters: rule.Filters, Backends: backends,
				created: r.CreationTimestamp,
			})
		}
	}
	refs := condition(gatewayv1.RouteConditionResolvedRefs, refsReason == gatewayv1.RouteReasonResolvedRefs, refsReason, refsMsg, gen)
	return rules, problem, refs
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
		if _, err := regexp.Compile(*m.Path.Value); err != nil {
			return fmt.Errorf("invalid path regular expression: %v", err)
		}
	default:
		return fmt.Errorf("path match type %q is not supported", *m.Path.Type)
	}
	for _, h := range m.Headers {
		if h.Type != nil && *h.Type == gatewayv1.HeaderMatchRegularExpression {
			if _, err := regexp.Compile(h.Value); err != nil {
				return fmt.Errorf("invalid header regular expression: %v", err)
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
func resolveBackend(s *Snapshot, r *gatewayv1.HTTPRoute, ref gatewayv1.HTTPBackendRef) (Backend, gatewayv1.RouteConditionReason, string) {
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
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		b.Endpoints = []string{net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(port.Port)))}
		return b, "", ""
	}
	b.Endpoints = endpointAddresses(s.EndpointSlices[nn], port)
	if len(b.Endpoints) == 0 {
		b.FailureStatus = 503
	}
	return b, "", ""
}

// endpointAddresses returns the sorted "ip:port" of the ready endpoints serving a Service port.
// EndpointSlices name their ports after the Service port, which is how the target port is
// found even when the Service's targetPort is a name.
func endpointAddresses(slices []*discoveryv1.EndpointSlice, sp *corev1.ServicePort) []string {
	seen := map[string]bool{}
	var out []string
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
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
