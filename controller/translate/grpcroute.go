package translate

import (
	"fmt"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/controller/status"
)

// grpcRoute is a GRPCRoute seen through the route interface. Its rules become model routes of
// the same HTTP servers HTTPRoutes use: a gRPC call is an HTTP/2 request, forwarded over h2c.
type grpcRoute struct{ r *gatewayv1.GRPCRoute }

func (g grpcRoute) kind() gatewayv1.Kind                    { return KindGRPCRoute }
func (g grpcRoute) object() metav1.Object                   { return g.r }
func (g grpcRoute) meta() *metav1.ObjectMeta                { return &g.r.ObjectMeta }
func (g grpcRoute) parentRefs() []gatewayv1.ParentReference { return g.r.Spec.ParentRefs }
func (g grpcRoute) hostnames() []gatewayv1.Hostname         { return g.r.Spec.Hostnames }

// grpcRule is one match of one valid GRPCRoute rule, resolved into the model, with the key that
// orders it among the rules of its host.
type grpcRule struct {
	route *ir.HTTPRoute
	key   grpcPrecedence
}

// grpcUnavailable is the HTTP status a gRPC client reads as UNAVAILABLE, which the GRPCRoute
// specification asks for where a backend is invalid (HTTP routes answer 500 there).
const grpcUnavailable = http.StatusServiceUnavailable

// build validates the route and expands it into one grpcRule per match. A rule with an
// unsupported or invalid value is dropped on its own; a route without any valid rule, or with
// an invalid hostname, is rejected as a whole. A rule's name needs nothing of the model: it
// is accepted and only names the rule.
func (g grpcRoute) build(t *translator) *builtRoute {
	r := g.r
	out := &builtRoute{problem: t.routeProblem(g)}
	refsReason, refsMsg := gatewayv1.RouteReasonResolvedRefs, "all references resolved"
	var rules []*grpcRule
	for ri, rule := range r.Spec.Rules {
		built, err := t.grpcRule(g, ri, rule)
		if err != nil {
			out.dropped = append(out.dropped, fmt.Sprintf("rule %d: %v", ri, err))
			continue
		}
		if built.refsReason != "" && refsReason == gatewayv1.RouteReasonResolvedRefs {
			refsReason, refsMsg = built.refsReason, built.refsMsg
		}
		if built.failing != "" {
			out.failing = append(out.failing, fmt.Sprintf("rule %d: %s", ri, built.failing))
		}
		rules = append(rules, built.rules...)
	}
	if out.problem == nil && len(r.Spec.Rules) > 0 && len(out.dropped) == len(r.Spec.Rules) {
		out.problem = &routeCondition{reason: gatewayv1.RouteReasonUnsupportedValue, message: status.Truncate("no valid rule: " + strings.Join(out.dropped, "; "))}
	}
	out.refs = status.Condition(gatewayv1.RouteConditionResolvedRefs, refsReason == gatewayv1.RouteReasonResolvedRefs, refsReason, refsMsg, r.Generation)
	out.attach = func(l *listener, hostnames []string) {
		for _, hn := range hostnames {
			vh := l.vhost(hn)
			for _, rule := range rules {
				vh.rules = append(vh.rules, placedRule{route: rule.route, grpc: &rule.key})
			}
		}
	}
	return out
}

// builtGRPCRule is one valid GRPCRoute rule.
type builtGRPCRule struct {
	rules []*grpcRule
	// refsReason and refsMsg explain the first backendRef that did not resolve.
	refsReason gatewayv1.RouteConditionReason
	refsMsg    string
	// failing says why the rule's calls get an error instead of being forwarded.
	failing string
}

// grpcRule validates one rule and resolves it into the model; an error drops the rule.
func (t *translator) grpcRule(g grpcRoute, ri int, rule gatewayv1.GRPCRouteRule) (*builtGRPCRule, error) {
	if rule.SessionPersistence != nil {
		return nil, fmt.Errorf("sessionPersistence is not supported yet")
	}
	filters, unservable, err := grpcFilters(rule.Filters)
	if err != nil {
		return nil, err
	}
	for _, ref := range rule.BackendRefs {
		if len(ref.Filters) == 0 {
			continue
		}
		// As for HTTPRoute: Kengine picks the upstream after the filters ran, so a backend's
		// own filters are honoured only when it is the rule's one backend.
		if len(rule.BackendRefs) > 1 {
			return nil, fmt.Errorf("backendRef %s: backendRef filters are supported only on rules with a single backendRef", ref.Name)
		}
		own, ownUnservable, err := grpcFilters(ref.Filters)
		if err != nil {
			return nil, fmt.Errorf("backendRef %s: %w", ref.Name, err)
		}
		if unservable == "" && ownUnservable != "" {
			unservable = fmt.Sprintf("backendRef %s: %s", ref.Name, ownUnservable)
		}
		filters = append(filters, own...)
	}

	r := g.r
	out := &builtGRPCRule{}
	matches := rule.Matches
	if len(matches) == 0 {
		matches = []gatewayv1.GRPCRouteMatch{{}}
	}
	for mi, m := range matches {
		match, key, err := grpcMatch(m)
		if err != nil {
			return nil, fmt.Errorf("match %d: %w", mi, err)
		}
		key.tieBreak = tieBreakOf(&r.ObjectMeta, ri, mi)
		out.rules = append(out.rules, &grpcRule{
			route: &ir.HTTPRoute{
				Source:  ir.Source{Kind: string(KindGRPCRoute), Namespace: r.Namespace, Name: r.Name, Rule: ri, Match: mi},
				Match:   match,
				Filters: filters,
			},
			key: key,
		})
	}

	var backends []ir.Backend
	for _, ref := range rule.BackendRefs {
		b, reason, msg := t.resolveBackend(g, ref.BackendRef)
		if reason == "" && b.TLS != nil {
			// Kengine's h2c transport has no TLS, and gRPC needs HTTP/2.
			reason, msg = gatewayv1.RouteReasonUnsupportedProtocol, fmt.Sprintf("backendRef %s: gRPC to a backend over TLS is not supported", ref.Name)
			b.TLS, b.Endpoints, b.Failure = nil, nil, grpcUnavailable
		}
		if reason != "" && out.refsReason == "" {
			out.refsReason, out.refsMsg = reason, msg
		}
		if b.Failure != 0 {
			b.Failure = grpcUnavailable
		}
		b.Protocol = ir.H2C
		if b.Weight > 0 {
			backends = append(backends, b)
		}
	}
	out.failing = unservable
	for _, gr := range out.rules {
		switch {
		case unservable != "":
			// A filter Kengine cannot apply is never skipped: its calls get an error.
			gr.route.Filters, gr.route.Response = nil, &ir.DirectResponse{StatusCode: http.StatusInternalServerError}
		case len(backends) == 0:
			// No backendRefs, or every weight is zero: nothing may receive the call.
			gr.route.Response = &ir.DirectResponse{StatusCode: grpcUnavailable}
		default:
			gr.route.Backends = backends
		}
	}
	return out, nil
}

// unservableGRPCFilters says, for each GRPCRoute filter type the API defines and Kengine's
// standard handlers cannot apply, what is missing. GRPCRouteFilter forbids skipping such a
// filter: the calls it would process get an HTTP error.
var unservableGRPCFilters = map[gatewayv1.GRPCRouteFilterType]string{
	gatewayv1.GRPCRouteFilterRequestMirror: unservableFilters[gatewayv1.HTTPRouteFilterRequestMirror],
	gatewayv1.GRPCRouteFilterExtensionRef:  unservableFilters[gatewayv1.HTTPRouteFilterExtensionRef],
}

// grpcFilters validates a rule's (or a backend's) filters and resolves them, in order, into
// the model. The header modifiers are HTTPRoute's, checked by the same headerEdits. A filter
// type the API defines but Kengine cannot apply is returned in unservable (its calls must get
// an error, never skip it); a type the API does not define is an error.
func grpcFilters(filters []gatewayv1.GRPCRouteFilter) (out []ir.HTTPFilter, unservable string, err error) {
	for _, f := range filters {
		switch f.Type {
		case gatewayv1.GRPCRouteFilterRequestHeaderModifier:
			if f.RequestHeaderModifier == nil {
				return nil, "", fmt.Errorf("requestHeaderModifier filter without configuration")
			}
			edits, err := headerEdits(f.RequestHeaderModifier)
			if err != nil {
				return nil, "", err
			}
			out = append(out, ir.HTTPFilter{RequestHeaders: edits})
		case gatewayv1.GRPCRouteFilterResponseHeaderModifier:
			if f.ResponseHeaderModifier == nil {
				return nil, "", fmt.Errorf("responseHeaderModifier filter without configuration")
			}
			edits, err := headerEdits(f.ResponseHeaderModifier)
			if err != nil {
				return nil, "", err
			}
			out = append(out, ir.HTTPFilter{ResponseHeaders: edits})
		default:
			why, known := unservableGRPCFilters[f.Type]
			if !known {
				return nil, "", fmt.Errorf("filter type %q is not a GRPCRoute filter type", f.Type)
			}
			if unservable == "" {
				unservable = fmt.Sprintf("filter type %q: %s", f.Type, why)
			}
		}
	}
	return out, unservable, nil
}
