package translate

import (
	"fmt"
	"regexp"
	"regexp/syntax"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// A gRPC call is an HTTP/2 POST to "/<service>/<method>", so a GRPCRoute match is an HTTPRoute
// match on that path and on headers. It is written as one and validated by httpMatch, with the
// escapers and the regular expression limits render uses: a value accepted here is a value
// Kengine compiles with its meaning intact.

// The syntax the GRPCRoute CRD enforces on Exact values, checked again because an object may
// reach the controller without that validation (an older CRD, a direct write to etcd). Names
// of this syntax hold nothing a path regular expression or a placeholder could read.
var (
	grpcServiceSyntax = regexp.MustCompile(`^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$`)
	grpcMethodSyntax  = regexp.MustCompile(`^[A-Za-z_][A-Za-z_0-9]*$`)
)

// grpcAnySegment stands for a service or method a match leaves open.
const grpcAnySegment = `[^/]+`

// grpcMatch validates a GRPCRoute match and resolves it into the model, with the counts its
// precedence depends on (service and method characters, header matches).
func grpcMatch(m gatewayv1.GRPCRouteMatch) (ir.HTTPMatch, grpcPrecedence, error) {
	var key grpcPrecedence
	path, err := grpcPath(m.Method)
	if err != nil {
		return ir.HTTPMatch{}, key, err
	}
	if m.Method != nil {
		key.service, key.method = len(deref(m.Method.Service)), len(deref(m.Method.Method))
	}
	hm := gatewayv1.HTTPRouteMatch{Path: path}
	for _, h := range m.Headers {
		t := gatewayv1.HeaderMatchExact
		if h.Type != nil {
			switch *h.Type {
			case gatewayv1.GRPCHeaderMatchExact:
			case gatewayv1.GRPCHeaderMatchRegularExpression:
				t = gatewayv1.HeaderMatchRegularExpression
			default:
				return ir.HTTPMatch{}, key, fmt.Errorf("header match type %q is not supported", *h.Type)
			}
		}
		hm.Headers = append(hm.Headers, gatewayv1.HTTPHeaderMatch{Type: &t, Name: gatewayv1.HTTPHeaderName(h.Name), Value: h.Value})
	}
	match, err := httpMatch(hm)
	if err != nil {
		return ir.HTTPMatch{}, key, err
	}
	key.headers = len(match.Headers) // repeated names count once, as they match once
	return match, key, nil
}

// grpcPath turns a method match into the path match it stands for: Exact service and method
// are the exact path, an Exact service alone is the path prefix "/<service>" (whole segments),
// and every other form is a regular expression over the whole path in which each named part
// must match its whole segment.
func grpcPath(mm *gatewayv1.GRPCMethodMatch) (*gatewayv1.HTTPPathMatch, error) {
	pathMatch := func(t gatewayv1.PathMatchType, v string) *gatewayv1.HTTPPathMatch {
		return &gatewayv1.HTTPPathMatch{Type: &t, Value: &v}
	}
	if mm == nil {
		return pathMatch(gatewayv1.PathMatchPathPrefix, "/"), nil
	}
	service, method := deref(mm.Service), deref(mm.Method)
	if service == "" && method == "" {
		return nil, fmt.Errorf("method match names neither a service nor a method")
	}
	t := gatewayv1.GRPCMethodMatchExact
	if mm.Type != nil {
		t = *mm.Type
	}
	switch t {
	case gatewayv1.GRPCMethodMatchExact:
		if service != "" && !grpcServiceSyntax.MatchString(service) {
			return nil, fmt.Errorf("service %q is not a gRPC service name", service)
		}
		if method != "" && !grpcMethodSyntax.MatchString(method) {
			return nil, fmt.Errorf("method %q is not a gRPC method name", method)
		}
		switch {
		case method == "":
			return pathMatch(gatewayv1.PathMatchPathPrefix, "/"+service), nil
		case service == "":
			return pathMatch(gatewayv1.PathMatchRegularExpression, "/"+grpcAnySegment+"/"+regexp.QuoteMeta(method)), nil
		}
		return pathMatch(gatewayv1.PathMatchExact, "/"+service+"/"+method), nil
	case gatewayv1.GRPCMethodMatchRegularExpression:
		s, err := grpcSegmentRegexp("service", service)
		if err != nil {
			return nil, err
		}
		m, err := grpcSegmentRegexp("method", method)
		if err != nil {
			return nil, err
		}
		value := "/" + s + "/" + m
		if err := checkRegexpCost(kengine.WholeValueRegexp(value)); err != nil {
			return nil, fmt.Errorf("method match regular expression (as the path %q): %v", value, err)
		}
		return pathMatch(gatewayv1.PathMatchRegularExpression, value), nil
	}
	return nil, fmt.Errorf("method match type %q is not supported", t)
}

// grpcSegmentRegexp is the part of the path expression for a service or method expression.
// The expression must parse on its own: then it is a balanced group whose flags end with it,
// and the group around it keeps its meaning (an unterminated \Q, for one, cannot swallow the
// rest of the path).
func grpcSegmentRegexp(what, expr string) (string, error) {
	if expr == "" {
		return grpcAnySegment, nil
	}
	if _, err := syntax.Parse(expr, syntax.Perl); err != nil {
		return "", fmt.Errorf("%s regular expression: %v", what, err)
	}
	return "(?:" + expr + ")", nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// grpcPrecedence orders a GRPCRoute match among the others of its host (hostnames are
// ordered before, by the host they answer), by the GRPCRoute precedence of the Gateway API.
type grpcPrecedence struct {
	service, method, headers int
	tieBreak
}

// less orders by the most characters in the service, then in the method, then the most
// header matches; ties go to the oldest route, then to the route first by namespace and name,
// then to the first rule and match in list order.
func (a *grpcPrecedence) less(b *grpcPrecedence) bool {
	if a.service != b.service {
		return a.service > b.service
	}
	if a.method != b.method {
		return a.method > b.method
	}
	if a.headers != b.headers {
		return a.headers > b.headers
	}
	return a.tieBreak.less(&b.tieBreak)
}
