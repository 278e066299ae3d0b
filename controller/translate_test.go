package controller

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// conds summarises conditions as "Type=Status/Reason" for compact expectations.
func conds(cs []metav1.Condition) map[string]string {
	out := map[string]string{}
	for _, c := range cs {
		out[c.Type] = string(c.Status) + "/" + c.Reason
	}
	return out
}

func translate(s *Snapshot) *Translation {
	return Translate(s, TranslateOptions{ControllerName: testController})
}

func TestTranslateListeners(t *testing.T) {
	otherNS := "certs"
	tests := []struct {
		name         string
		gw           *gatewayv1.Gateway
		objs         func(t *testing.T) []any
		wantGateway  map[string]string
		wantListener map[string]map[string]string
		wantKinds    map[string]int
	}{
		{
			name:        "http listener accepted",
			gw:          testGateway(withListener("http", gatewayv1.HTTPProtocolType, 80, "")),
			wantGateway: map[string]string{"Accepted": "True/Accepted"},
			wantListener: map[string]map[string]string{"http": {
				"Accepted": "True/Accepted", "Conflicted": "False/NoConflicts", "ResolvedRefs": "True/ResolvedRefs"}},
			wantKinds: map[string]int{"http": 1},
		},
		{
			name: "unsupported protocol on one listener",
			gw: testGateway(withListener("http", gatewayv1.HTTPProtocolType, 80, ""),
				withListener("udp", gatewayv1.UDPProtocolType, 53, "")),
			wantGateway: map[string]string{"Accepted": "True/ListenersNotValid"},
			wantListener: map[string]map[string]string{
				"http": {"Accepted": "True/Accepted"},
				"udp":  {"Accepted": "False/UnsupportedProtocol"},
			},
			wantKinds: map[string]int{"http": 1, "udp": 0},
		},
		{
			name:         "every listener invalid",
			gw:           testGateway(withListener("udp", gatewayv1.UDPProtocolType, 53, "")),
			wantGateway:  map[string]string{"Accepted": "False/ListenersNotValid"},
			wantListener: map[string]map[string]string{"udp": {"Accepted": "False/UnsupportedProtocol"}},
		},
		{
			name: "http and https on one port conflict",
			gw: testGateway(withListener("a", gatewayv1.HTTPProtocolType, 8080, "a.example.com"),
				withListener("b", gatewayv1.HTTPSProtocolType, 8080, "b.example.com", withCert("", "cert"))),
			objs:        func(t *testing.T) []any { return []any{tlsSecret(t, "infra", "cert", "b.example.com")} },
			wantGateway: map[string]string{"Accepted": "False/ListenersNotValid"},
			wantListener: map[string]map[string]string{
				"a": {"Accepted": "False/ProtocolConflict", "Conflicted": "True/ProtocolConflict"},
				"b": {"Accepted": "False/ProtocolConflict", "Conflicted": "True/ProtocolConflict"},
			},
		},
		{
			name: "invalid route kinds",
			gw: testGateway(withListener("http", gatewayv1.HTTPProtocolType, 80, "", func(l *gatewayv1.Listener) {
				l.AllowedRoutes = &gatewayv1.AllowedRoutes{Kinds: []gatewayv1.RouteGroupKind{{Kind: "HTTPRoute"}, {Kind: "FooRoute"}}}
			})),
			wantGateway:  map[string]string{"Accepted": "True/Accepted"},
			wantListener: map[string]map[string]string{"http": {"Accepted": "True/Accepted", "ResolvedRefs": "False/InvalidRouteKinds"}},
			wantKinds:    map[string]int{"http": 1},
		},
		{
			name:         "https with a missing secret",
			gw:           testGateway(withListener("https", gatewayv1.HTTPSProtocolType, 443, "", withCert("", "missing"))),
			wantListener: map[string]map[string]string{"https": {"Accepted": "True/Accepted", "ResolvedRefs": "False/InvalidCertificateRef"}},
		},
		{
			name: "https with a malformed secret",
			gw:   testGateway(withListener("https", gatewayv1.HTTPSProtocolType, 443, "", withCert("", "bad"))),
			objs: func(t *testing.T) []any {
				s := tlsSecret(t, "infra", "bad", "a.example.com")
				s.Data[corev1.TLSCertKey] = []byte("not a certificate")
				return []any{s}
			},
			wantListener: map[string]map[string]string{"https": {"ResolvedRefs": "False/InvalidCertificateRef"}},
		},
		{
			name:         "https with a cross-namespace secret and no grant",
			gw:           testGateway(withListener("https", gatewayv1.HTTPSProtocolType, 443, "", withCert(otherNS, "cert"))),
			objs:         func(t *testing.T) []any { return []any{tlsSecret(t, otherNS, "cert", "a.example.com")} },
			wantListener: map[string]map[string]string{"https": {"ResolvedRefs": "False/RefNotPermitted"}},
		},
		{
			name: "https with a cross-namespace secret and a grant",
			gw:   testGateway(withListener("https", gatewayv1.HTTPSProtocolType, 443, "", withCert(otherNS, "cert"))),
			objs: func(t *testing.T) []any {
				return []any{tlsSecret(t, otherNS, "cert", "a.example.com"), grant(otherNS, "infra", "Gateway", "Secret", "")}
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
			tr := translate(testSnapshot(tt.gw, objs...))
			for typ, want := range tt.wantGateway {
				if got := conds(tr.GatewayConditions)[typ]; got != want {
					t.Errorf("gateway %s = %s, want %s", typ, got, want)
				}
			}
			for _, l := range tr.Listeners {
				for typ, want := range tt.wantListener[string(l.Name)] {
					if got := conds(l.Conditions)[typ]; got != want {
						t.Errorf("listener %s %s = %s, want %s", l.Name, typ, got, want)
					}
				}
				if n, ok := tt.wantKinds[string(l.Name)]; ok && len(l.SupportedKinds) != n {
					t.Errorf("listener %s supportedKinds = %v, want %d", l.Name, l.SupportedKinds, n)
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
	svc, slice := testService("apps", "web", 80, 8080, "10.0.0.1")
	svcInfra, sliceInfra := testService("infra", "web", 80, 8080, "10.0.0.2")
	gw := testGateway(
		withListener("http", gatewayv1.HTTPProtocolType, 80, "", fromAll),
		withListener("same", gatewayv1.HTTPProtocolType, 8080, ""),
		withListener("foo", gatewayv1.HTTPProtocolType, 8081, "foo.example.com", fromAll),
		withListener("selected", gatewayv1.HTTPProtocolType, 8082, "", func(l *gatewayv1.Listener) {
			l.AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{
				From: ptr.To(gatewayv1.NamespacesFromSelector), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}}
		}),
	)
	nsApps := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps", Labels: map[string]string{"team": "a"}}}
	nsOther := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}
	web := backend("", "web", 80, 1)
	tests := []struct {
		name         string
		route        *gatewayv1.HTTPRoute
		wantAccepted string
		wantRefs     string
		wantAttached map[string]int32
	}{
		{"whole gateway from another namespace", testRoute("apps", "r", parent("infra", "gw", ""), rule(nil, nil, web)),
			"True/Accepted", "True/ResolvedRefs", map[string]int32{"http": 1, "same": 0, "foo": 1, "selected": 1}},
		{"section name", testRoute("apps", "r", parent("infra", "gw", "foo"), rule(nil, nil, web)),
			"True/Accepted", "True/ResolvedRefs", map[string]int32{"http": 0, "foo": 1}},
		{"unknown section name", testRoute("apps", "r", parent("infra", "gw", "nope"), rule(nil, nil, web)),
			"False/NoMatchingParent", "True/ResolvedRefs", map[string]int32{"http": 0}},
		{"port that matches no listener", testRoute("apps", "r", func(r *gatewayv1.HTTPRoute) {
			r.Spec.ParentRefs = []gatewayv1.ParentReference{{Name: "gw", Namespace: ptr.To(gatewayv1.Namespace("infra")), Port: ptr.To(gatewayv1.PortNumber(9999))}}
		}, rule(nil, nil, web)), "False/NoMatchingParent", "True/ResolvedRefs", nil},
		{"same-namespace listener refuses another namespace", testRoute("apps", "r", parent("infra", "gw", "same"), rule(nil, nil, web)),
			"False/NotAllowedByListeners", "True/ResolvedRefs", map[string]int32{"same": 0}},
		{"selector refuses an unlabelled namespace", testRoute("other", "r", parent("infra", "gw", "selected"), rule(nil, nil, backend("apps", "web", 80, 1))),
			"False/NotAllowedByListeners", "False/RefNotPermitted", nil},
		{"hostnames that no listener answers", testRoute("apps", "r", parent("infra", "gw", "foo"), hostnames("bar.example.com"), rule(nil, nil, web)),
			"False/NoMatchingListenerHostname", "True/ResolvedRefs", map[string]int32{"foo": 0}},
		{"missing backend", testRoute("apps", "r", parent("infra", "gw", "http"), rule(nil, nil, backend("", "nope", 80, 1))),
			"True/Accepted", "False/BackendNotFound", map[string]int32{"http": 1}},
		{"backend of an unknown kind", testRoute("apps", "r", parent("infra", "gw", "http"), rule(nil, nil, func() gatewayv1.HTTPBackendRef {
			b := web
			b.Kind = ptr.To(gatewayv1.Kind("Unknown"))
			return b
		}())), "True/Accepted", "False/InvalidKind", nil},
		{"cross-namespace backend without a grant", testRoute("apps", "r", parent("infra", "gw", "http"), rule(nil, nil, backend("infra", "web", 80, 1))),
			"True/Accepted", "False/RefNotPermitted", nil},
		{"backend filters with several backends", testRoute("apps", "r", parent("infra", "gw", "http"), rule(nil, nil, web, func() gatewayv1.HTTPBackendRef {
			b := web
			b.Filters = []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier, RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{}}}
			return b
		}())), "False/UnsupportedValue", "True/ResolvedRefs", map[string]int32{"http": 0}},
		{"unsupported filter", testRoute("apps", "r", parent("infra", "gw", "http"), rule(nil, []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterExtensionRef}}, web)),
			"False/UnsupportedValue", "True/ResolvedRefs", map[string]int32{"http": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := translate(testSnapshot(gw, tt.route, svc, slice, svcInfra, sliceInfra, nsApps, nsOther))
			if len(tr.Routes) != 1 || len(tr.Routes[0].Parents) != 1 {
				t.Fatalf("route status = %+v, want one parent entry", tr.Routes)
			}
			p := tr.Routes[0].Parents[0]
			if p.ControllerName != testController {
				t.Errorf("controllerName = %q", p.ControllerName)
			}
			got := conds(p.Conditions)
			if got["Accepted"] != tt.wantAccepted || got["ResolvedRefs"] != tt.wantRefs {
				t.Errorf("conditions = %v, want Accepted %s, ResolvedRefs %s", got, tt.wantAccepted, tt.wantRefs)
			}
			for _, l := range tr.Listeners {
				if want, ok := tt.wantAttached[string(l.Name)]; ok && l.AttachedRoutes != want {
					t.Errorf("listener %s attachedRoutes = %d, want %d", l.Name, l.AttachedRoutes, want)
				}
			}
		})
	}
}

func TestTranslateRouteLeftGateway(t *testing.T) {
	gw := testGateway(withListener("http", gatewayv1.HTTPProtocolType, 80, ""))
	r := testRoute("infra", "r", parent("", "other-gw", ""))
	tr := translate(testSnapshot(gw, r))
	if len(tr.Routes) != 1 || len(tr.Routes[0].Parents) != 0 {
		t.Fatalf("a route that no longer names the Gateway must get no entry from it, got %+v", tr.Routes)
	}
}

func TestTranslateBackends(t *testing.T) {
	svc, slice := testService("infra", "web", 80, 8080, "10.0.0.2", "10.0.0.1")
	notReady := slice.DeepCopy()
	notReady.Name = "web-def"
	notReady.Endpoints[0].Addresses = []string{"10.0.0.9"}
	notReady.Endpoints[0].Conditions.Ready = ptr.To(false)
	notReady.Endpoints = notReady.Endpoints[:1]
	empty, _ := testService("infra", "empty", 80, 8080)
	gw := testGateway(withListener("http", gatewayv1.HTTPProtocolType, 80, ""))
	r := testRoute("infra", "r", parent("", "gw", ""), rule(nil, nil,
		backend("", "web", 80, 3), backend("", "empty", 80, 1), backend("", "missing", 80, 2)))
	tr := translate(testSnapshot(gw, r, svc, slice, notReady, empty))
	rules := tr.Model.Servers[0].Listeners[0].VirtualHosts[0].Rules
	want := []Backend{
		{Service: nn("infra", "web"), Weight: 3, Endpoints: []string{"10.0.0.1:8080", "10.0.0.2:8080"}},
		{Service: nn("infra", "empty"), Weight: 1, FailureStatus: 503},
		{Weight: 2, FailureStatus: 500},
	}
	if d := cmp.Diff(want, rules[0].Backends); d != "" {
		t.Errorf("backends (-want +got):\n%s", d)
	}
}

func TestTranslatePrecedence(t *testing.T) {
	gw := testGateway(withListener("http", gatewayv1.HTTPProtocolType, 80, ""))
	web := backend("", "web", 80, 1)
	headerMatch := pathPrefix("/")
	headerMatch.Headers = []gatewayv1.HTTPHeaderMatch{{Name: "x", Value: "1"}, {Name: "y", Value: "2"}}
	oneHeader := pathPrefix("/")
	oneHeader.Headers = []gatewayv1.HTTPHeaderMatch{{Name: "x", Value: "1"}}
	method := pathPrefix("/")
	method.Method = ptr.To(gatewayv1.HTTPMethodPost)
	query := pathPrefix("/")
	query.QueryParams = []gatewayv1.HTTPQueryParamMatch{{Name: "q", Value: "1"}}
	older := testRoute("infra", "z-older", parent("", "gw", ""), createdAt(testTime.Add(-time.Hour)), rule([]gatewayv1.HTTPRouteMatch{pathPrefix("/")}, nil, web))
	newer := testRoute("infra", "a-newer", parent("", "gw", ""), rule([]gatewayv1.HTTPRouteMatch{
		pathPrefix("/"), query, oneHeader, headerMatch, method, pathPrefix("/foo/bar"), pathPrefix("/foo"), pathExact("/foo"),
	}, nil, web))
	tr := translate(testSnapshot(gw, older, newer))
	var got []string
	for _, r := range tr.Model.Servers[0].Listeners[0].VirtualHosts[0].Rules {
		got = append(got, r.Route.Name+":"+itoa(r.MatchIndex))
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
	gw := testGateway(
		withListener("any", gatewayv1.HTTPProtocolType, 80, ""),
		withListener("wild", gatewayv1.HTTPProtocolType, 80, "*.example.com"),
		withListener("exact", gatewayv1.HTTPProtocolType, 80, "a.example.com"),
	)
	web := backend("", "web", 80, 1)
	r1 := testRoute("infra", "r1", parent("", "gw", "wild"), hostnames("x.example.com", "*.y.example.com", "other.org"), rule(nil, nil, web))
	r2 := testRoute("infra", "r2", parent("", "gw", ""), rule(nil, nil, web))
	tr := translate(testSnapshot(gw, r1, r2))
	if len(tr.Model.Servers) != 1 {
		t.Fatalf("servers = %d, want one for port 80", len(tr.Model.Servers))
	}
	var got []string
	for _, l := range tr.Model.Servers[0].Listeners {
		for _, vh := range l.VirtualHosts {
			got = append(got, l.Name+"|"+vh.Hostname)
		}
	}
	want := []string{"exact|a.example.com", "wild|x.example.com", "wild|*.y.example.com", "wild|*.example.com", "any|"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("listeners and virtual hosts (-want +got):\n%s", d)
	}
	if !meta.IsStatusConditionTrue(tr.Routes[0].Parents[0].Conditions, "Accepted") {
		t.Errorf("r1 should be accepted: %+v", tr.Routes[0].Parents[0].Conditions)
	}
}
