package translate_test

import (
	"crypto/x509"
	"errors"
	"math/big"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/translate"
)

// Tests of the tenant boundary (DESIGN.md §2a) in translate: what a route author writes can
// neither reach the proxy's own addresses nor make Kengine refuse the Gateway's config.

// externalNameService is a Service of type ExternalName with one port.
func externalNameService(ns, name, target string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target,
			Ports: []corev1.ServicePort{{Name: "http", Port: 2019, Protocol: corev1.ProtocolTCP}}},
	}
}

func TestTranslateRefusesBackendsThatReachTheProxyOrTheHost(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	route := testobj.Route("infra", "r", testobj.Parent("", "gw", ""), testobj.Rule(nil, nil, testobj.Backend("", "target", 2019, 1)))
	loopbackSvc, loopbackSlice := testobj.Service("infra", "target", 2019, 2019, "10.0.0.5", "127.0.0.1")
	proxySvc, proxySlice := testobj.Service("infra", "target", 2019, 2019, "10.0.0.7")
	metaSvc, metaSlice := testobj.Service("infra", "target", 2019, 80, "169.254.169.254")
	okSvc, okSlice := testobj.Service("infra", "target", 2019, 8080, "10.0.0.5")
	tests := []struct {
		name         string
		objs         []any
		allowExtName bool
		names        map[string]translate.ResolvedName
		wantReason   string
		wantDial     []string
	}{
		{name: "pod address", objs: []any{okSvc, okSlice}, wantReason: "ResolvedRefs", wantDial: []string{"10.0.0.5:8080"}},
		{name: "a loopback endpoint", objs: []any{loopbackSvc, loopbackSlice}, wantReason: string(gatewayv1.RouteReasonRefNotPermitted)},
		{name: "the proxy pod itself", objs: []any{proxySvc, proxySlice}, wantReason: string(gatewayv1.RouteReasonRefNotPermitted)},
		{name: "the metadata address", objs: []any{metaSvc, metaSlice}, wantReason: string(gatewayv1.RouteReasonRefNotPermitted)},
		{name: "ExternalName not allowed by the class", objs: []any{externalNameService("infra", "target", "localhost")},
			wantReason: string(gatewayv1.RouteReasonRefNotPermitted)},
		{name: "ExternalName to localhost", objs: []any{externalNameService("infra", "target", "localhost")}, allowExtName: true,
			names:      map[string]translate.ResolvedName{"localhost": {Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}},
			wantReason: string(gatewayv1.RouteReasonRefNotPermitted)},
		{name: "ExternalName to the metadata address", objs: []any{externalNameService("infra", "target", "169.254.169.254")}, allowExtName: true,
			names:      map[string]translate.ResolvedName{"169.254.169.254": {Addrs: []netip.Addr{netip.MustParseAddr("169.254.169.254")}}},
			wantReason: string(gatewayv1.RouteReasonRefNotPermitted)},
		{name: "ExternalName that does not resolve", objs: []any{externalNameService("infra", "target", "nx.example")}, allowExtName: true,
			names:      map[string]translate.ResolvedName{"nx.example": {Err: errors.New("no such host")}},
			wantReason: string(gatewayv1.RouteReasonBackendNotFound)},
		{name: "ExternalName allowed, pinned to its addresses", objs: []any{externalNameService("infra", "target", "db.example")}, allowExtName: true,
			names:      map[string]translate.ResolvedName{"db.example": {Addrs: []netip.Addr{netip.MustParseAddr("10.9.0.1")}}},
			wantReason: "ResolvedRefs", wantDial: []string{"10.9.0.1:2019"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testobj.Snapshot(gw, append([]any{route}, tt.objs...)...)
			s.ProxyAddresses = []string{"10.0.0.7"}
			s.ExternalNames = tt.names
			tr := translate.Translate(s, translate.Options{ControllerName: testobj.ControllerName, AllowExternalNameBackends: tt.allowExtName})
			refs := meta.FindStatusCondition(tr.Status.Routes[0].Parents[0].Conditions, string(gatewayv1.RouteConditionResolvedRefs))
			if refs.Reason != tt.wantReason {
				t.Fatalf("ResolvedRefs reason %q (%s), want %q", refs.Reason, refs.Message, tt.wantReason)
			}
			b := tr.Gateway.HTTP[0].Listeners[0].VirtualHosts[0].Routes[0].Backends[0]
			if tt.wantDial == nil {
				if b.Failure != 500 || len(b.Endpoints) != 0 {
					t.Errorf("refused backend = %+v, want a 500 share and nothing dialled", b)
				}
				return
			}
			if strings.Join(b.Endpoints, ",") != strings.Join(tt.wantDial, ",") {
				t.Errorf("dials %v, want %v", b.Endpoints, tt.wantDial)
			}
		})
	}
}

func TestTranslateListenerRefusals(t *testing.T) {
	noName := certWithoutNames(t, "infra", "noname")
	gw := testobj.Gateway(
		testobj.Listener("admin", gatewayv1.HTTPProtocolType, 2021, ""),
		testobj.Listener("health", gatewayv1.HTTPProtocolType, 19081, ""),
		testobj.Listener("punycode", gatewayv1.HTTPProtocolType, 80, "xn--0.example.com"),
		testobj.Listener("ok", gatewayv1.HTTPProtocolType, 80, "ok.example.com"),
		testobj.Listener("noname", gatewayv1.HTTPSProtocolType, 443, "", testobj.Cert("", "noname")),
	)
	tr := translate.Translate(testobj.Snapshot(gw, noName), translate.Options{ControllerName: testobj.ControllerName, ReservedPorts: []int{2019, 2021, 19080, 19081, 19082}})
	want := map[string]string{
		"admin":    "False/" + string(gatewayv1.ListenerReasonPortUnavailable),
		"health":   "False/" + string(gatewayv1.ListenerReasonPortUnavailable),
		"punycode": "False/" + string(gatewayv1.ListenerReasonUnsupportedValue),
		"ok":       "True/" + string(gatewayv1.ListenerReasonAccepted),
	}
	for _, l := range tr.Status.Gateway.Listeners {
		if w, ok := want[string(l.Name)]; ok && conds(l.Conditions)["Accepted"] != w {
			t.Errorf("listener %s Accepted = %s, want %s", l.Name, conds(l.Conditions)["Accepted"], w)
		}
	}
	if got := conds(tr.Status.Gateway.Listeners[4].Conditions)["ResolvedRefs"]; got != "False/"+string(gatewayv1.ListenerReasonInvalidCertificateRef) {
		t.Errorf("certificate without names: ResolvedRefs = %s, want InvalidCertificateRef", got)
	}
	if tr.Status.Gateway.Served["noname"] {
		t.Error("a listener whose certificate Kengine cannot load must not be served")
	}
}

// certWithoutNames is a kubernetes.io/tls Secret whose certificate has no subject name at all,
// which Kengine refuses to load.
func certWithoutNames(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	return testobj.SelfSignedSecret(t, ns, name, &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
}

func TestTranslateDropsOnlyTheBadRule(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	svc, slice := testobj.Service("infra", "web", 80, 8080, "10.0.0.5")
	regex := func(v string) gatewayv1.HTTPRouteMatch {
		return gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchRegularExpression), Value: ptr.To(v)}}
	}
	good := testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix("/good")}, nil, testobj.Backend("", "web", 80, 1))
	tests := []struct {
		name     string
		bad      testobj.RouteOpt
		wantText string
	}{
		{"a regex that does not compile once wrapped", testobj.Rule([]gatewayv1.HTTPRouteMatch{regex(`/foo\Q`)}, nil, testobj.Backend("", "web", 80, 1)), "regular expression"},
		{"a regex too costly to run", testobj.Rule([]gatewayv1.HTTPRouteMatch{regex(`((((a{10}){10}){10}){10})`)}, nil, testobj.Backend("", "web", 80, 1)), "regular expression"},
		{"a wildcard header removal", testobj.Rule(nil, []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
			RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Remove: []string{"*"}}}}, testobj.Backend("", "web", 80, 1)), "wildcard"},
		{"a query value Kengine reads as a wildcard", testobj.Rule([]gatewayv1.HTTPRouteMatch{{Path: testobj.PathPrefix("/q").Path,
			QueryParams: []gatewayv1.HTTPQueryParamMatch{{Name: "q", Value: "*"}}}}, nil, testobj.Backend("", "web", 80, 1)), "'*'"},
		{"a timeout that is not a GEP-2257 duration", func(r *gatewayv1.HTTPRoute) {
			r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("1.5s"))}})
		}, "timeouts.request"},
		{"a request timeout with retries, which Kengine cannot bound", func(r *gatewayv1.HTTPRoute) {
			r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("1s"))},
				Retry: &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(2)}})
		}, "cancels an attempt in flight"},
		{"more retries than a request may make", func(r *gatewayv1.HTTPRoute) {
			r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{Retry: &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(1 << 30)}})
		}, "retry.attempts"},
		{"a CORS origin with a placeholder", testobj.Rule(nil, []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterCORS,
			CORS: &gatewayv1.HTTPCORSFilter{AllowOrigins: []gatewayv1.CORSOrigin{"https://{env.HOME}"}}}}, testobj.Backend("", "web", 80, 1)), "cors.allowOrigins"},
		{"a CORS header that is not a token", testobj.Rule(nil, []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterCORS,
			CORS: &gatewayv1.HTTPCORSFilter{AllowHeaders: []gatewayv1.HTTPHeaderName{"x\r\nSet-Cookie: a=b"}}}}, testobj.Backend("", "web", 80, 1)), "cors.allowHeaders"},
		{"a retry code that is no error status", func(r *gatewayv1.HTTPRoute) {
			r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{Retry: &gatewayv1.HTTPRouteRetry{Codes: []gatewayv1.HTTPRouteRetryStatusCode{1 << 40}}})
		}, "retry.codes"},
		{"sessionPersistence, not implemented", func(r *gatewayv1.HTTPRoute) {
			r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{SessionPersistence: &gatewayv1.SessionPersistence{}})
		}, "sessionPersistence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testobj.Route("infra", "r", testobj.Parent("", "gw", ""), good, tt.bad)
			tr := run(testobj.Snapshot(gw, r, svc, slice))
			c := tr.Status.Routes[0].Parents[0].Conditions
			if got := conds(c)["Accepted"]; got != "True/Accepted" {
				t.Errorf("Accepted = %s, want True: the good rule is still served", got)
			}
			partial := meta.FindStatusCondition(c, string(gatewayv1.RouteConditionPartiallyInvalid))
			if partial == nil || partial.Reason != string(gatewayv1.RouteReasonUnsupportedValue) ||
				!strings.HasPrefix(partial.Message, "Dropped Rule(s): rule 1: ") || !strings.Contains(partial.Message, tt.wantText) {
				t.Errorf("PartiallyInvalid = %+v, want UnsupportedValue naming rule 1 and %q", partial, tt.wantText)
			}
			if rules := tr.Gateway.HTTP[0].Listeners[0].VirtualHosts[0].Routes; len(rules) != 1 || rules[0].Source.Rule != 0 {
				t.Errorf("served rules = %d, want only rule 0", len(rules))
			}
			if _, err := render.Config(tr.Gateway, testobj.RenderOptions()); err != nil {
				t.Errorf("render of the remaining rules: %v", err)
			}
			// The same rule alone leaves nothing to serve: the route is not accepted.
			alone := run(testobj.Snapshot(gw, testobj.Route("infra", "r", testobj.Parent("", "gw", ""), tt.bad), svc, slice))
			if got := conds(alone.Status.Routes[0].Parents[0].Conditions)["Accepted"]; got != "False/"+string(gatewayv1.RouteReasonUnsupportedValue) {
				t.Errorf("route with only the bad rule: Accepted = %s, want False/UnsupportedValue", got)
			}
		})
	}
}

func TestTranslateRefusesInvalidRouteHostnames(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	r := testobj.Route("infra", "r", testobj.Parent("", "gw", ""), testobj.Hostnames("ok.example.com", "xn--0.example.com"), testobj.Rule(nil, nil))
	tr := run(testobj.Snapshot(gw, r))
	if got := conds(tr.Status.Routes[0].Parents[0].Conditions)["Accepted"]; got != "False/"+string(gatewayv1.RouteReasonUnsupportedValue) {
		t.Errorf("Accepted = %s, want False/UnsupportedValue for a hostname Kengine cannot convert to ASCII", got)
	}
}

func TestTranslateExcludedObjects(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""), testobj.Listener("other", gatewayv1.HTTPProtocolType, 81, ""))
	svc, slice := testobj.Service("infra", "web", 80, 8080, "10.0.0.5")
	a := testobj.Route("infra", "a", testobj.Parent("", "gw", "http"), testobj.Rule(nil, nil, testobj.Backend("", "web", 80, 1)))
	b := testobj.Route("infra", "b", testobj.Parent("", "gw", "http"), testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix("/b")}, nil, testobj.Backend("", "web", 80, 1)))
	s := testobj.Snapshot(gw, a, b, svc, slice)
	s.Excluded = map[translate.ObjectRef]string{translate.RouteRef("HTTPRoute", "infra", "a"): "bad thing", translate.ListenerRef("other"): "bad listener"}
	tr := run(s)
	if c := meta.FindStatusCondition(tr.Status.Routes[0].Parents[0].Conditions, "Accepted"); c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "bad thing") {
		t.Errorf("excluded route: %+v, want Accepted=False with Kengine's message", c)
	}
	if got := conds(tr.Status.Routes[1].Parents[0].Conditions)["Accepted"]; got != "True/Accepted" {
		t.Errorf("other route: Accepted = %s", got)
	}
	if got := conds(tr.Status.Gateway.Listeners[1].Conditions)["Accepted"]; got != "False/"+string(gatewayv1.ListenerReasonUnsupportedValue) {
		t.Errorf("excluded listener: Accepted = %s", got)
	}
}
