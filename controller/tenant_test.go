package controller

import (
	"context"
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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/informers"
	"github.com/khulnasoft/gateway/kengine"
)

// Tests of the tenant boundary (DESIGN.md §2a): what a route author writes can neither reach
// the proxy's own addresses nor make Kengine refuse the Gateway's config.

func TestBackendAddressPolicy(t *testing.T) {
	p := newBackendAddressPolicy([]string{"10.0.0.7", "fd00::7"}, false)
	for addr, forbidden := range map[string]bool{
		"10.1.2.3": false, "192.168.0.4": false, "fd00::1234": false, "8.8.8.8": false,
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "::ffff:127.0.0.1": true,
		"169.254.169.254": true, "169.254.0.1": true, "fe80::1": true, "fd00:ec2::254": true, "100.100.100.200": true,
		"0.0.0.0": true, "::": true, "224.0.0.1": true, "ff02::1": true,
		"10.0.0.7": true, "fd00::7": true, "::ffff:10.0.0.7": true,
	} {
		a := netip.MustParseAddr(addr)
		if got := p.forbidden(a) != ""; got != forbidden {
			t.Errorf("forbidden(%s) = %v (%q), want %v", addr, got, p.forbidden(a), forbidden)
		}
	}
	if why := p.forbidden(netip.Addr{}); why == "" {
		t.Error("an address that does not parse must be refused")
	}
	if why := newBackendAddressPolicy(nil, true).forbidden(netip.MustParseAddr("127.0.0.1")); why != "" {
		t.Errorf("allowLoopback admits loopback, got %q", why)
	}
}

func TestNameResolverCachesAndExpires(t *testing.T) {
	now := time.Unix(1000, 0)
	calls := 0
	r := newNameResolver(func(ctx context.Context, host string) ([]netip.Addr, error) {
		calls++
		if host == "broken.example" {
			return nil, errors.New("no such host")
		}
		return []netip.Addr{netip.MustParseAddr("10.0.0.9"), netip.MustParseAddr("::ffff:10.0.0.8")}, nil
	}, func() time.Time { return now })
	res := r.resolve(context.Background(), "db.example")
	if res.Err != nil || len(res.Addrs) != 2 || res.Addrs[0] != netip.MustParseAddr("10.0.0.8") {
		t.Fatalf("resolve = %+v, want sorted and unmapped addresses", res)
	}
	r.resolve(context.Background(), "db.example")
	if calls != 1 {
		t.Errorf("%d lookups, want 1 while the answer is fresh", calls)
	}
	now = now.Add(r.ttl)
	r.resolve(context.Background(), "db.example")
	if calls != 2 {
		t.Errorf("%d lookups, want 2 after the answer expired", calls)
	}
	if res := r.resolve(context.Background(), "broken.example"); res.Err == nil {
		t.Error("a failed lookup must be reported")
	}
}

// externalNameService is a Service of type ExternalName with one port.
func externalNameService(ns, name, target string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target,
			Ports: []corev1.ServicePort{{Name: "http", Port: 2019, Protocol: corev1.ProtocolTCP}}},
	}
}

func TestTranslateRefusesBackendsThatReachTheProxyOrTheHost(t *testing.T) {
	gw := testGateway(withListener("http", gatewayv1.HTTPProtocolType, 80, ""))
	route := testRoute("infra", "r", parent("", "gw", ""), rule(nil, nil, backend("", "target", 2019, 1)))
	loopbackSvc, loopbackSlice := testService("infra", "target", 2019, 2019, "10.0.0.5", "127.0.0.1")
	proxySvc, proxySlice := testService("infra", "target", 2019, 2019, "10.0.0.7")
	metaSvc, metaSlice := testService("infra", "target", 2019, 80, "169.254.169.254")
	okSvc, okSlice := testService("infra", "target", 2019, 8080, "10.0.0.5")
	tests := []struct {
		name         string
		objs         []any
		allowExtName bool
		names        map[string]ResolvedName
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
			names:      map[string]ResolvedName{"localhost": {Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}},
			wantReason: string(gatewayv1.RouteReasonRefNotPermitted)},
		{name: "ExternalName to the metadata address", objs: []any{externalNameService("infra", "target", "169.254.169.254")}, allowExtName: true,
			names:      map[string]ResolvedName{"169.254.169.254": {Addrs: []netip.Addr{netip.MustParseAddr("169.254.169.254")}}},
			wantReason: string(gatewayv1.RouteReasonRefNotPermitted)},
		{name: "ExternalName that does not resolve", objs: []any{externalNameService("infra", "target", "nx.example")}, allowExtName: true,
			names:      map[string]ResolvedName{"nx.example": {Err: errors.New("no such host")}},
			wantReason: string(gatewayv1.RouteReasonBackendNotFound)},
		{name: "ExternalName allowed, pinned to its addresses", objs: []any{externalNameService("infra", "target", "db.example")}, allowExtName: true,
			names:      map[string]ResolvedName{"db.example": {Addrs: []netip.Addr{netip.MustParseAddr("10.9.0.1")}}},
			wantReason: "ResolvedRefs", wantDial: []string{"10.9.0.1:2019"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSnapshot(gw, append([]any{route}, tt.objs...)...)
			s.ProxyAddresses = []string{"10.0.0.7"}
			s.ExternalNames = tt.names
			tr := Translate(s, TranslateOptions{ControllerName: testController, AllowExternalNameBackends: tt.allowExtName})
			refs := meta.FindStatusCondition(tr.Routes[0].Parents[0].Conditions, string(gatewayv1.RouteConditionResolvedRefs))
			if refs.Reason != tt.wantReason {
				t.Fatalf("ResolvedRefs reason %q (%s), want %q", refs.Reason, refs.Message, tt.wantReason)
			}
			b := tr.Model.Servers[0].Listeners[0].VirtualHosts[0].Rules[0].Backends[0]
			if tt.wantDial == nil {
				if b.FailureStatus != 500 || len(b.Endpoints) != 0 {
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
	gw := testGateway(
		withListener("admin", gatewayv1.HTTPProtocolType, 2021, ""),
		withListener("health", gatewayv1.HTTPProtocolType, 19081, ""),
		withListener("punycode", gatewayv1.HTTPProtocolType, 80, "xn--0.example.com"),
		withListener("ok", gatewayv1.HTTPProtocolType, 80, "ok.example.com"),
		withListener("noname", gatewayv1.HTTPSProtocolType, 443, "", withCert("", "noname")),
	)
	tr := Translate(testSnapshot(gw, noName), TranslateOptions{ControllerName: testController, ReservedPorts: []int{2019, 2021, 19080, 19081, 19082}})
	want := map[string]string{
		"admin":    "False/" + string(gatewayv1.ListenerReasonPortUnavailable),
		"health":   "False/" + string(gatewayv1.ListenerReasonPortUnavailable),
		"punycode": "False/" + string(gatewayv1.ListenerReasonUnsupportedValue),
		"ok":       "True/" + string(gatewayv1.ListenerReasonAccepted),
	}
	for _, l := range tr.Listeners {
		if w, ok := want[string(l.Name)]; ok && conds(l.Conditions)["Accepted"] != w {
			t.Errorf("listener %s Accepted = %s, want %s", l.Name, conds(l.Conditions)["Accepted"], w)
		}
	}
	if got := conds(tr.Listeners[4].Conditions)["ResolvedRefs"]; got != "False/"+string(gatewayv1.ListenerReasonInvalidCertificateRef) {
		t.Errorf("certificate without names: ResolvedRefs = %s, want InvalidCertificateRef", got)
	}
	if tr.ListenerValid["noname"] {
		t.Error("a listener whose certificate Kengine cannot load must not be served")
	}
}

// certWithoutNames is a kubernetes.io/tls Secret whose certificate has no subject name at all,
// which Kengine refuses to load.
func certWithoutNames(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	return selfSignedSecret(t, ns, name, &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
}

func TestTranslateDropsOnlyTheBadRule(t *testing.T) {
	gw := testGateway(withListener("http", gatewayv1.HTTPProtocolType, 80, ""))
	svc, slice := testService("infra", "web", 80, 8080, "10.0.0.5")
	regex := func(v string) gatewayv1.HTTPRouteMatch {
		return gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchRegularExpression), Value: ptr.To(v)}}
	}
	good := rule([]gatewayv1.HTTPRouteMatch{pathPrefix("/good")}, nil, backend("", "web", 80, 1))
	tests := []struct {
		name     string
		bad      routeOpt
		wantText string
	}{
		{"a regex that does not compile once wrapped", rule([]gatewayv1.HTTPRouteMatch{regex(`/foo\Q`)}, nil, backend("", "web", 80, 1)), "regular expression"},
		{"a regex too costly to run", rule([]gatewayv1.HTTPRouteMatch{regex(`((((a{10}){10}){10}){10})`)}, nil, backend("", "web", 80, 1)), "regular expression"},
		{"a wildcard header removal", rule(nil, []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
			RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Remove: []string{"*"}}}}, backend("", "web", 80, 1)), "wildcard"},
		{"a query value Kengine reads as a wildcard", rule([]gatewayv1.HTTPRouteMatch{{Path: pathPrefix("/q").Path,
			QueryParams: []gatewayv1.HTTPQueryParamMatch{{Name: "q", Value: "*"}}}}, nil, backend("", "web", 80, 1)), "'*'"},
		{"timeouts, refused until supported", func(r *gatewayv1.HTTPRoute) {
			r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("1s"))}})
		}, "timeouts"},
		{"retry, refused until supported", func(r *gatewayv1.HTTPRoute) {
			r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{Retry: &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(2)}})
		}, "retry"},
		{"sessionPersistence, refused until supported", func(r *gatewayv1.HTTPRoute) {
			r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{SessionPersistence: &gatewayv1.SessionPersistence{}})
		}, "sessionPersistence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRoute("infra", "r", parent("", "gw", ""), good, tt.bad)
			tr := translate(testSnapshot(gw, r, svc, slice))
			c := tr.Routes[0].Parents[0].Conditions
			if got := conds(c)["Accepted"]; got != "True/Accepted" {
				t.Errorf("Accepted = %s, want True: the good rule is still served", got)
			}
			partial := meta.FindStatusCondition(c, string(gatewayv1.RouteConditionPartiallyInvalid))
			if partial == nil || partial.Reason != string(gatewayv1.RouteReasonUnsupportedValue) ||
				!strings.HasPrefix(partial.Message, "Dropped Rule(s): rule 1: ") || !strings.Contains(partial.Message, tt.wantText) {
				t.Errorf("PartiallyInvalid = %+v, want UnsupportedValue naming rule 1 and %q", partial, tt.wantText)
			}
			if rules := tr.Model.Servers[0].Listeners[0].VirtualHosts[0].Rules; len(rules) != 1 || rules[0].RuleIndex != 0 {
				t.Errorf("served rules = %d, want only rule 0", len(rules))
			}
			if _, err := Render(tr.Model, testRenderOptions()); err != nil {
				t.Errorf("render of the remaining rules: %v", err)
			}
			// The same rule alone leaves nothing to serve: the route is not accepted.
			alone := translate(testSnapshot(gw, testRoute("infra", "r", parent("", "gw", ""), tt.bad), svc, slice))
			if got := conds(alone.Routes[0].Parents[0].Conditions)["Accepted"]; got != "False/"+string(gatewayv1.RouteReasonUnsupportedValue) {
				t.Errorf("route with only the bad rule: Accepted = %s, want False/UnsupportedValue", got)
			}
		})
	}
}

func TestTranslateRefusesInvalidRouteHostnames(t *testing.T) {
	gw := testGateway(withListener("http", gatewayv1.HTTPProtocolType, 80, ""))
	r := testRoute("infra", "r", parent("", "gw", ""), hostnames("ok.example.com", "xn--0.example.com"), rule(nil, nil))
	tr := translate(testSnapshot(gw, r))
	if got := conds(tr.Routes[0].Parents[0].Conditions)["Accepted"]; got != "False/"+string(gatewayv1.RouteReasonUnsupportedValue) {
		t.Errorf("Accepted = %s, want False/UnsupportedValue for a hostname Kengine cannot convert to ASCII", got)
	}
}

func TestTranslateExcludedObjects(t *testing.T) {
	gw := testGateway(withListener("http", gatewayv1.HTTPProtocolType, 80, ""), withListener("other", gatewayv1.HTTPProtocolType, 81, ""))
	svc, slice := testService("infra", "web", 80, 8080, "10.0.0.5")
	a := testRoute("infra", "a", parent("", "gw", "http"), rule(nil, nil, backend("", "web", 80, 1)))
	b := testRoute("infra", "b", parent("", "gw", "http"), rule([]gatewayv1.HTTPRouteMatch{pathPrefix("/b")}, nil, backend("", "web", 80, 1)))
	s := testSnapshot(gw, a, b, svc, slice)
	s.Excluded = map[ObjectRef]string{RouteRef(informers.KindHTTPRoute, "infra", "a"): "bad thing", ListenerRef("other"): "bad listener"}
	tr := translate(s)
	if c := meta.FindStatusCondition(tr.Routes[0].Parents[0].Conditions, "Accepted"); c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "bad thing") {
		t.Errorf("excluded route: %+v, want Accepted=False with Kengine's message", c)
	}
	if got := conds(tr.Routes[1].Parents[0].Conditions)["Accepted"]; got != "True/Accepted" {
		t.Errorf("other route: Accepted = %s", got)
	}
	if got := conds(tr.Listeners[1].Conditions)["Accepted"]; got != "False/"+string(gatewayv1.ListenerReasonUnsupportedValue) {
		t.Errorf("excluded listener: Accepted = %s", got)
	}
}

// isolateRejection must find exactly the objects Kengine refuses, whatever their number, and
// never report an object that is fine.
func TestIsolateRejection(t *testing.T) {
	refs := func(names ...string) []ObjectRef {
		var out []ObjectRef
		for _, n := range names {
			out = append(out, RouteRef(informers.KindHTTPRoute, "ns", n))
		}
		return out
	}
	all := refs("a", "b", "c", "d", "e", "f", "g", "h", "i")
	fps := map[ObjectRef]string{}
	for _, r := range all {
		fps[r] = "1"
	}
	tests := []struct {
		name         string
		bad          []string
		pairs        [][2]string // refused only together
		lastAccepted map[ObjectRef]string
		wantBad      []string
		wantErr      error
	}{
		{name: "one bad route", bad: []string{"e"}, wantBad: []string{"e"}},
		{name: "two bad routes", bad: []string{"b", "h"}, wantBad: []string{"b", "h"}},
		{name: "a pair refused only together keeps the first", pairs: [][2]string{{"c", "g"}}, wantBad: []string{"g"}},
		{name: "the suspect is what changed", bad: []string{"d"}, lastAccepted: map[ObjectRef]string{all[0]: "1", all[1]: "1", all[2]: "1"}, wantBad: []string{"d"}},
		{name: "an unchanged object is found once the suspects are cleared", bad: []string{"a"},
			lastAccepted: map[ObjectRef]string{all[0]: "1", all[1]: "1"}, wantBad: []string{"a"}},
		{name: "refused without any object", bad: []string{"*"}, wantErr: errBaseRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loads := 0
			try := func(_ context.Context, excluded map[ObjectRef]string) (bool, string, error) {
				loads++
				in := func(n string) bool { _, out := excluded[RouteRef(informers.KindHTTPRoute, "ns", n)]; return !out }
				for _, b := range tt.bad {
					if b == "*" || in(b) {
						return false, "refused " + b, nil
					}
				}
				for _, p := range tt.pairs {
					if in(p[0]) && in(p[1]) {
						return false, "refused pair", nil
					}
				}
				return true, "", nil
			}
			got, err := isolateRejection(context.Background(), try, "refused", all, nil, tt.lastAccepted, fps)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			var names []string
			for _, r := range candidateRefs(got) {
				names = append(names, r.Name)
				if got[r] == "" {
					t.Errorf("%s excluded without Kengine's message", r)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.wantBad, ",") {
				t.Errorf("excluded %v, want %v", names, tt.wantBad)
			}
			// Group testing: about 2·log2(n) loads per object found, against n for one at a time.
			if limit := 2 + 2*len(names)*4; loads > limit {
				t.Errorf("%d trial loads for %d objects and %d culprits, want at most %d", loads, len(all), len(names), limit)
			}
		})
	}
}

func TestRejectionMemoryForgetsChangedObjects(t *testing.T) {
	var m rejectionMemory
	gw := nn("infra", "gw")
	a, b := RouteRef(informers.KindHTTPRoute, "ns", "a"), RouteRef(informers.KindHTTPRoute, "ns", "b")
	now := time.Unix(1000, 0)
	m.recordExcluded(gw, map[ObjectRef]string{a: "1", b: "1"}, map[ObjectRef]string{a: "refused", b: "refused"}, now)
	got := m.excludedFor(gw, map[ObjectRef]string{a: "1", b: "2"}, now)
	if _, ok := got[a]; !ok || len(got) != 1 {
		t.Errorf("excluded = %v, want only the unchanged a: editing b tries it again", got)
	}
	if later := m.excludedFor(gw, map[ObjectRef]string{a: "1", b: "2"}, now.Add(exclusionRetry)); len(later) != 0 {
		t.Errorf("excluded after %s = %v, want none: an unchanged object is tried again", exclusionRetry, later)
	}
	m.recordAccepted(gw, map[ObjectRef]string{a: "1", b: "2"}, got)
	if acc := m.lastAccepted(gw); acc[b] != "2" || len(acc) != 1 {
		t.Errorf("last accepted = %v, want b only (a was left out)", acc)
	}
	m.forget(gw)
	if m.lastAccepted(gw) != nil {
		t.Error("a deleted Gateway leaves nothing behind")
	}
}

func TestSyncClearsRouteStatusOfAGoneGateway(t *testing.T) {
	kube, gw := basicObjects()
	route := gw[2].(*gatewayv1.HTTPRoute)
	route.Status.Parents = []gatewayv1.RouteParentStatus{
		{ParentRef: gatewayv1.ParentReference{Name: "gw"}, ControllerName: testController,
			Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.NewTime(testTime)}}},
		{ParentRef: gatewayv1.ParentReference{Name: "foreign"}, ControllerName: "example.com/other",
			Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.NewTime(testTime)}}},
	}
	for name, objs := range map[string][]runtime.Object{
		"deleted": {gw[0], route},
		"moved to a class of another controller": {gw[0], func() runtime.Object {
			g := gw[1].DeepCopyObject().(*gatewayv1.Gateway)
			g.Spec.GatewayClassName = "other"
			return g
		}(),
			&gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Spec: gatewayv1.GatewayClassSpec{ControllerName: "example.com/other"}}, route},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, kube, objs)
			if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
				t.Fatal(err)
			}
			routes := f.statusUpdates("httproutes")
			if len(routes) != 1 {
				t.Fatalf("route status updates = %d, want 1", len(routes))
			}
			parents := routes[0].(*gatewayv1.HTTPRoute).Status.Parents
			if len(parents) != 1 || parents[0].ControllerName != "example.com/other" {
				t.Errorf("parents = %+v, want only the other controller's entry", parents)
			}
			if len(f.pusher.pushes) != 0 {
				t.Errorf("pushed to a Gateway that is not ours")
			}
		})
	}
}

// refusingPusher refuses every config that contains poison, as Kengine refuses a config it
// cannot compile, and accepts the others.
type refusingPusher struct {
	fakePusher
	poison string
}

func (p *refusingPusher) Push(ctx context.Context, eps []kengine.Endpoint, config []byte, version string) []kengine.Result {
	out := p.fakePusher.Push(ctx, eps, config, version)
	if strings.Contains(string(config), p.poison) {
		for i := range out {
			out[i].Err = &kengine.APIError{StatusCode: 400, Message: "loading config: " + p.poison + " is not allowed"}
		}
	}
	return out
}

// Defense in depth: if Kengine refuses a config anyway, only the route it depends on is left
// out (with Kengine's message), the rest is pushed, and the refusal shows in an Event.
func TestSyncLeavesOutWhatKengineRefuses(t *testing.T) {
	kube, gw := basicObjects()
	poisoned := testRoute("infra", "tenant-b", parent("", "gw", ""), rule([]gatewayv1.HTTPRouteMatch{pathPrefix("/b")},
		[]gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
			RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-Poison", Value: "kengine-refuses-this"}}}}},
		backend("", "web", 80, 1)))
	gw = append(gw, poisoned)
	recorder := record.NewFakeRecorder(10)
	pusher := &refusingPusher{poison: "kengine-refuses-this"}
	f := newFixtureWith(t, kube, gw, func(_ *fixture, o *Options) { o.Recorder = recorder })
	f.ctrl.pusher = pusher
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	last := pusher.pushes[len(pusher.pushes)-1]
	if strings.Contains(string(last.config), pusher.poison) || !strings.Contains(string(last.config), `"dial":"10.0.0.1:8080"`) {
		t.Fatalf("last push must serve the other route without the refused one")
	}
	if len(last.endpoints) != 2 {
		t.Errorf("last push went to %d pods, want every pod", len(last.endpoints))
	}
	statuses := map[string]*metav1.Condition{}
	for _, o := range f.statusUpdates("httproutes") {
		r := o.(*gatewayv1.HTTPRoute)
		statuses[r.Name] = meta.FindStatusCondition(r.Status.Parents[0].Conditions, "Accepted")
	}
	if c := statuses["tenant-b"]; c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "is not allowed") {
		t.Errorf("refused route: Accepted = %+v, want False with Kengine's message", c)
	}
	if c := statuses["r"]; c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("other route: Accepted = %+v, want True", c)
	}
	select {
	case e := <-recorder.Events:
		if !strings.Contains(e, "ConfigRefused") || !strings.Contains(e, "HTTPRoute infra/tenant-b") {
			t.Errorf("event %q, want ConfigRefused naming the route", e)
		}
	default:
		t.Error("no Event recorded for the refusal")
	}
	// The next sync remembers the exclusion: no trial loads, one push.
	before := len(pusher.pushes)
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if n := len(pusher.pushes) - before; n != 1 {
		t.Errorf("second sync made %d pushes, want 1", n)
	}
}
