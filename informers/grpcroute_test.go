package informers

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"
)

func grpcRoute(ns, name string, parents []string, backends ...string) *gatewayv1.GRPCRoute {
	h := route(ns, name, parents, backends...)
	r := &gatewayv1.GRPCRoute{ObjectMeta: h.ObjectMeta}
	r.Spec.ParentRefs = h.Spec.ParentRefs
	rule := gatewayv1.GRPCRouteRule{}
	for _, b := range h.Spec.Rules[0].BackendRefs {
		rule.BackendRefs = append(rule.BackendRefs, gatewayv1.GRPCBackendRef{BackendRef: b.BackendRef})
	}
	r.Spec.Rules = []gatewayv1.GRPCRouteRule{rule}
	return r
}

var grpcRoutesGVR = schema.GroupVersionResource{Group: gatewayv1.GroupName, Version: "v1", Resource: "grpcroutes"}

// GRPCRoutes map to Gateways exactly as HTTPRoutes do: through their parents (spec and status)
// and their backend Services.
func TestGRPCRouteEventsMapToAffectedGateways(t *testing.T) {
	e := newEnv(t)
	r := grpcRoute("apps", "g", []string{"gw"}, "grpc-echo")
	if err := e.gw.Tracker().Create(grpcRoutesGVR, r, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")

	// Moved to another Gateway: both resync.
	moved := r.DeepCopy()
	moved.ResourceVersion = "2"
	moved.Spec.ParentRefs[0].Name = "gw2"
	if err := e.gw.Tracker().Update(grpcRoutesGVR, moved, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw", "infra/gw2")

	// A Gateway the route left but whose status entry it still carries stays indexed.
	stale := moved.DeepCopy()
	stale.ResourceVersion = "3"
	stale.Status.Parents = []gatewayv1.RouteParentStatus{{ParentRef: gatewayv1.ParentReference{Namespace: ptr.To(gatewayv1.Namespace("infra")), Name: "gw"}}}
	if err := e.gw.Tracker().Update(grpcRoutesGVR, stale, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw", "infra/gw2")
	e.waitFor(func() bool {
		rs, err := e.inf.GRPCRoutesForGateway(types.NamespacedName{Namespace: "infra", Name: "gw"})
		return err == nil && len(rs) == 1 && rs[0].ResourceVersion == "3"
	})

	// Its backend Service resyncs its Gateways.
	if _, err := e.kube.CoreV1().Services("apps").Create(e.ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "grpc-echo"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw", "infra/gw2")

	// A ReferenceGrant from the route's namespace too.
	grant := &gatewayv1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: "backends", Name: "g"}, Spec: gatewayv1.ReferenceGrantSpec{
		From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "GRPCRoute", Namespace: "apps"}},
		To:   []gatewayv1.ReferenceGrantTo{{Kind: "Service"}},
	}}
	if err := e.gw.Tracker().Create(schema.GroupVersionResource{Group: gatewayv1.GroupName, Version: "v1", Resource: "referencegrants"}, grant, "backends"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw", "infra/gw2")

	if err := e.gw.Tracker().Delete(grpcRoutesGVR, "apps", "g"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw", "infra/gw2")
}

func TestRoutesForGatewayAreSortedAndKindSpecific(t *testing.T) {
	e := newEnv(t)
	gw := types.NamespacedName{Namespace: "infra", Name: "gw"}
	for _, r := range []*gatewayv1.GRPCRoute{grpcRoute("b", "x", []string{"gw"}), grpcRoute("a", "y", []string{"gw"}), grpcRoute("a", "x", []string{"gw"}), grpcRoute("a", "z", []string{"other"})} {
		if err := e.gw.Tracker().Create(grpcRoutesGVR, r, r.Namespace); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.gw.Tracker().Create(schema.GroupVersionResource{Group: gatewayv1.GroupName, Version: "v1", Resource: "httproutes"}, route("a", "h", []string{"gw"}), "a"); err != nil {
		t.Fatal(err)
	}
	var names []string
	e.waitFor(func() bool {
		rs, err := e.inf.GRPCRoutesForGateway(gw)
		if err != nil {
			return false
		}
		names = names[:0]
		for _, r := range rs {
			names = append(names, r.Namespace+"/"+r.Name)
		}
		return len(rs) == 3
	})
	if want := []string{"a/x", "a/y", "b/x"}; !slices.Equal(names, want) {
		t.Errorf("GRPCRoutesForGateway = %v, want %v", names, want)
	}
	e.waitFor(func() bool {
		rs, err := e.inf.HTTPRoutesForGateway(gw)
		return err == nil && len(rs) == 1 && rs[0].Name == "h"
	})
}

// Without the GRPCRoute CRD there is no informer to wait for and no GRPCRoute to find.
func TestGRPCRouteNotServed(t *testing.T) {
	inf, err := New(kubefake.NewClientset(), gatewayfake.NewSimpleClientset(), ServedKinds{KindGatewayClass: true, KindGateway: true, KindHTTPRoute: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if inf.GRPCRoutes != nil {
		t.Error("a GRPCRoute lister exists though the kind is not served")
	}
	rs, err := inf.GRPCRoutesForGateway(types.NamespacedName{Namespace: "infra", Name: "gw"})
	if err != nil || rs != nil {
		t.Errorf("GRPCRoutesForGateway = %v, %v; want nothing", rs, err)
	}
	if err := inf.AddEventHandlers(&recorder{}); err != nil {
		t.Fatal(err)
	}
}

func TestRouteBackendServices(t *testing.T) {
	want := []types.NamespacedName{{Namespace: "apps", Name: "a"}, {Namespace: "apps", Name: "b"}}
	if got := RouteBackendServices(grpcRoute("apps", "g", nil, "a", "b")); !slices.Equal(got, want) {
		t.Errorf("GRPCRoute backends = %v, want %v", got, want)
	}
	if got := RouteBackendServices(route("apps", "h", nil, "a", "b")); !slices.Equal(got, want) {
		t.Errorf("HTTPRoute backends = %v, want %v", got, want)
	}
	if got := RouteBackendServices(&corev1.Service{}); got != nil {
		t.Errorf("a Service has backends %v", got)
	}
}
