package translate_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/controller/translate"
)

// conds summarises conditions as "Type=Status/Reason" for compact expectations.
func conds(cs []metav1.Condition) map[string]string {
	out := map[string]string{}
	for _, c := range cs {
		out[c.Type] = string(c.Status) + "/" + c.Reason
	}
	return out
}

func run(s *translate.Snapshot) *translate.Result {
	return translate.Translate(s, translate.Options{ControllerName: testobj.ControllerName})
}

func TestTranslateListeners(t *testing.T) {
	otherNS := "certs"
	tests := []struct {
		name         string
		gw           *gatewayv1.Gateway
		objs         func(t *testing.T) []any
		wantGateway  map[string]string
		wantListener map[string]map[string]string
		wantKinds    map[string][]string
	}{
		{
			name:        "http listener accepted",
			gw:          testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, "")),
			wantGateway: map[string]string{"Accepted": "True/Accepted"},
			wantListener: map[string]map[string]string{"http": {
				"Accepted": "True/Accepted", "Conflicted": "False/NoConflicts", "ResolvedRefs": "True/ResolvedRefs"}},
			wantKinds: map[string][]string{"http": {"HTTPRoute", "GRPCRoute"}},
		},
		{
			name: "unsupported protocol on one listener",
			gw: testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""),
				testobj.Listener("quic", "example.com/quic", 53, "")),
			wantGateway: map[string]string{"Accepted": "True/ListenersNotValid"},
			wantListener: map[string]map[string]string{
				"http": {"Accepted": "True/Accepted"},
				"quic": {"Accepted": "False/UnsupportedProtocol"},
			},
			wantKinds: map[string][]string{"http": {"HTTPRoute", "GRPCRoute"}, "quic": {}},
		},
		{
			name:         "every listener invalid",
			gw:           testobj.Gateway(testobj.Listener("quic", "example.com/quic", 53, "")),
			wantGateway:  map[string]string{"Accepted": "False/ListenersNotValid"},
			wantListener: map[string]map[string]string{"quic": {"Accepted": "False/UnsupportedProtocol"}},
		},
		{
			name: "http and https on one port conflict",
			gw: testobj.Gateway(testobj.Listener("a", gatewayv1.HTTPProtocolType, 8080, "a.example.com"),
				testobj.Listener("b", gatewayv1.HTTPSProtocolType, 8080, "b.example.com", testobj.Cert("", "cert"))),
			objs:        func(t *testing.T) []any { return []any{testobj.TLSSecret(t, "infra", "cert", "b.example.com")} },
			wantGateway: map[string]string{"Accepted": "False/ListenersNotValid"},
			wantListener: map[string]map[string]string{
				"a": {"Accepted": "False/ProtocolConflict", "Conflicted": "True/ProtocolConflict"},
				"b": {"Accepted": "False/ProtocolConflict", "Conflicted": "True/ProtocolConflict"},
			},
		},
		{
			name: "invalid route kinds",
			gw: testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, "", func(l *gatewayv1.Listener) {
				l.AllowedRoutes = &gatewayv1.AllowedRoutes{Kinds: []gatewayv1.RouteGroupKind{{Kind: "HTTPRoute"}, {Kind: "FooRoute"}}}
			})),
			wantGateway:  map[string]string{"Accepted": "True/Accepted"},
			wantListener: map[string]map[string]string{"http": {"Accepted": "True/Accepted", "ResolvedRefs": "False/InvalidRouteKinds"}},
			wantKinds:    map[string][]string{"http": {"HTTPRoute"}},
		},
		{
			name:         "https with a missing secret",
			gw:           testobj.Gateway(testobj.Listener("https", gatewayv1.HTTPSProtocolType, 443, "", testobj.Cert("", "missing"))),
			wantListener: map[string]map[string]string{"https": {"Accepted": "True/Accepted", "ResolvedRefs": "False/InvalidCertificateRef"}},
		},
		{
			name: "https with a malformed secret",
			gw:   testobj.Gateway(testobj.Listener("https", gatewayv1.HTTPSProtocolType, 443, "", testobj.Cert("", "bad"))),
			objs: func(t *testing.T) []any {
				s := testobj.TLSSecret(t, "infra", "bad", "a.example.com")
				s.Data[corev1.TLSCertKey] = []byte("not a certificate")
				return []any{s}
			},
			wantListener: map[string]map[string]string{"https": {"ResolvedRefs": "False/InvalidCertificateRef"}},
		},
		{
			name:         "https with a cross-namespace secret and no grant",
			gw:           testobj.Gateway(testobj.Listener("https", gatewayv1.HTTPSProtocolType, 443, "", testobj.Cert(otherNS, "cert"))),
			objs:         func(t *testing.T) []any { return []any{testobj.TLSSecret(t, otherNS, "cert", "a.example.com")} },
			wantListener: map[string]map[string]string{"https": {"ResolvedRefs": "False/RefNotPermitted"}},
		},
		{
			name: "https with a cross-namespace secret and a grant",
			gw:   testobj.Gateway(testobj.Listener("https", gatewayv1.HTTPSProtocolType, 443, "", testobj.Cert(otherNS, "cert"))),
			objs: func(t *testing.T) []any {
				return []any{testobj.TLSSecret(t, otherNS, "cert", "a.example.com"), grant(otherNS, "infra", "Gateway", "Secret", "")}
			},
			wantListener: map[string]map[string]string{"https": {"Accepted": "True/Accepted", "ResolvedRefs": "True/ResolvedRefs"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objs []any
			if tt.objs != nil {
				objs = tt.objs(t)
			}
			tr := run(testobj.Snapshot(tt.gw, objs...))
			for typ, want := range tt.wantGateway {
				if got := conds(tr.Status.Gateway.Conditions)[typ]; got != want {
					t.Errorf("gateway %s = %s, want %s", typ, got, want)
				}
			}
			for _, l := range tr.Status.Gateway.Listeners {
				for typ, want := range tt.wantListener[string(l.Name)] {
					if got := conds(l.Conditions)[typ]; got != want {
						t.Errorf("listener %s %s = %s, want %s", l.Name, typ, got, want)
					}
				}
				if want, ok := tt.wantKinds[string(l.Name)]; ok {
					got := []string{}
					for _, k := range l.SupportedKinds {
						got = append(got, string(k.Kind))
					}
					if !slices.Equal(got, want) {
						t.Errorf("listener %s supportedKinds = %v, want %v", l.Name, got, want)
					}
				}
				for _, c := range l.Conditions {
					if c.ObservedGeneration != tt.gw.Generation {
						t.Errorf("listener %s condition %s observedGeneration = %d", l.Name, c.Type, c.ObservedGeneration)
					}
				}
			}
		})
	}
}

func grant(ns, fromNS, fromKind, toKind, toName string) *gatewayv1.ReferenceGrant {
	g := &gatewayv1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "grant"},
		Spec: gatewayv1.ReferenceGrantSpec{
			From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: gatewayv1.Kind(fromKind), Namespace: gatewayv1.Namespace(fromNS)}},
			To:   []gatewayv1.ReferenceGrantTo{{Group: "", Kind: gatewayv1.Kind(toKind)}},
		},
	}
	if toName != "" {
		g.Spec.To[0].Name = ptr.To(gatewayv1.ObjectName(toName))
	}
	return g
}

func TestTranslateRouteAttachment(t *testing.T) {
	svc, slice := testobj.Service("apps", "web", 80, 8080, "10.0.0.1")
	svcInfra, sliceInfra := testobj.Service("infra", "web", 80, 8080, "10.0.0.2")
	gw := testobj.Gateway(
		testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, "", testobj.FromAll),
		testobj.Listener("same", gatewayv1.HTTPProtocolType, 8080, ""),
		testobj.Listener("foo", gatewayv1.HTTPProtocolType, 8081, "foo.example.com", testobj.FromAll),
		testobj.Listener("selected", gatewayv1.HTTPProtocolType, 8082, "", func(l *gatewayv1.Listener) {
			l.AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{
				From: ptr.To(gatewayv1.NamespacesFromSelector), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}}
		}),
	)
	nsApps := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps", Labels: map[string]string{"team": "a"}}}
	nsOther := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}
	web := testobj.Backend("", "web", 80, 1)
	tests := []struct {
		name         string
		route        *gatewayv1.HTTPRoute
		wantAccepted string
		wantRefs     string
		wantAttached map[string]int32
	}{
		{"whole gateway from another namespace", testobj.Route("apps", "r", testobj.Parent("infra", "gw", ""), testobj.Rule(nil, nil, web)),
			"True/Accepted", "True/ResolvedRefs", map[string]int32{"http": 1, "same": 0, "foo": 1, "selected": 1}},
		{"section name", testobj.Route("apps", "r", testobj.Parent("infra", "gw", "foo"), testobj.Rule(nil, nil, web)),
			"True/Accepted", "True/ResolvedRefs", map[string]int32{"http": 0, "foo": 1}},
		{"unknown section name", testobj.Route("apps", "r", testobj.Parent("infra", "gw", "nope"), testobj.Rule(nil, nil, web)),
			"False/NoMatchingParent", "True/ResolvedRefs", map[string]int32{"http": 0}},
		{"port that matches no listener", testobj.Route("apps", "r", func(r *gatewayv1.HTTPRoute) {
			r.Spec.ParentRefs = []gatewayv1.ParentReference{{Name: "gw", Namespace: ptr.To(gatewayv1.Namespace("infra")), Port: ptr.To(gatewayv1.PortNumber(9999))}}
		}, testobj.Rule(nil, nil, web)), "False/NoMatchingParent", "True/ResolvedRefs", nil},
		{"same-namespace listener refuses another namespace", testobj.Route("apps", "r", testobj.Parent("infra", "gw", "same"), testobj.Rule(nil, nil, web)),
			"False/NotAllowedByListeners", "True/ResolvedRefs", map[string]int32{"same": 0}},
		{"selector refuses an unlabelled namespace", testobj.Route("other", "r", testobj.Parent("infra", "gw", "selected"), testobj.Rule(nil, nil, testobj.Backend("apps", "web", 80, 1))),
			"False/NotAllowedByListeners", "False/RefNotPermitted", nil},
		{"hostnames that no listener answers", testobj.Route("apps", "r", testobj.Parent("infra", "gw", "foo"), testobj.Hostnames("bar.example.com"), testobj.Rule(nil, nil, web)),
			"False/NoMatchingListenerHostname", "True/ResolvedRefs", map[string]int32{"foo": 0}},
		{"missing backend", testobj.Route("apps", "r", testobj.Parent("infra", "gw", "http"), testobj.Rule(nil, nil, testobj.Backend("", "nope", 80, 1))),
			"True/Accepted", "False/BackendNotFound", map[string]int32{"http": 1}},
		{"backend of an unknown kind", testobj.Route("apps", "r", testobj.Parent("infra", "gw", "http"), testobj.Rule(nil, nil, func() gatewayv1.HTTPBackendRef {
			b := web
			b.Kind = ptr.To(gatewayv1.Kind("Unknown"))
			return b
		}())), "True/Accepted", "False/InvalidKind", nil},
		{"cross-namespace backend without a grant", testobj.Route("apps", "r", testobj.Parent("infra", "gw", "http"), testobj.Rule(nil, nil, testobj.Backend("infra", "web", 80, 1))),
			"True/Accepted", "False/RefNotPermitted", nil},
		{"backend filters with several backends", testobj.Route("apps", "r", testobj.Parent("infra", "gw", "http"), testobj.Rule(nil, nil, web, func() gatewayv1.HTTPBackendRef {
			b := web
			b.Filters = []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier, RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{}}}
			return b
		}())), "True/Accepted", "True/ResolvedRefs", map[string]int32{"http": 1}},
		// A filter that cannot be applied makes its rule answer 500; the route stays attached.
		{"unsupported filter", testobj.Route("apps", "r", testobj.Parent("infra", "gw", "http"), testobj.Rule(nil, []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterExtensionRef}}, web)),
			"True/Accepted", "True/ResolvedRefs", map[string]int32{"http": 1}},
		// A filter type the API does not define rejects the route (HTTPRouteFilter.Type).
		{"unknown filter type", testobj.Route("apps", "r", testobj.Parent("infra", "gw", "http"), testobj.Rule(nil, []gatewayv1.HTTPRouteFilter{{Type: "Teleport"}}, web)),
			"False/UnsupportedValue", "True/ResolvedRefs", map[string]int32{"http": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := run(testobj.Snapshot(gw, tt.route, svc, slice, svcInfra, sliceInfra, nsApps, nsOther))
			if len(tr.Status.Routes) != 1 || len(tr.Status.Routes[0].Parents) != 1 {
				t.Fatalf("route status = %+v, want one parent entry", tr.Status.Routes)
			}
			p := tr.Status.Routes[0].Parents[0]
			if p.ControllerName != testobj.ControllerName {
				t.Errorf("controllerName = %q", p.ControllerName)
			}
			got := conds(p.Conditions)
			if got["Accepted"] != tt.wantAccepted || got["ResolvedRefs"] != tt.wantRefs {
				t.Errorf("conditions = %v, want Accepted %s, ResolvedRefs %s", got, tt.wantAccepted, tt.wantRefs)
			}
			for _, l := range tr.Status.Gateway.Listeners {
				if want, ok := tt.wantAttached[string(l.Name)]; ok && l.AttachedRoutes != want {
					t.Errorf("listener %s attachedRoutes = %d, want %d", l.Name, l.AttachedRoutes, want)
				}
			}
		})
	}
}

func TestTranslateRouteLeftGateway(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	r := testobj.Route("infra", "r", testobj.Parent("", "other-gw", ""))
	tr := run(testobj.Snapshot(gw, r))
	if len(tr.Status.Routes) != 1 || len(tr.Status.Routes[0].Parents) != 0 {
		t.Fatalf("a route that no longer names the Gateway must get no entry from it, got %+v", tr.Status.Routes)
	}
}

func TestTranslateBackends(t *testing.T) {
	svc, slice := testobj.Service("infra", "web", 80, 8080, "10.0.0.2", "10.0.0.1")
	notReady := slice.DeepCopy()
	notReady.Name = "web-def"
	notReady.Endpoints[0].Addresses = []string{"10.0.0.9"}
	notReady.Endpoints[0].Conditions.Ready = ptr.To(false)
	notReady.Endpoints = notReady.Endpoints[:1]
	empty, _ := testobj.Service("infra", "empty", 80, 8080)
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	r := testobj.Route("infra", "r", testobj.Parent("", "gw", ""), testobj.Rule(nil, nil,
		testobj.Backend("", "web", 80, 3), testobj.Backend("", "empty", 80, 1), testobj.Backend("", "missing", 80, 2)))
	tr := run(testobj.Snapshot(gw, r, svc, slice, notReady, empty))
	rules := tr.Gateway.HTTP[0].Listeners[0].VirtualHosts[0].Routes
	want := []ir.Backend{
		{Name: "infra/web:80", Weight: 3, Endpoints: []string{"10.0.0.1:8080", "10.0.0.2:8080"}},
		{Name: "infra/empty:80", Weight: 1, Failure: 503},
		{Weight: 2, Failure: 500},
	}
	if d := cmp.Diff(want, rules[0].Backends); d != "" {
		t.Errorf("backends (-want +got):\n%s", d)
	}
}

func TestTranslatePrecedence(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	web := testobj.Backend("", "web", 80, 1)
	headerMatch := testobj.PathPrefix("/")
	headerMatch.Headers = []gatewayv1.HTTPHeaderMatch{{Name: "x", Value: "1"}, {Name: "y", Value: "2"}}
	oneHeader := testobj.PathPrefix("/")
	oneHeader.Headers = []gatewayv1.HTTPHeaderMatch{{Name: "x", Value: "1"}}
	method := testobj.PathPrefix("/")
	method.Method = ptr.To(gatewayv1.HTTPMethodPost)
	query := testobj.PathPrefix("/")
	query.QueryParams = []gatewayv1.HTTPQueryParamMatch{{Name: "q", Value: "1"}}
	older := testobj.Route("infra", "z-older", testobj.Parent("", "gw", ""), testobj.CreatedAt(testobj.Time.Add(-time.Hour)), testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix("/")}, nil, web))
	newer := testobj.Route("infra", "a-newer", testobj.Parent("", "gw", ""), testobj.Rule([]gatewayv1.HTTPRouteMatch{
		testobj.PathPrefix("/"), query, oneHeader, headerMatch, method, testobj.PathPrefix("/foo/bar"), testobj.PathPrefix("/foo"), testobj.PathExact("/foo"),
	}, nil, web))
	tr := run(testobj.Snapshot(gw, older, newer))
	var got []string
	for _, r := range tr.Gateway.HTTP[0].Listeners[0].VirtualHosts[0].Routes {
		got = append(got, r.Source.Name+":"+strconv.Itoa(r.Source.Match))
	}
	want := []string{
		"a-newer:7", // Exact /foo
		"a-newer:5", // prefix /foo/bar
		"a-newer:6", // prefix /foo
		"a-newer:4", // method
		"a-newer:3", // two headers
		"a-newer:2", // one header
		"a-newer:1", // query
		"z-older:0", // oldest route wins the tie
		"a-newer:0",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("precedence (-want +got):\n%s", d)
	}
}

func TestTranslateListenerHostnamesAndVirtualHosts(t *testing.T) {
	gw := testobj.Gateway(
		testobj.Listener("any", gatewayv1.HTTPProtocolType, 80, ""),
		testobj.Listener("wild", gatewayv1.HTTPProtocolType, 80, "*.example.com"),
		testobj.Listener("exact", gatewayv1.HTTPProtocolType, 80, "a.example.com"),
	)
	web := testobj.Backend("", "web", 80, 1)
	r1 := testobj.Route("infra", "r1", testobj.Parent("", "gw", "wild"), testobj.Hostnames("x.example.com", "*.y.example.com", "other.org"), testobj.Rule(nil, nil, web))
	r2 := testobj.Route("infra", "r2", testobj.Parent("", "gw", ""), testobj.Rule(nil, nil, web))
	tr := run(testobj.Snapshot(gw, r1, r2))
	if len(tr.Gateway.HTTP) != 1 {
		t.Fatalf("servers = %d, want one for port 80", len(tr.Gateway.HTTP))
	}
	var got []string
	for _, l := range tr.Gateway.HTTP[0].Listeners {
		for _, vh := range l.VirtualHosts {
			got = append(got, l.Name+"|"+vh.Hostname)
		}
	}
	want := []string{"exact|a.example.com", "wild|x.example.com", "wild|*.y.example.com", "wild|*.example.com", "any|"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("listeners and virtual hosts (-want +got):\n%s", d)
	}
	if !meta.IsStatusConditionTrue(tr.Status.Routes[0].Parents[0].Conditions, "Accepted") {
		t.Errorf("r1 should be accepted: %+v", tr.Status.Routes[0].Parents[0].Conditions)
	}
}
