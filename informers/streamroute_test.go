package informers

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"
)

// streamRoutes returns a TLSRoute, a TCPRoute and a UDPRoute with the parents and backends
// of the HTTPRoute route() builds, with their resources.
func streamRoutes(ns, name string, parents []string, backends ...string) map[string]runtime.Object {
	h := route(ns, name, parents, backends...)
	var refs []gatewayv1.BackendRef
	for _, b := range h.Spec.Rules[0].BackendRefs {
		refs = append(refs, b.BackendRef)
	}
	tls := &gatewayv1.TLSRoute{ObjectMeta: h.ObjectMeta}
	tls.Spec.ParentRefs, tls.Spec.Rules = h.Spec.ParentRefs, []gatewayv1.TLSRouteRule{{BackendRefs: refs}}
	tcp := &gatewayv1.TCPRoute{ObjectMeta: h.ObjectMeta}
	tcp.Spec.ParentRefs, tcp.Spec.Rules = h.Spec.ParentRefs, []gatewayv1.TCPRouteRule{{BackendRefs: refs}}
	udp := &gatewayv1.UDPRoute{ObjectMeta: h.ObjectMeta}
	udp.Spec.ParentRefs, udp.Spec.Rules = h.Spec.ParentRefs, []gatewayv1.UDPRouteRule{{BackendRefs: refs}}
	return map[string]runtime.Object{"tlsroutes": tls, "tcproutes": tcp, "udproutes": udp}
}

// TLS, TCP and UDP routes map to Gateways exactly as HTTPRoutes do, and every kind's routes of
// a Gateway are found for it.
func TestStreamRouteEventsMapToAffectedGateways(t *testing.T) {
	for resource, obj := range streamRoutes("apps", "s", []string{"gw"}, "echo") {
		t.Run(resource, func(t *testing.T) {
			e := newEnv(t)
			gvr := schema.GroupVersionResource{Group: gatewayv1.GroupName, Version: "v1", Resource: resource}
			if err := e.gw.Tracker().Create(gvr, obj, "apps"); err != nil {
				t.Fatal(err)
			}
			e.expect("infra/gw")
			e.waitFor(func() bool {
				rs, err := e.inf.AllRoutesForGateway(types.NamespacedName{Namespace: "infra", Name: "gw"})
				return err == nil && len(rs) == 1
			})
			if _, err := e.kube.CoreV1().Services("apps").Create(e.ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "echo"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			e.expect("infra/gw")
			if err := e.gw.Tracker().Delete(gvr, "apps", "s"); err != nil {
				t.Fatal(err)
			}
			e.expect("infra/gw")
		})
	}
}

// Without their CRDs there is no informer to wait for and no stream route to find.
func TestStreamRoutesNotServed(t *testing.T) {
	inf, err := New(kubefake.NewClientset(), gatewayfake.NewSimpleClientset(), ServedKinds{KindGatewayClass: true, KindGateway: true, KindHTTPRoute: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if inf.TLSRoutes != nil || inf.TCPRoutes != nil || inf.UDPRoutes != nil {
		t.Error("a stream route lister exists though the kind is not served")
	}
	gw := types.NamespacedName{Namespace: "infra", Name: "gw"}
	tls, err1 := inf.TLSRoutesForGateway(gw)
	tcp, err2 := inf.TCPRoutesForGateway(gw)
	udp, err3 := inf.UDPRoutesForGateway(gw)
	if tls != nil || tcp != nil || udp != nil || err1 != nil || err2 != nil || err3 != nil {
		t.Errorf("routes found for kinds not served: %v %v %v", tls, tcp, udp)
	}
	if err := inf.AddEventHandlers(&recorder{}); err != nil {
		t.Fatal(err)
	}
}

func TestStreamRouteBackendServices(t *testing.T) {
	want := []types.NamespacedName{{Namespace: "apps", Name: "a"}, {Namespace: "apps", Name: "b"}}
	for resource, obj := range streamRoutes("apps", "s", nil, "a", "b") {
		if got := RouteBackendServices(obj); !slices.Equal(got, want) {
			t.Errorf("%s backends = %v, want %v", resource, got, want)
		}
	}
}
