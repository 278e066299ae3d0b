package translate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/controller/translate"
)

// routeConds returns the conditions of a route's first parent entry, or nil.
func routeConds(t *testing.T, tr *translate.Result, kind, ns, name string) map[string]string {
	t.Helper()
	for _, rs := range tr.Status.Routes {
		if rs.Route.GetNamespace() != ns || rs.Route.GetName() != name {
			continue
		}
		if _, isGRPC := rs.Route.(*gatewayv1.GRPCRoute); isGRPC != (kind == "GRPCRoute") {
			continue
		}
		if len(rs.Parents) == 0 {
			return nil
		}
		return conds(rs.Parents[0].Conditions)
	}
	t.Fatalf("no status for %s %s/%s", kind, ns, name)
	return nil
}

// vhostSources lists, per listener and host, the "Kind name" of every model route in order.
func vhostSources(gw *ir.Gateway) map[string][]string {
	out := map[string][]string{}
	for _, srv := range gw.HTTP {
		for _, l := range srv.Listeners {
			for _, vh := range l.VirtualHosts {
				key := l.Name + " " + vh.Hostname
				for _, r := range vh.Routes {
					out[key] = append(out[key], r.Source.Kind+" "+r.Source.Name)
				}
			}
		}
	}
	return out
}

func TestGRPCRouteIsServedOverH2C(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	svc, slice := testobj.Service("infra", "echo", 8080, 9000, "10.0.0.1")
	named := testobj.GRPCRoute("infra", "echo", testobj.GRPCParent("", "gw", ""), testobj.GRPCHostnames("grpc.example.com"),
		testobj.GRPCRule([]gatewayv1.GRPCRouteMatch{testobj.GRPCMethod("", "echo.v1.Echo", "Echo")}, nil, testobj.GRPCBackend("", "echo", 8080, 1)))
	named.Spec.Rules[0].Name = ptr.To(gatewayv1.SectionName("named-rule")) // GRPCRouteNamedRouteRule: accepted as it is
	tr := run(testobj.Snapshot(gw, named, svc, slice))

	want := map[string]string{"Accepted": "True/Accepted", "ResolvedRefs": "True/ResolvedRefs"}
	if diff := cmp.Diff(want, routeConds(t, tr, "GRPCRoute", "infra", "echo")); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if st := tr.Status.Gateway.Listeners[0]; st.AttachedRoutes != 1 {
		t.Errorf("attachedRoutes = %d, want 1", st.AttachedRoutes)
	}
	vh := tr.Gateway.HTTP[0].Listeners[0].VirtualHosts[0]
	wantRoute := &ir.HTTPRoute{
		Source:   ir.Source{Kind: "GRPCRoute", Namespace: "infra", Name: "echo"},
		Match:    ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathExact, Value: "/echo.v1.Echo/Echo"}},
		Backends: []ir.Backend{{Name: "infra/echo:8080", Weight: 1, Endpoints: []string{"10.0.0.1:9000"}, Protocol: ir.H2C}},
	}
	if diff := cmp.Diff([]*ir.HTTPRoute{wantRoute}, vh.Routes); vh.Hostname != "grpc.example.com" || diff != "" {
		t.Errorf("virtual host %q routes (-want +got):\n%s", vh.Hostname, diff)
	}
}

func TestGRPCRouteStatus(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, "", testobj.FromAll))
	svc, slice := testobj.Service("backends", "echo", 8080, 9000, "10.0.0.1")
	cross := testobj.GRPCBackend("backends", "echo", 8080, 1)
	rule := func(b ...gatewayv1.GRPCBackendRef) testobj.GRPCRouteOpt { return testobj.GRPCRule(nil, nil, b...) }
	tests := []struct {
		name  string
		route *gatewayv1.GRPCRoute
		objs  []any
		opts  func(*translate.Snapshot)
		want  map[string]string
		model []ir.Backend // the first model route's backends, when set
	}{
		{
			name:  "cross-namespace backend granted to GRPCRoutes",
			route: testobj.GRPCRoute("apps", "r", testobj.GRPCParent("infra", "gw", ""), rule(cross)),
			objs:  []any{grant("backends", "apps", "GRPCRoute", "Service", "")},
			want:  map[string]string{"Accepted": "True/Accepted", "ResolvedRefs": "True/ResolvedRefs"},
			model: []ir.Backend{{Name: "backends/echo:8080", Weight: 1, Endpoints: []string{"10.0.0.1:9000"}, Protocol: ir.H2C}},
		},
		{
			name:  "a grant to HTTPRoutes does not cover GRPCRoutes",
			route: testobj.GRPCRoute("apps", "r", testobj.GRPCParent("infra", "gw", ""), rule(cross)),
			objs:  []any{grant("backends", "apps", "HTTPRoute", "Service", "")},
			want:  map[string]string{"Accepted": "True/Accepted", "ResolvedRefs": "False/RefNotPermitted"},
			// An invalid backend's share answers UNAVAILABLE (503), not HTTPRoute's 500.
			model: []ir.Backend{{Weight: 1, Failure: 503, Protocol: ir.H2C}},
		},
		{
			name:  "missing Service",
			route: testobj.GRPCRoute("apps", "r", testobj.GRPCParent("infra", "gw", ""), rule(testobj.GRPCBackend("", "nope", 8080, 1))),
			want:  map[string]string{"Accepted": "True/Accepted", "ResolvedRefs": "False/BackendNotFound"},
			model: []ir.Backend{{Weight: 1, Failure: 503, Protocol: ir.H2C}},
		},
		{
			// Never skipped: the rule's calls get 500, and the route says why.
			name:  "a filter Kengine cannot apply",
			route: testobj.GRPCRoute("apps", "r", testobj.GRPCParent("infra", "gw", ""), testobj.GRPCRule(nil, []gatewayv1.GRPCRouteFilter{{Type: gatewayv1.GRPCRouteFilterExtensionRef}}, cross)),
			objs:  []any{grant("backends", "apps", "GRPCRoute", "Service", "")},
			want:  map[string]string{"Accepted": "True/Accepted", "ResolvedRefs": "True/ResolvedRefs", "PartiallyInvalid": "True/UnsupportedValue"},
		},
		{
			name:  "every rule invalid",
			route: testobj.GRPCRoute("apps", "r", testobj.GRPCParent("infra", "gw", ""), testobj.GRPCRule(nil, []gatewayv1.GRPCRouteFilter{{Type: "Bogus"}}, cross)),
			want:  map[string]string{"Accepted": "False/UnsupportedValue", "ResolvedRefs": "True/ResolvedRefs"},
		},
		{
			name: "sessionPersistence drops its rule",
			route: testobj.GRPCRoute("apps", "r", testobj.GRPCParent("infra", "gw", ""), rule(cross), func(r *gatewayv1.GRPCRoute) {
				r.Spec.Rules = append(r.Spec.Rules, gatewayv1.GRPCRouteRule{SessionPersistence: &gatewayv1.SessionPersistence{}})
			}),
			objs: []any{grant("backends", "apps", "GRPCRoute", "Service", "")},
			want: map[string]string{"Accepted": "True/Accepted", "ResolvedRefs": "True/ResolvedRefs", "PartiallyInvalid": "True/UnsupportedValue"},
		},
		{
			name:  "invalid hostname",
			route: testobj.GRPCRoute("apps", "r", testobj.GRPCParent("infra", "gw", ""), testobj.GRPCHostnames("xn--0.example.com"), rule(cross)),
			objs:  []any{grant("backends", "apps", "GRPCRoute", "Service", "")},
			want:  map[string]string{"Accepted": "False/UnsupportedValue", "ResolvedRefs": "True/ResolvedRefs"},
		},
		{
			name:  "refused by Kengine before",
			route: testobj.GRPCRoute("apps", "r", testobj.GRPCParent("infra", "gw", ""), rule(cross)),
			objs:  []any{grant("backends", "apps", "GRPCRoute", "Service", "")},
			opts: func(s *translate.Snapshot) {
				s.Excluded = map[translate.ObjectRef]string{translate.RouteRef("GRPCRoute", "apps", "r"): "bad"}
			},
			want: map[string]string{"Accepted": "False/UnsupportedValue", "ResolvedRefs": "True/ResolvedRefs"},
		},
		{
			name:  "no backendRefs answers UNAVAILABLE",
			route: testobj.GRPCRoute("apps", "r", testobj.GRPCParent("infra", "gw", ""), rule()),
			want:  map[string]string{"Accepted": "True/Accepted", "ResolvedRefs": "True/ResolvedRefs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testobj.Snapshot(gw, append([]any{tt.route, svc, slice}, tt.objs...)...)
			if tt.opts != nil {
				tt.opts(s)
			}
			tr := run(s)
			if diff := cmp.Diff(tt.want, routeConds(t, tr, "GRPCRoute", "apps", "r")); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if tt.model == nil {
				return
			}
			routes := tr.Gateway.HTTP[0].Listeners[0].VirtualHosts[0].Routes
			if diff := cmp.Diff(tt.model, routes[0].Backends); diff != "" {
				t.Errorf("backends (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a rule without backendRefs answers 503", func(t *testing.T) {
		tr := run(testobj.Snapshot(gw, testobj.GRPCRoute("apps", "r", testobj.GRPCParent("infra", "gw", ""), rule())))
		got := tr.Gateway.HTTP[0].Listeners[0].VirtualHosts[0].Routes[0].Response
		if got == nil || got.StatusCode != 503 {
			t.Errorf("response = %+v, want 503", got)
		}
	})
}

func TestListenerAllowedKindsForGRPCRoute(t *testing.T) {
	kinds := func(k ...gatewayv1.Kind) func(*gatewayv1.Listener) {
		return func(l *gatewayv1.Listener) {
			l.AllowedRoutes = &gatewayv1.AllowedRoutes{}
			for _, x := range k {
				l.AllowedRoutes.Kinds = append(l.AllowedRoutes.Kinds, gatewayv1.RouteGroupKind{Kind: x})
			}
		}
	}
	gw := testobj.Gateway(
		testobj.Listener("grpc", gatewayv1.HTTPProtocolType, 80, "grpc.example.com", kinds("GRPCRoute")),
		testobj.Listener("web", gatewayv1.HTTPProtocolType, 80, "web.example.com", kinds("HTTPRoute")),
	)
	tr := run(testobj.Snapshot(gw,
		testobj.GRPCRoute("infra", "g", testobj.GRPCParent("", "gw", "web"), testobj.GRPCRule(nil, nil)),
		testobj.GRPCRoute("infra", "ok", testobj.GRPCParent("", "gw", "grpc"), testobj.GRPCRule(nil, nil)),
		testobj.Route("infra", "h", testobj.Parent("", "gw", "grpc"), testobj.Rule(nil, nil)),
	))
	if got := routeConds(t, tr, "GRPCRoute", "infra", "g")["Accepted"]; got != "False/NotAllowedByListeners" {
		t.Errorf("GRPCRoute on an HTTPRoute-only listener: Accepted = %s", got)
	}
	if got := routeConds(t, tr, "HTTPRoute", "infra", "h")["Accepted"]; got != "False/NotAllowedByListeners" {
		t.Errorf("HTTPRoute on a GRPCRoute-only listener: Accepted = %s", got)
	}
	if got := routeConds(t, tr, "GRPCRoute", "infra", "ok")["Accepted"]; got != "True/Accepted" {
		t.Errorf("GRPCRoute on its listener: Accepted = %s", got)
	}
	st := tr.Status.Gateway.Listeners
	if len(st[0].SupportedKinds) != 1 || st[0].SupportedKinds[0].Kind != "GRPCRoute" || st[0].AttachedRoutes != 1 {
		t.Errorf("grpc listener: kinds %v, attached %d", st[0].SupportedKinds, st[0].AttachedRoutes)
	}
}

// TestHTTPRouteAndGRPCRouteShareNoHostname follows the GRPCRoute specification: on one
// listener, of an HTTPRoute and a GRPCRoute whose hostnames intersect, only the route created
// first (then the first by namespace/name) is accepted.
func TestHTTPRouteAndGRPCRouteShareNoHostname(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	gw := testobj.Gateway(
		testobj.Listener("a", gatewayv1.HTTPProtocolType, 80, "", testobj.FromAll),
		testobj.Listener("b", gatewayv1.HTTPProtocolType, 8080, "", testobj.FromAll),
	)
	httpRoute := func(name string, d int, section string, hosts ...string) *gatewayv1.HTTPRoute {
		return testobj.Route("apps", name, testobj.Parent("infra", "gw", section), testobj.Hostnames(hosts...), testobj.CreatedAt(day(d)), testobj.Rule(nil, nil))
	}
	grpcRoute := func(name string, d int, section string, hosts ...string) *gatewayv1.GRPCRoute {
		return testobj.GRPCRoute("apps", name, testobj.GRPCParent("infra", "gw", section), testobj.GRPCHostnames(hosts...), testobj.GRPCCreatedAt(day(d)), testobj.GRPCRule(nil, nil))
	}
	type want struct {
		kind, name, accepted string
	}
	tests := []struct {
		name     string
		objs     []any
		want     []want
		attached []int32 // per listener
	}{
		{
			name:     "the older GRPCRoute keeps the hostname",
			objs:     []any{httpRoute("h", 2, "a", "x.example.com"), grpcRoute("g", 1, "a", "x.example.com")},
			want:     []want{{"HTTPRoute", "h", "False/NotAllowedByListeners"}, {"GRPCRoute", "g", "True/Accepted"}},
			attached: []int32{1, 0},
		},
		{
			name:     "a wildcard intersects a name under it",
			objs:     []any{httpRoute("h", 1, "a", "*.example.com"), grpcRoute("g", 2, "a", "api.example.com")},
			want:     []want{{"HTTPRoute", "h", "True/Accepted"}, {"GRPCRoute", "g", "False/NotAllowedByListeners"}},
			attached: []int32{1, 0},
		},
		{
			name:     "no hostname intersects every hostname",
			objs:     []any{httpRoute("h", 1, "a"), grpcRoute("g", 2, "a", "api.example.com")},
			want:     []want{{"HTTPRoute", "h", "True/Accepted"}, {"GRPCRoute", "g", "False/NotAllowedByListeners"}},
			attached: []int32{1, 0},
		},
		{
			name:     "hostnames that do not intersect share the listener",
			objs:     []any{httpRoute("h", 1, "a", "web.example.com"), grpcRoute("g", 2, "a", "api.example.com")},
			want:     []want{{"HTTPRoute", "h", "True/Accepted"}, {"GRPCRoute", "g", "True/Accepted"}},
			attached: []int32{2, 0},
		},
		{
			name:     "same age: the first by namespace/name",
			objs:     []any{httpRoute("a-http", 1, "a", "x.example.com"), grpcRoute("b-grpc", 1, "a", "x.example.com")},
			want:     []want{{"HTTPRoute", "a-http", "True/Accepted"}, {"GRPCRoute", "b-grpc", "False/NotAllowedByListeners"}},
			attached: []int32{1, 0},
		},
		{
			name:     "the rule is per listener: refused on one, accepted on the other",
			objs:     []any{httpRoute("h", 1, "a", "x.example.com"), grpcRoute("g", 2, "", "x.example.com")},
			want:     []want{{"HTTPRoute", "h", "True/Accepted"}, {"GRPCRoute", "g", "True/Accepted"}},
			attached: []int32{1, 1},
		},
		{
			name:     "a route that lost holds nothing",
			objs:     []any{httpRoute("old", 1, "a", "x.example.com"), grpcRoute("mid", 2, "a", "x.example.com", "y.example.com"), httpRoute("young", 3, "a", "y.example.com")},
			want:     []want{{"HTTPRoute", "old", "True/Accepted"}, {"GRPCRoute", "mid", "False/NotAllowedByListeners"}, {"HTTPRoute", "young", "True/Accepted"}},
			attached: []int32{2, 0},
		},
		{
			name:     "a route rejected as a whole holds nothing",
			objs:     []any{httpRoute("h", 2, "a", "x.example.com"), grpcRoute("g", 1, "a", "x.example.com", "xn--0.example.com")},
			want:     []want{{"HTTPRoute", "h", "True/Accepted"}, {"GRPCRoute", "g", "False/UnsupportedValue"}},
			attached: []int32{1, 0},
		},
		{
			name:     "routes of one kind are not held apart",
			objs:     []any{grpcRoute("g1", 1, "a", "x.example.com"), grpcRoute("g2", 2, "a", "x.example.com")},
			want:     []want{{"GRPCRoute", "g1", "True/Accepted"}, {"GRPCRoute", "g2", "True/Accepted"}},
			attached: []int32{2, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := run(testobj.Snapshot(gw, tt.objs...))
			for _, w := range tt.want {
				c := routeConds(t, tr, w.kind, "apps", w.name)
				if c["Accepted"] != w.accepted {
					t.Errorf("%s %s: Accepted = %s, want %s", w.kind, w.name, c["Accepted"], w.accepted)
				}
			}
			for i, n := range tt.attached {
				if got := tr.Status.Gateway.Listeners[i].AttachedRoutes; got != n {
					t.Errorf("listener %d attachedRoutes = %d, want %d", i, got, n)
				}
			}
			// Whatever was accepted, no host serves both kinds.
			for host, sources := range vhostSources(tr.Gateway) {
				var kinds []string
				for _, s := range sources {
					kinds = append(kinds, strings.Fields(s)[0])
				}
				for _, k := range kinds {
					if k != kinds[0] {
						t.Errorf("host %q serves both kinds: %v", host, sources)
						break
					}
				}
			}
		})
	}
	t.Run("the refusal names the route that keeps the hostname", func(t *testing.T) {
		tr := run(testobj.Snapshot(gw, httpRoute("h", 2, "a", "x.example.com"), grpcRoute("g", 1, "a", "x.example.com")))
		for _, rs := range tr.Status.Routes {
			if rs.Route.GetName() != "h" {
				continue
			}
			c := meta.FindStatusCondition(rs.Parents[0].Conditions, "Accepted")
			if c == nil || !strings.Contains(c.Message, "GRPCRoute apps/g") || !strings.Contains(c.Message, "listener a") {
				t.Errorf("Accepted = %+v", c)
			}
		}
	})
}
