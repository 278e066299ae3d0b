package translate

import (
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/controller/status"
)

// httpRoute is an HTTPRoute seen through the route interface.
type httpRoute struct{ r *gatewayv1.HTTPRoute }

func (h httpRoute) kind() gatewayv1.Kind                    { return KindHTTPRoute }
func (h httpRoute) object() metav1.Object                   { return h.r }
func (h httpRoute) meta() *metav1.ObjectMeta                { return &h.r.ObjectMeta }
func (h httpRoute) parentRefs() []gatewayv1.ParentReference { return h.r.Spec.ParentRefs }
func (h httpRoute) hostnames() []gatewayv1.Hostname         { return h.r.Spec.Hostnames }

// httpRule is one match of one valid HTTPRoute rule, resolved into the model. A rule with
// several matches gives several httpRules, because precedence is defined per match.
type httpRule struct {
	// route is the model route; with a redirect, it is completed per listener (see forListener).
	route *ir.HTTPRoute
	// redirect is the rule's RequestRedirect, whose scheme and port depend on the listener.
	redirect *gatewayv1.HTTPRequestRedirectFilter
	// redirectPath is the redirect's path rewrite, already resolved.
	redirectPath *ir.PathRewrite
	// key orders the rule among the others of its host.
	key precedence
}

// forListener returns the model route for a listener: the shared one, or for a redirect a
// copy whose scheme and port follow the listener.
func (r *httpRule) forListener(l *listener) *ir.HTTPRoute {
	if r.redirect == nil {
		return r.route
	}
	c := *r.route
	c.Redirect = resolveRedirect(r.redirect, r.redirectPath, int(l.spec.Port), l.spec.Protocol == gatewayv1.HTTPSProtocolType)
	return &c
}

// build validates the route and expands it into one httpRule per match. A rule with an
// unsupported or invalid value is dropped on its own, and a rule with a filter that cannot be
// applied answers 500 on its matches; a route without any rule left, with an invalid
// hostname, or with a value the spec says rejects the route is not accepted.
func (h httpRoute) build(t *translator) *builtRoute {
	r := h.r
	out := &builtRoute{problem: t.routeProblem(h)}
	refsReason, refsMsg := gatewayv1.RouteReasonResolvedRefs, "all references resolved"
	var rules []*httpRule
	for ri, rule := range r.Spec.Rules {
		label := ruleLabel(ri, rule.Name)
		built, err := t.httpRule(h, ri, rule)
		var rejected routeRejectedError
		if errors.As(err, &rejected) {
			if out.problem == nil {
				out.problem = &routeCondition{reason: rejected.reason, message: status.Truncate(fmt.Sprintf("%s: %v", label, err))}
			}
			continue
		}
		if err != nil {
			out.dropped = append(out.dropped, fmt.Sprintf("%s: %v", label, err))
			continue
		}
		if built.failing != "" {
			out.failing = append(out.failing, fmt.Sprintf("%s: %s", label, built.failing))
		}
		if built.refsReason != "" && refsReason == gatewayv1.RouteReasonResolvedRefs {
			refsReason, refsMsg = built.refsReason, built.refsMsg
		}
		rules = append(rules, built.rules...)
	}
	if out.problem == nil && len(r.Spec.Rules) > 0 && len(out.dropped) == len(r.Spec.Rules) {
		out.problem = &routeCondition{reason: gatewayv1.RouteReasonUnsupportedValue, message: status.Truncate("no valid rule: " + strings.Join(out.dropped, "; "))}
	}
	out.refs = status.Condition(gatewayv1.RouteConditionResolvedRefs, refsReason == gatewayv1.RouteReasonResolvedRefs, refsReason, refsMsg, r.Generation)
	out.attach = func(l *listener, hostnames []string) {
		for _, hn := range hostnames {
			vh := l.vhosts[hn]
			if vh == nil {
				vh = &vhost{hostname: hn}
				l.vhosts[hn] = vh
			}
			for _, rule := range rules {
				vh.rules = append(vh.rules, placedRule{route: rule.forListener(l), key: &rule.key})
			}
		}
	}
	return out
}

// ruleLabel names a rule in status messages: its index, and its name when it has one.
func ruleLabel(index int, name *gatewayv1.SectionName) string {
	if name == nil || *name == "" {
		return fmt.Sprintf("rule %d", index)
	}
	return fmt.Sprintf("rule %d (%s)", index, *name)
}

// builtRule is one valid HTTPRoute rule.
type builtRule struct {
	rules []*httpRule
	// refsReason and refsMsg explain the first backendRef that did not resolve.
	refsReason gatewayv1.RouteConditionReason
	refsMsg    string
	// failing says why some or all of the rule's requests are answered with 500 instead of
	// being forwarded (a filter that cannot be applied); empty when none is.
	failing string
}

// backendPlan is a backendRef resolved, with the filters that apply only to its requests.
type backendPlan struct {
	ref     *gatewayv1.HTTPBackendRef
	backend ir.Backend
}

// httpRule validates one rule and resolves it into the model; an error drops the rule (or,
// for routeRejectedError, rejects the route).
func (t *translator) httpRule(h httpRoute, ri int, rule gatewayv1.HTTPRouteRule) (*builtRule, error) {
	r := h.r
	if rule.SessionPersistence != nil {
		return nil, errors.New("sessionPersistence is not implemented by this controller")
	}
	matches := rule.Matches
	if len(matches) == 0 {
		matches = []gatewayv1.HTTPRouteMatch{{}}
	}
	normalized := make([]gatewayv1.HTTPRouteMatch, len(matches))
	resolved := make([]ir.HTTPMatch, len(matches))
	for mi, m := range matches {
		normalized[mi] = normalizeMatch(m)
		match, err := httpMatch(normalized[mi])
		if err != nil {
			return nil, fmt.Errorf("match %d: %w", mi, err)
		}
		resolved[mi] = match
	}
	if err := checkPrefixRewrites(rule, resolved); err != nil {
		return nil, err
	}

	out := &builtRule{}
	// A filter that cannot be applied must not be skipped: the requests it would have
	// processed are answered with 500 (HTTPRouteFilter). On the rule, that is all of them.
	unservable, err := classifyFilters(rule.Filters)
	if err != nil {
		return nil, err
	}
	if unservable != "" {
		out.failing = unservable
		for mi := range matches {
			out.rules = append(out.rules, t.newHTTPRule(r, ri, rule.Name, mi, normalized[mi], resolved[mi]))
			out.rules[mi].route.Response = &ir.DirectResponse{StatusCode: 500}
		}
		return out, nil
	}
	timeouts, retry, err := forwardingPolicy(rule)
	if err != nil {
		return nil, err
	}

	// Backends: resolved once, with the filters of each backendRef checked here.
	plans := make([]backendPlan, 0, len(rule.BackendRefs))
	several := len(rule.BackendRefs) > 1
	mergeBackendFilters := false // the single backendRef's filters run as rule filters
	for i := range rule.BackendRefs {
		ref := &rule.BackendRefs[i]
		b, reason, msg := t.resolveBackend(h, ref.BackendRef)
		if reason != "" && out.refsReason == "" {
			out.refsReason, out.refsMsg = reason, msg
		}
		if len(ref.Filters) > 0 {
			why, err := classifyFilters(ref.Filters)
			if err != nil {
				var rejected routeRejectedError
				if errors.As(err, &rejected) {
					return nil, err
				}
				return nil, fmt.Errorf("backendRef %s: %w", ref.Name, err)
			}
			if why != "" {
				// Only this backend's share is answered with 500.
				b.Failure = 500
				if out.failing == "" {
					out.failing = fmt.Sprintf("backendRef %s: %s", ref.Name, why)
				}
			}
			if several && hasFilter(ref.Filters, gatewayv1.HTTPRouteFilterRequestRedirect) {
				return nil, fmt.Errorf("backendRef %s: a requestRedirect filter on one of several backendRefs would answer its share of the requests instead of forwarding them; use it on the rule", ref.Name)
			}
			mergeBackendFilters = !several && why == ""
		}
		if b.Weight > 0 {
			plans = append(plans, backendPlan{ref: ref, backend: b})
		}
	}

	for mi := range matches {
		hr := t.newHTTPRule(r, ri, rule.Name, mi, normalized[mi], resolved[mi])
		filters := rule.Filters
		if mergeBackendFilters {
			// With one backend, its filters run on every forwarded request: they behave
			// exactly like rule filters that run after the rule's own.
			filters = append(append([]gatewayv1.HTTPRouteFilter{}, rule.Filters...), rule.BackendRefs[0].Filters...)
		}
		irFilters, redirect, redirectPath, err := httpFilters(filters, resolved[mi])
		if err != nil {
			return nil, err
		}
		hr.route.Filters = irFilters
		hr.redirect, hr.redirectPath = redirect, redirectPath
		switch {
		case redirect != nil:
			// A redirect answers itself; its backends (resolved for status) are never used.
		case len(plans) == 0:
			// No backendRefs, or every weight is zero: nothing may receive the request.
			hr.route.Response = &ir.DirectResponse{StatusCode: 500}
		default:
			backends := make([]ir.Backend, len(plans))
			for i := range plans {
				p := &plans[i]
				backends[i] = p.backend
				if !several || len(p.ref.Filters) == 0 || p.backend.Failure != 0 {
					continue
				}
				bf, _, _, err := httpFilters(p.ref.Filters, resolved[mi])
				if err != nil {
					return nil, fmt.Errorf("backendRef %s: %w", p.ref.Name, err)
				}
				backends[i].Filters = bf
			}
			hr.route.Backends = backends
			hr.route.Timeouts, hr.route.Retry = timeouts, retry
		}
		out.rules = append(out.rules, hr)
	}
	return out, nil
}

// newHTTPRule starts the model route of one match of a rule.
func (t *translator) newHTTPRule(r *gatewayv1.HTTPRoute, ri int, name *gatewayv1.SectionName, mi int, normalized gatewayv1.HTTPRouteMatch, match ir.HTTPMatch) *httpRule {
	src := ir.Source{Kind: string(KindHTTPRoute), Namespace: r.Namespace, Name: r.Name, Rule: ri, Match: mi}
	if name != nil {
		src.RuleName = string(*name)
	}
	return &httpRule{
		route: &ir.HTTPRoute{Source: src, Match: match},
		key:   precedenceOf(normalized, match, r, ri, mi),
	}
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
