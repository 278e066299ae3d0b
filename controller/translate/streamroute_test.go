package translate_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/translate"
)

func streamRef(name string, port int32) gatewayv1.BackendRef {
	return gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
		Name: gatewayv1.ObjectName(name), Port: ptr.To(gatewayv1.PortNumber(port)),
	}}
}

func tlsRouteWith(hostnames []string, backends ...gatewayv1.BackendRef) *gatewayv1.TLSRoute {
	r := &gatewayv1.TLSRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "r", Generation: 1},
		Spec: gatewayv1.TLSRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Rules:           []gatewayv1.TLSRouteRule{{BackendRefs: backends}},
		},
	}
	for _, h := range hostnames {
		r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(h))
	}
	return r
}

func passthrough(l *gatewayv1.Listener) {
	l.TLS = &gatewayv1.ListenerTLSConfig{Mode: ptr.To(gatewayv1.TLSModePassthrough)}
}

// TLSRoute hostnames are written by route authors and become SNI matchers: a value Kengine
// would compile differently from what the author wrote rejects the route (the CRD's own
// validation is not relied on: the controller may run against objects created without it).
func TestTranslateRejectsHostileTLSRouteHostnames(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("tls", gatewayv1.TLSProtocolType, 443, "", testobj.FromAll, passthrough))
	svc, slice := testobj.Service("infra", "b", 443, 8443, "10.0.0.5")
	for _, h := range []string{
		`a.example.com"}`,
		`*.exa(mple.com`,
		`a.*.example.com`,
		`{env.SECRET}.example.com`,
		"a.example.com\n",
		"10.0.0.1",
		"*",
	} {
		t.Run(h, func(t *testing.T) {
			tr := translate.Translate(testobj.Snapshot(gw, tlsRouteWith([]string{h}, streamRef("b", 443)), svc, slice),
				translate.Options{ControllerName: testobj.ControllerName})
			acc := meta.FindStatusCondition(tr.Status.Routes[0].Parents[0].Conditions, string(gatewayv1.RouteConditionAccepted))
			if acc.Status != metav1.ConditionFalse || acc.Reason != string(gatewayv1.RouteReasonUnsupportedValue) {
				t.Errorf("Accepted = %s/%s (%s), want False/UnsupportedValue", acc.Status, acc.Reason, acc.Message)
			}
			for _, srv := range tr.Gateway.TLS {
				for _, r := range srv.Routes {
					if len(r.Backends) > 0 {
						t.Errorf("hostile route reached the model: %+v", r)
					}
				}
			}
		})
	}
}

// A stream route's backends pass the same address policy as HTTP backends.
func TestTranslateRefusesStreamBackendsThatReachTheProxy(t *testing.T) {
	gw := testobj.Gateway(
		testobj.Listener("tcp", gatewayv1.TCPProtocolType, 5432, "", testobj.FromAll),
		testobj.Listener("udp", gatewayv1.UDPProtocolType, 53, "", testobj.FromAll))
	loop, loopSlice := testobj.Service("infra", "loop", 2019, 2019, "127.0.0.1")
	udpLoop := loop.DeepCopy()
	udpLoop.Name = "udp-loop"
	udpLoop.Spec.Ports[0].Protocol = corev1.ProtocolUDP
	udpSlice := loopSlice.DeepCopy()
	udpSlice.Labels = map[string]string{"kubernetes.io/service-name": "udp-loop"}
	udpSlice.Ports[0].Protocol = ptr.To(corev1.ProtocolUDP)
	tcp := &gatewayv1.TCPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "tcp", Generation: 1},
		Spec: gatewayv1.TCPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw", SectionName: ptr.To(gatewayv1.SectionName("tcp"))}}},
			Rules:           []gatewayv1.TCPRouteRule{{BackendRefs: []gatewayv1.BackendRef{streamRef("loop", 2019)}}},
		},
	}
	udp := &gatewayv1.UDPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "udp", Generation: 1},
		Spec: gatewayv1.UDPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw", SectionName: ptr.To(gatewayv1.SectionName("udp"))}}},
			Rules:           []gatewayv1.UDPRouteRule{{BackendRefs: []gatewayv1.BackendRef{streamRef("udp-loop", 2019)}}},
		},
	}
	tr := translate.Translate(testobj.Snapshot(gw, tcp, udp, loop, loopSlice, udpLoop, udpSlice), translate.Options{ControllerName: testobj.ControllerName})
	for _, rr := range tr.Status.Routes {
		refs := meta.FindStatusCondition(rr.Parents[0].Conditions, string(gatewayv1.RouteConditionResolvedRefs))
		if refs.Reason != string(gatewayv1.RouteReasonRefNotPermitted) {
			t.Errorf("%s: ResolvedRefs %s (%s), want RefNotPermitted", rr.Route.GetName(), refs.Reason, refs.Message)
		}
	}
	for _, srv := range append(tr.Gateway.TCP, tr.Gateway.UDP...) {
		for _, b := range srv.Backends {
			if len(b.Endpoints) > 0 {
				t.Errorf("port %d dials %v", srv.Port, b.Endpoints)
			}
		}
	}
}

// Without the layer4 app, TLS, TCP and UDP listeners stay valid, with their routes attached,
// but leave the model and are reported unprogrammable; HTTP listeners are not affected.
func TestTranslateWithoutLayer4LeavesOutStreamListeners(t *testing.T) {
	gw := testobj.Gateway(
		testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, "", testobj.FromAll),
		testobj.Listener("tcp", gatewayv1.TCPProtocolType, 5432, "", testobj.FromAll),
		testobj.Listener("tls", gatewayv1.TLSProtocolType, 443, "", testobj.FromAll, passthrough))
	svc, slice := testobj.Service("infra", "b", 443, 8443, "10.0.0.5")
	s := testobj.Snapshot(gw, tlsRouteWith([]string{"a.example.com"}, streamRef("b", 443)), svc, slice)
	s.Layer4Unavailable = "no layer4 here"
	tr := translate.Translate(s, translate.Options{ControllerName: testobj.ControllerName})
	if len(tr.Gateway.TLS)+len(tr.Gateway.TCP)+len(tr.Gateway.UDP) != 0 || len(tr.Gateway.HTTP) != 1 {
		t.Errorf("model has %d TLS, %d TCP, %d HTTP servers; want only the HTTP one", len(tr.Gateway.TLS), len(tr.Gateway.TCP), len(tr.Gateway.HTTP))
	}
	got := tr.Status.Gateway.Unprogrammable
	if len(got) != 2 || got["tcp"] != "no layer4 here" || got["tls"] != "no layer4 here" {
		t.Errorf("Unprogrammable = %v, want tcp and tls", got)
	}
	for _, l := range tr.Status.Gateway.Listeners {
		if !meta.IsStatusConditionTrue(l.Conditions, string(gatewayv1.ListenerConditionAccepted)) {
			t.Errorf("listener %s not accepted: %+v", l.Name, l.Conditions)
		}
	}
	if !meta.IsStatusConditionTrue(tr.Status.Routes[0].Parents[0].Conditions, string(gatewayv1.RouteConditionAccepted)) {
		t.Errorf("TLSRoute not accepted: %+v", tr.Status.Routes[0].Parents[0].Conditions)
	}
}
