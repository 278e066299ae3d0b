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
// unsupported or invalid value is dropped on its own; a route without any valid rule, with an
// invalid hostname or with incompatible filters is rejected as a whole.
func (h httpRoute) build(t *translator) *builtRoute {
	r := h.r
	out := &builtRoute{}
	refsReason, refsMsg := gatewayv1.RouteReasonResolvedRefs, "all references resolved"

	if msg, excluded := t.s.Excluded[RouteRef(string(KindHTTPRoute), r.Namespace, r.Name)]; excluded {
		out.problem = &routeCondition{reason: gatewayv1.RouteReasonUnsupportedValue, message: status.Truncate("Kengine refused the Gateway's config with this route: " + msg)}
	}
	for _, hn := range r.Spec.Hostnames {
		if err := checkHostname(string(hn)); err != nil && out.problem == nil {
			out.problem = &routeCondition{reason: gatewayv1.RouteReasonUnsupportedValue, message: err.Error()}
		}
	}
	var rules []*httpRule
	for ri, rule := range r.Spec.Rules {
		built, err := t.httpRule(h, ri, rule)
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

// builtRule is one valid HTTPRoute rule.
type builtRule struct {
	rules []*httpRule
	// refsReason and refsMsg explain the first backendRef that did not resolve.
	refsReason gatewayv1.RouteConditionReason
	refsMsg    string
}

// httpRule validates one rule and resolves it into the model; an error drops the rule (or,
// for incompatibleFiltersError, rejects the route).
func (t *translator) httpRule(h httpRoute, ri int, rule gatewayv1.HTTPRouteRule) (*builtRule, error) {
	if rule.Timeouts != nil {
		return nil, fmt.Errorf("timeouts are not supported yet")
	}
	if rule.Retry != nil {
		return nil, fmt.Errorf("retry is not supported yet")
	}
	if rule.SessionPersistence != nil {
		return nil, fmt.Errorf("sessionPersistence is not supported yet")
	}
	if err := checkFilterTypes(rule.Filters); err != nil {
		return nil, err
	}
	filters := rule.Filters
	for _, ref := range rule.BackendRefs {
		if len(ref.Filters) == 0 {
			continue
		}
		if err := checkFilterTypes(ref.Filters); err != nil {
			var incompatible incompatibleFiltersError
			if errors.As(err, &incompatible) {
				return nil, err
			}
			return nil, fmt.Errorf("backendRef %s: %w", ref.Name, err)
		}
		// Kengine picks the upstream inside one proxy handler, after the filters ran, so
		// per-backend filters can only be honoured when there is one backend; they then
		// behave exactly like rule filters that run after the rule's own.
		if len(rule.BackendRefs) > 1 {
			return nil, fmt.Errorf("backendRef %s: backendRef filters are supported only on rules with a single backendRef", ref.Name)
		}
		filters = append(append([]gatewayv1.HTTPRouteFilter{}, rule.Filters...), ref.Filters...)
	}

	matches := rule.Matches
	if len(matches) == 0 {
		matches = []gatewayv1.HTTPRouteMatch{{}}
	}
	r := h.r
	out := &builtRule{}
	for mi, m := range matches {
		m = normalizeMatch(m)
		match, err := httpMatch(m)
		if err != nil {
			return nil, fmt.Errorf("match %d: %w", mi, err)
		}
		irFilters, redirect, redirectPath, err := httpFilters(filters, match)
		if err != nil {
			return nil, err
		}
		out.rules = append(out.rules, &httpRule{
			route: &ir.HTTPRoute{
				Source:  ir.Source{Kind: string(KindHTTPRoute), Namespace: r.Namespace, Name: r.Name, Rule: ri, Match: mi},
				Match:   match,
				Filters: irFilters,
			},
			redirect:     redirect,
			redirectPath: redirectPath,
			key:          precedenceOf(m, match, r, ri, mi),
		})
	}
	var backends []ir.Backend
	for _, ref := range rule.BackendRefs {
		b, reason, msg := t.resolveBackend(h, ref.BackendRef)
		if reason != "" && out.refsReason == "" {
			out.refsReason, out.refsMsg = reason, msg
		}
		if b.Weight > 0 {
			backends = append(backends, b)
		}
	}
	for _, hr := range out.rules {
		switch {
		case hr.redirect != nil:
			// A redirect answers itself; its backends (resolved for status) are never used.
		case len(backends) == 0:
			// No backendRefs, or every weight is zero: nothing may receive the request.
			hr.route.Response = &ir.DirectResponse{StatusCode: 500}
		default:
			hr.route.Backends = backends
		}
	}
	return out, nil
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

// incompatibleFiltersError marks filter combinations the spec forbids.
type incompatibleFiltersError struct{ msg string }

func (e incompatibleFiltersError) Error() string { return e.msg }

// checkFilterTypes refuses filter types the controller does not implement and combinations
// the spec forbids.
func checkFilterTypes(filters []gatewayv1.HTTPRouteFilter) error {
	redirect, rewrite := false, false
	for _, f := range filters {
		switch f.Type {
		case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
			if f.RequestHeaderModifier == nil {
				return fmt.Errorf("requestHeaderModifier filter without configuration")
			}
		case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
			if f.ResponseHeaderModifier == nil {
				return fmt.Errorf("responseHeaderModifier filter without configuration")
			}
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
