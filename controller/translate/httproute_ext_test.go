package translate_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/translate"
	"github.com/khulnasoft/gateway/kengine"
)

// servedRoutes returns the model routes of the first virtual host of the first listener.
func servedRoutes(t *testing.T, tr *translate.Result) []*ir.HTTPRoute {
	t.Helper()
	if len(tr.Gateway.HTTP) == 0 || len(tr.Gateway.HTTP[0].Listeners) == 0 || len(tr.Gateway.HTTP[0].Listeners[0].VirtualHosts) == 0 {
		t.Fatalf("nothing served: %+v", tr.Status.Routes)
	}
	return tr.Gateway.HTTP[0].Listeners[0].VirtualHosts[0].Routes
}

// renderedConfig renders a translation the way the controller pushes it.
func renderedConfig(t *testing.T, tr *translate.Result) string {
	t.Helper()
	cfg, err := render.Config(tr.Gateway, testobj.RenderOptions())
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	data, _, err := kengine.Finalize(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestTranslateBackendAppProtocol(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	tests := []struct {
		appProtocol  *string
		wantProtocol ir.Protocol
		wantRefs     string
	}{
		{nil, ir.HTTP1, "True/ResolvedRefs"},
		{ptr.To("kubernetes.io/h2c"), ir.H2C, "True/ResolvedRefs"},
		{ptr.To("kubernetes.io/ws"), ir.HTTP1, "True/ResolvedRefs"},
		{ptr.To("HTTP"), ir.HTTP1, "True/ResolvedRefs"},
		{ptr.To("kubernetes.io/wss"), "", "False/UnsupportedProtocol"},
		{ptr.To("https"), "", "False/UnsupportedProtocol"},
		{ptr.To("kubernetes.io/quic"), "", "False/UnsupportedProtocol"},
		{ptr.To("grpc"), "", "False/UnsupportedProtocol"},
		{ptr.To("{env.HOME}"), "", "False/UnsupportedProtocol"},
	}
	for _, tt := range tests {
		name := "none"
		if tt.appProtocol != nil {
			name = *tt.appProtocol
		}
		t.Run(name, func(t *testing.T) {
			svc, slice := testobj.Service("infra", "web", 80, 8080, "10.0.0.5")
			svc.Spec.Ports[0].AppProtocol = tt.appProtocol
			r := testobj.Route("infra", "r", testobj.Parent("", "gw", ""), testobj.Rule(nil, nil, testobj.Backend("", "web", 80, 1)))
			tr := run(testobj.Snapshot(gw, r, svc, slice))
			c := conds(tr.Status.Routes[0].Parents[0].Conditions)
			if c["Accepted"] != "True/Accepted" || c["ResolvedRefs"] != tt.wantRefs {
				t.Fatalf("conditions %v, want Accepted and ResolvedRefs %s", c, tt.wantRefs)
			}
			rt := servedRoutes(t, tr)[0]
			switch {
			case tt.wantRefs != "True/ResolvedRefs":
				// An invalid backend's share is answered with 500, as for any invalid backendRef.
				if rt.Backends[0].Failure != 500 {
					t.Errorf("backend = %+v, want a 500 failure", rt.Backends[0])
				}
			case rt.Backends[0].Protocol != tt.wantProtocol || rt.Backends[0].Failure != 0:
				t.Errorf("backend = %+v, want protocol %q", rt.Backends[0], tt.wantProtocol)
			}
			renderedConfig(t, tr)
		})
	}
}

// Backends of one rule that speak different protocols are served together: render gives each
// its own transport.
func TestTranslateServesMixedBackendProtocolsInOneRule(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	h1, h1Slice := testobj.Service("infra", "web", 80, 8080, "10.0.0.5")
	h2c, h2cSlice := testobj.Service("infra", "grpc", 81, 3001, "10.0.0.6")
	h2c.Spec.Ports[0].AppProtocol = ptr.To("kubernetes.io/h2c")
	r := testobj.Route("infra", "r", testobj.Parent("", "gw", ""), testobj.Rule(nil, nil, testobj.Backend("", "web", 80, 1), testobj.Backend("", "grpc", 81, 1)))
	tr := run(testobj.Snapshot(gw, r, h1, h1Slice, h2c, h2cSlice))
	if c := conds(tr.Status.Routes[0].Parents[0].Conditions); c["Accepted"] != "True/Accepted" || c["ResolvedRefs"] != "True/ResolvedRefs" {
		t.Fatalf("conditions %v", c)
	}
	cfg := renderedConfig(t, tr)
	if !strings.Contains(cfg, `"versions":["h2c"]`) || !strings.Contains(cfg, `{http.request.uuid}`) {
		t.Errorf("config does not split h1 and h2c backends:\n%s", cfg)
	}
}

func TestTranslateNamedRules(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	svc, slice := testobj.Service("infra", "web", 80, 8080, "10.0.0.5")
	named := func(name string, rule testobj.RouteOpt) testobj.RouteOpt {
		return func(r *gatewayv1.HTTPRoute) {
			rule(r)
			r.Spec.Rules[len(r.Spec.Rules)-1].Name = ptr.To(gatewayv1.SectionName(name))
		}
	}
	// A name that is no SectionName (the API would refuse it) is still only a name: it never
	// reaches Kengine.
	hostile := "{env.HOME}\"" + strings.Repeat("x", 300)
	r := testobj.Route("infra", "r", testobj.Parent("", "gw", ""),
		named("named-rule", testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix("/named")}, nil, testobj.Backend("", "web", 80, 1))),
		testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix("/unnamed")}, nil, testobj.Backend("", "web", 80, 1)),
		named(hostile, testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix("/hostile")}, nil, testobj.Backend("", "web", 80, 1))),
	)
	tr := run(testobj.Snapshot(gw, r, svc, slice))
	c := tr.Status.Routes[0].Parents[0].Conditions
	if got := conds(c); got["Accepted"] != "True/Accepted" || got["ResolvedRefs"] != "True/ResolvedRefs" || got["PartiallyInvalid"] != "" {
		t.Errorf("conditions %v: a rule name changes nothing in status", got)
	}
	names := map[string]string{}
	for _, rt := range servedRoutes(t, tr) {
		names[rt.Match.Path.Value] = rt.Source.RuleName
	}
	if names["/named"] != "named-rule" || names["/unnamed"] != "" || names["/hostile"] != hostile {
		t.Errorf("rule names in the model = %q", names)
	}
	if cfg := renderedConfig(t, tr); strings.Contains(cfg, "named-rule") || strings.Contains(cfg, "{env.HOME}") {
		t.Errorf("a rule name reached the Kengine config:\n%s", cfg)
	}

	// A dropped rule is named in the status message.
	bad := testobj.Route("infra", "r", testobj.Parent("", "gw", ""),
		testobj.Rule(nil, nil, testobj.Backend("", "web", 80, 1)),
		named("slow", func(r *gatewayv1.HTTPRoute) {
			r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("1 s"))}})
		}))
	tr = run(testobj.Snapshot(gw, bad, svc, slice))
	partial := meta.FindStatusCondition(tr.Status.Routes[0].Parents[0].Conditions, string(gatewayv1.RouteConditionPartiallyInvalid))
	if partial == nil || !strings.HasPrefix(partial.Message, "Dropped Rule(s): rule 1 (slow): timeouts.request") {
		t.Errorf("PartiallyInvalid = %+v, want the dropped rule named", partial)
	}
}

// A filter that cannot be applied is never skipped: the requests it covers get 500, on the
// rule, or on one backend's share.
func TestTranslateUnservableFiltersAnswer500(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	svc, slice := testobj.Service("infra", "web", 80, 8080, "10.0.0.5")
	mirror := gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestMirror, RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{
		BackendRef: gatewayv1.BackendObjectReference{Name: "web", Port: ptr.To(gatewayv1.PortNumber(80))}}}
	withMirror := testobj.Backend("", "web", 80, 1)
	withMirror.Filters = []gatewayv1.HTTPRouteFilter{mirror}
	r := testobj.Route("infra", "r", testobj.Parent("", "gw", ""),
		testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix("/ok")}, nil, testobj.Backend("", "web", 80, 1)),
		testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix("/ext"), testobj.PathExact("/ext2")},
			[]gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterExtensionRef, ExtensionRef: &gatewayv1.LocalObjectReference{Group: "example.com", Kind: "Waf", Name: "w"}}},
			testobj.Backend("", "web", 80, 1)),
		testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix("/share")}, nil, withMirror, testobj.Backend("", "web", 80, 3)),
		testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix("/only")}, nil, withMirror),
	)
	tr := run(testobj.Snapshot(gw, r, svc, slice))
	c := tr.Status.Routes[0].Parents[0].Conditions
	partial := meta.FindStatusCondition(c, string(gatewayv1.RouteConditionPartiallyInvalid))
	if conds(c)["Accepted"] != "True/Accepted" || partial == nil || partial.Reason != string(gatewayv1.RouteReasonUnsupportedValue) ||
		!strings.HasPrefix(partial.Message, "Rule(s) answering 500: rule 1: filter type \"ExtensionRef\"") || !strings.Contains(partial.Message, "cannot mirror") {
		t.Fatalf("conditions %+v", c)
	}
	byPath := map[string]*ir.HTTPRoute{}
	for _, rt := range servedRoutes(t, tr) {
		byPath[rt.Match.Path.Value] = rt
	}
	for _, p := range []string{"/ext", "/ext2"} {
		if rt := byPath[p]; rt == nil || rt.Response == nil || rt.Response.StatusCode != 500 || len(rt.Backends) != 0 {
			t.Errorf("%s: %+v, want a direct 500 for every match of the rule", p, rt)
		}
	}
	if rt := byPath["/share"]; rt == nil || len(rt.Backends) != 2 || rt.Backends[0].Failure != 500 || rt.Backends[1].Failure != 0 {
		t.Errorf("/share: %+v, want the mirroring backend's share to fail with 500 and the other to be served", rt)
	}
	if rt := byPath["/only"]; rt == nil || len(rt.Backends) != 1 || rt.Backends[0].Failure != 500 || len(rt.Filters) != 0 {
		t.Errorf("/only: %+v, want its only backend to fail with 500", rt)
	}
	if rt := byPath["/ok"]; rt == nil || rt.Response != nil || rt.Backends[0].Failure != 0 {
		t.Errorf("/ok: %+v, want it served", rt)
	}
	renderedConfig(t, tr)
}
