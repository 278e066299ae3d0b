package translate

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

func methodMatch(t gatewayv1.GRPCMethodMatchType, service, method string) gatewayv1.GRPCRouteMatch {
	mm := &gatewayv1.GRPCMethodMatch{}
	if t != "" {
		mm.Type = ptr.To(t)
	}
	if service != "" {
		mm.Service = ptr.To(service)
	}
	if method != "" {
		mm.Method = ptr.To(method)
	}
	return gatewayv1.GRPCRouteMatch{Method: mm}
}

// TestGRPCMatchPaths checks each form of method match against the path it stands for, and
// the path against gRPC request paths as Kengine compiles it (render's matcher for the kind).
func TestGRPCMatchPaths(t *testing.T) {
	const exact, re = gatewayv1.GRPCMethodMatchExact, gatewayv1.GRPCMethodMatchRegularExpression
	tests := []struct {
		name      string
		match     gatewayv1.GRPCRouteMatch
		want      ir.PathMatch
		admits    []string
		refuses   []string
		wantError string
	}{
		{name: "no method match", match: gatewayv1.GRPCRouteMatch{},
			want: ir.PathMatch{Kind: ir.PathPrefix}, admits: []string{"/a.B/C"}},
		{name: "service and method", match: methodMatch("", "echo.v1.Echo", "Echo"),
			want:   ir.PathMatch{Kind: ir.PathExact, Value: "/echo.v1.Echo/Echo"},
			admits: []string{"/echo.v1.Echo/Echo"}, refuses: []string{"/echo.v1.Echo/EchoTwo", "/echoXv1.Echo/Echo", "/echo.v1.Echo/echo"}},
		{name: "service only", match: methodMatch(exact, "echo.v1.Echo", ""),
			want:   ir.PathMatch{Kind: ir.PathPrefix, Value: "/echo.v1.Echo"},
			admits: []string{"/echo.v1.Echo/Echo", "/echo.v1.Echo/Other"}, refuses: []string{"/echo.v1.EchoAdmin/Echo", "/other.Echo/Echo"}},
		{name: "method only", match: methodMatch(exact, "", "Check"),
			want:   ir.PathMatch{Kind: ir.PathRegex, Value: "/[^/]+/Check"},
			admits: []string{"/grpc.health.v1.Health/Check"}, refuses: []string{"/a/b/Check", "/a.B/CheckAll", "//Check"}},
		{name: "leading dot service", match: methodMatch(exact, ".pkg.Svc", "M"),
			want: ir.PathMatch{Kind: ir.PathExact, Value: "/.pkg.Svc/M"}},
		{name: "regex service and method", match: methodMatch(re, `echo\.v[0-9]+\.Echo`, "Echo(Two)?"),
			want:   ir.PathMatch{Kind: ir.PathRegex, Value: `/(?:echo\.v[0-9]+\.Echo)/(?:Echo(Two)?)`},
			admits: []string{"/echo.v1.Echo/Echo", "/echo.v12.Echo/EchoTwo"}, refuses: []string{"/echo.v1.Echo/EchoThree", "/xecho.v1.Echo/Echo"}},
		{name: "regex service only matches the whole segment", match: methodMatch(re, "a|b", ""),
			want:   ir.PathMatch{Kind: ir.PathRegex, Value: `/(?:a|b)/[^/]+`},
			admits: []string{"/a/M", "/b/M"}, refuses: []string{"/ab/M", "/a/"}},
		{name: "regex method only", match: methodMatch(re, "", "Get.*"),
			want: ir.PathMatch{Kind: ir.PathRegex, Value: `/[^/]+/(?:Get.*)`}, admits: []string{"/s/GetX"}, refuses: []string{"/s/Put"}},
		{name: "regex flags end with their group", match: methodMatch(re, "(?i)echo", "Echo"),
			want: ir.PathMatch{Kind: ir.PathRegex, Value: `/(?:(?i)echo)/(?:Echo)`}, admits: []string{"/ECHO/Echo"}, refuses: []string{"/ECHO/ECHO"}},

		{name: "neither service nor method", match: methodMatch(exact, "", ""), wantError: "neither a service nor a method"},
		{name: "service with a slash", match: methodMatch(exact, "a/b", "M"), wantError: "not a gRPC service name"},
		{name: "service with a placeholder", match: methodMatch(exact, "{env.HOME}", "M"), wantError: "not a gRPC service name"},
		{name: "method with a placeholder", match: methodMatch(exact, "a.B", "{http.request.uri}"), wantError: "not a gRPC method name"},
		{name: "method with a regexp", match: methodMatch(exact, "a.B", "M.*"), wantError: "not a gRPC method name"},
		{name: "unknown method match type", match: methodMatch("Prefix", "a.B", ""), wantError: `method match type "Prefix" is not supported`},
		{name: "regex that would close its group", match: methodMatch(re, "a)|(.*", "M"), wantError: "service regular expression"},
		{name: "regex that would quote the rest of the path", match: methodMatch(re, `a\Q`, "M"), wantError: "method match regular expression"},
		{name: "regex that does not parse", match: methodMatch(re, "", "(M"), wantError: "method regular expression"},
		{name: "regex too long", match: methodMatch(re, strings.Repeat("a", 120), ""), wantError: "bytes long"},
		{name: "regex too costly", match: methodMatch(re, "(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*x", ""), wantError: "limit"},
		{name: "regex with a huge repetition", match: methodMatch(re, "(?:a{30}){30}", ""), wantError: "instructions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := grpcMatch(tt.match)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Path); diff != "" {
				t.Fatalf("path (-want +got):\n%s", diff)
			}
			re := pathRegexp(t, got.Path)
			for _, p := range tt.admits {
				if !re.MatchString(p) {
					t.Errorf("%s does not admit %s", re, p)
				}
			}
			for _, p := range tt.refuses {
				if re.MatchString(p) {
					t.Errorf("%s admits %s", re, p)
				}
			}
		})
	}
}

// pathRegexp is the expression Kengine compiles for a path match (render/match.go).
func pathRegexp(t *testing.T, p ir.PathMatch) *regexp.Regexp {
	t.Helper()
	switch p.Kind {
	case ir.PathExact:
		return regexp.MustCompile("^" + regexp.QuoteMeta(p.Value) + "$")
	case ir.PathPrefix:
		return regexp.MustCompile("^" + regexp.QuoteMeta(p.Value) + "(/.*)?$")
	case ir.PathRegex:
		if err := checkRegexpCost(kengine.WholeValueRegexp(p.Value)); err != nil {
			t.Fatalf("accepted a path Kengine would not compile within bounds: %v", err)
		}
		return regexp.MustCompile(kengine.WholeValueRegexp(p.Value))
	}
	t.Fatalf("unknown path kind %q", p.Kind)
	return nil
}

func TestGRPCMatchHeaders(t *testing.T) {
	h := func(t gatewayv1.GRPCHeaderMatchType, name, value string) gatewayv1.GRPCHeaderMatch {
		m := gatewayv1.GRPCHeaderMatch{Name: gatewayv1.GRPCHeaderName(name), Value: value}
		if t != "" {
			m.Type = ptr.To(t)
		}
		return m
	}
	m := gatewayv1.GRPCRouteMatch{Headers: []gatewayv1.GRPCHeaderMatch{
		h("", "version", "two"),
		h(gatewayv1.GRPCHeaderMatchRegularExpression, "color", "gr(e|a)y"),
		h(gatewayv1.GRPCHeaderMatchExact, "Version", "three"), // repeats "version": ignored
		h("", "x-user", "{env.HOME}"),                         // literal, as render writes it
	}}
	got, key, err := grpcMatch(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []ir.StringMatch{{Name: "Version", Value: "two"}, {Name: "Color", Regex: true, Value: "gr(e|a)y"}, {Name: "X-User", Value: "{env.HOME}"}}
	if diff := cmp.Diff(want, got.Headers); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if key.headers != 3 {
		t.Errorf("precedence counts %d header matches, want 3 (a repeated name counts once)", key.headers)
	}

	for _, bad := range []gatewayv1.GRPCHeaderMatch{
		h("Prefix", "color", "re"),
		h(gatewayv1.GRPCHeaderMatchRegularExpression, "color", "(a"),
		h(gatewayv1.GRPCHeaderMatchRegularExpression, "color", "(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*x"),
	} {
		if _, _, err := grpcMatch(gatewayv1.GRPCRouteMatch{Headers: []gatewayv1.GRPCHeaderMatch{bad}}); err == nil {
			t.Errorf("header match %+v accepted", bad)
		}
	}
}

// TestGRPCPrecedence orders matches as the GRPCRouteRule documentation says: characters in
// the service, then in the method, then header matches; then the oldest route, the first by
// namespace/name, and the first rule and match.
func TestGRPCPrecedence(t *testing.T) {
	older := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	newer := metav1.NewTime(older.Add(time.Hour))
	ordered := []grpcPrecedence{
		{service: 20, method: 0, headers: 0, tieBreak: tieBreak{created: newer}},
		{service: 12, method: 7, headers: 0, tieBreak: tieBreak{created: newer}},
		{service: 12, method: 4, headers: 2, tieBreak: tieBreak{created: newer}},
		{service: 12, method: 4, headers: 1, tieBreak: tieBreak{created: older, namespace: "b"}},
		{service: 12, method: 4, headers: 1, tieBreak: tieBreak{created: newer, namespace: "a"}},
		{service: 0, method: 5, headers: 0, tieBreak: tieBreak{created: older}},
		{service: 0, method: 0, headers: 3, tieBreak: tieBreak{created: older}},
		{tieBreak: tieBreak{created: older, namespace: "a", name: "z"}},
		{tieBreak: tieBreak{created: older, namespace: "b", name: "a"}},
		{tieBreak: tieBreak{created: older, namespace: "b", name: "b", ruleIndex: 0, matchIndex: 1}},
		{tieBreak: tieBreak{created: older, namespace: "b", name: "b", ruleIndex: 1, matchIndex: 0}},
	}
	for i := range ordered {
		for j := range ordered {
			if got, want := ordered[i].less(&ordered[j]), i < j; got != want {
				t.Errorf("entry %d less than entry %d = %v, want %v", i, j, got, want)
			}
		}
	}
}

// TestPlacedRuleOrderAcrossKinds: rules of both kinds never share a host, but if they did the
// order would be total and put GRPCRoute rules, which match only gRPC paths, first.
func TestPlacedRuleOrderAcrossKinds(t *testing.T) {
	httpCatchAll := placedRule{key: &precedence{pathRank: 1, pathLength: 1}}
	httpExact := placedRule{key: &precedence{pathRank: 0, pathLength: 10}}
	grpcAny := placedRule{grpc: &grpcPrecedence{}}
	grpcService := placedRule{grpc: &grpcPrecedence{service: 12}}
	ordered := []placedRule{grpcService, grpcAny, httpExact, httpCatchAll}
	for i := range ordered {
		for j := range ordered {
			if got, want := ordered[i].less(ordered[j]), i < j; got != want {
				t.Errorf("rule %d less than rule %d = %v, want %v", i, j, got, want)
			}
		}
	}
}

func TestHostnamesIntersect(t *testing.T) {
	tests := []struct {
		a, b []string
		want bool
	}{
		{[]string{""}, []string{"a.example.com"}, true},
		{[]string{"a.example.com"}, []string{"a.example.com"}, true},
		{[]string{"a.example.com"}, []string{"b.example.com"}, false},
		{[]string{"*.example.com"}, []string{"a.example.com"}, true},
		{[]string{"*.example.com"}, []string{"example.com"}, false},
		{[]string{"*.example.com"}, []string{"*.a.example.com"}, true},
		{[]string{"*.example.com"}, []string{"*.example.org"}, false},
		{[]string{"x.test", "a.example.com"}, []string{"y.test", "*.example.com"}, true},
	}
	for _, tt := range tests {
		if got := hostnamesIntersect(tt.a, tt.b); got != tt.want {
			t.Errorf("hostnamesIntersect(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := hostnamesIntersect(tt.b, tt.a); got != tt.want {
			t.Errorf("hostnamesIntersect(%v, %v) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}
