package controller

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/features"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/informers"
)

// grpcEcho is a GRPCRoute infra/echo that sends one method to the Service web.
func grpcEcho(opts ...testobj.GRPCRouteOpt) *gatewayv1.GRPCRoute {
	return testobj.GRPCRoute("infra", "echo", append([]testobj.GRPCRouteOpt{
		testobj.GRPCParent("", "gw", ""), testobj.GRPCHostnames("grpc.example.com"),
		testobj.GRPCRule([]gatewayv1.GRPCRouteMatch{testobj.GRPCMethod("", "echo.v1.Echo", "Echo")}, nil, testobj.GRPCBackend("", "web", 80, 1)),
	}, opts...)...)
}

func TestSyncGatewayServesGRPCRoutesAndWritesTheirStatus(t *testing.T) {
	kube, gw := basicObjects()
	// An HTTPRoute and a GRPCRoute share a listener when their hostnames do not intersect.
	gw[2].(*gatewayv1.HTTPRoute).Spec.Hostnames = []gatewayv1.Hostname{"web.example.com"}
	f := newFixture(t, kube, append(gw, grpcEcho()))
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	config := string(f.pusher.pushes[0].config)
	for _, want := range []string{`"versions":["h2c"]`, `^/echo\\.v1\\.Echo/Echo$`, `"host":["grpc.example.com"]`} {
		if !strings.Contains(config, want) {
			t.Errorf("pushed config lacks %s", want)
		}
	}
	routes := f.statusUpdates("grpcroutes")
	if len(routes) != 1 {
		t.Fatalf("GRPCRoute status updates = %d, want 1", len(routes))
	}
	parents := routes[0].(*gatewayv1.GRPCRoute).Status.Parents
	if len(parents) != 1 || parents[0].ControllerName != testobj.ControllerName ||
		!meta.IsStatusConditionTrue(parents[0].Conditions, "Accepted") || !meta.IsStatusConditionTrue(parents[0].Conditions, "ResolvedRefs") {
		t.Errorf("GRPCRoute parents = %+v", parents)
	}
	st := f.statusUpdates("gateways")[0].(*gatewayv1.Gateway).Status
	if st.Listeners[0].AttachedRoutes != 2 {
		t.Errorf("attachedRoutes = %d, want 2 (the HTTPRoute and the GRPCRoute)", st.Listeners[0].AttachedRoutes)
	}

	// Once the caches hold the written status, a sync writes nothing.
	waitFor(t, func() bool {
		r, err := f.ctrl.informers.GRPCRoutes.GRPCRoutes("infra").Get("echo")
		return err == nil && len(r.Status.Parents) > 0
	})
	waitFor(t, func() bool {
		g, err := f.ctrl.informers.Gateways.Gateways("infra").Get("gw")
		h, err2 := f.ctrl.informers.HTTPRoutes.HTTPRoutes("infra").Get("r")
		return err == nil && err2 == nil && len(g.Status.Conditions) > 0 && len(h.Status.Parents) > 0
	})
	f.gateway.ClearActions()
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if n := len(f.statusUpdates("grpcroutes")) + len(f.statusUpdates("gateways")) + len(f.statusUpdates("httproutes")); n != 0 {
		t.Errorf("status writes on an unchanged sync = %d, want 0", n)
	}
}

// The HTTPRoute of basicObjects answers every host on the listener; a younger GRPCRoute is
// refused there, and both routes' status says so.
func TestSyncGatewayRefusesAGRPCRouteOnAnHTTPRouteHostname(t *testing.T) {
	kube, gw := basicObjects()
	f := newFixture(t, kube, append(gw, grpcEcho(testobj.GRPCCreatedAt(testobj.Time.Add(time.Hour)))))
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	g := f.statusUpdates("grpcroutes")[0].(*gatewayv1.GRPCRoute)
	if c := meta.FindStatusCondition(g.Status.Parents[0].Conditions, "Accepted"); c == nil || c.Status != metav1.ConditionFalse ||
		c.Reason != string(gatewayv1.RouteReasonNotAllowedByListeners) || !strings.Contains(c.Message, "HTTPRoute infra/r") {
		t.Errorf("GRPCRoute Accepted = %+v", c)
	}
	h := f.statusUpdates("httproutes")[0].(*gatewayv1.HTTPRoute)
	if !meta.IsStatusConditionTrue(h.Status.Parents[0].Conditions, "Accepted") {
		t.Errorf("HTTPRoute parents = %+v", h.Status.Parents)
	}
	if strings.Contains(string(f.pusher.pushes[0].config), `"versions":["h2c"]`) {
		t.Error("the refused GRPCRoute reached the config")
	}
}

func TestSyncClearsGRPCRouteStatusOfAGoneGateway(t *testing.T) {
	kube, gw := basicObjects()
	route := grpcEcho()
	route.Status.Parents = []gatewayv1.RouteParentStatus{
		{ParentRef: gatewayv1.ParentReference{Name: "gw"}, ControllerName: testobj.ControllerName,
			Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.NewTime(testobj.Time)}}},
		{ParentRef: gatewayv1.ParentReference{Name: "foreign"}, ControllerName: "example.com/other",
			Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.NewTime(testobj.Time)}}},
	}
	// The Gateway is gone; the route still names it in spec and in status.
	f := newFixture(t, kube, []runtime.Object{gw[0], route})
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	routes := f.statusUpdates("grpcroutes")
	if len(routes) != 1 {
		t.Fatalf("GRPCRoute status updates = %d, want 1", len(routes))
	}
	if parents := routes[0].(*gatewayv1.GRPCRoute).Status.Parents; len(parents) != 1 || parents[0].ControllerName != "example.com/other" {
		t.Errorf("parents = %+v, want only the other controller's entry", parents)
	}
}

// A GRPCRoute whose config Kengine refuses is isolated like an HTTPRoute: fingerprints and
// exclusions name it by its kind.
func TestSyncLeavesOutAGRPCRouteKengineRefuses(t *testing.T) {
	kube, gw := basicObjects()
	poisoned := grpcEcho(func(r *gatewayv1.GRPCRoute) {
		r.Spec.Rules[0].Filters = []gatewayv1.GRPCRouteFilter{{Type: gatewayv1.GRPCRouteFilterRequestHeaderModifier,
			RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-Poison", Value: "kengine-refuses-this"}}}}}
	})
	pusher := &refusingPusher{poison: "kengine-refuses-this"}
	recorder := record.NewFakeRecorder(10)
	f := newFixtureWith(t, kube, append(gw, poisoned), func(_ *fixture, o *Options) { o.Recorder = recorder })
	f.ctrl.pusher = pusher
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if last := pusher.pushes[len(pusher.pushes)-1]; strings.Contains(string(last.config), pusher.poison) {
		t.Fatal("the last push still holds the refused GRPCRoute")
	}
	g := f.statusUpdates("grpcroutes")[0].(*gatewayv1.GRPCRoute)
	if c := meta.FindStatusCondition(g.Status.Parents[0].Conditions, "Accepted"); c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "is not allowed") {
		t.Errorf("GRPCRoute Accepted = %+v, want False with Kengine's message", c)
	}
	if e := <-recorder.Events; !strings.Contains(e, "GRPCRoute infra/echo") {
		t.Errorf("event %q, want one naming the GRPCRoute", e)
	}
}

// GRPCRoute features are offered only where the cluster serves GRPCRoute.
func TestSupportedFeaturesFollowTheServedKinds(t *testing.T) {
	for _, tc := range []struct {
		served   informers.ServedKinds
		wantGRPC bool
	}{
		{informers.ServedKinds{informers.KindGRPCRoute: true, informers.KindReferenceGrant: true}, true},
		{informers.ServedKinds{informers.KindReferenceGrant: true}, false},
	} {
		c := &Controller{informers: &informers.Informers{Served: tc.served}}
		got := map[gatewayv1.FeatureName]bool{}
		for _, f := range c.supportedFeatures() {
			got[f.Name] = true
		}
		for _, f := range []features.FeatureName{features.SupportGRPCRoute, features.SupportGRPCRouteNamedRouteRule} {
			if got[gatewayv1.FeatureName(f)] != tc.wantGRPC {
				t.Errorf("served %v: %s offered = %v, want %v", tc.served, f, got[gatewayv1.FeatureName(f)], tc.wantGRPC)
			}
		}
		if !got[gatewayv1.FeatureName(features.SupportHTTPRoute)] || !got[gatewayv1.FeatureName(features.SupportReferenceGrant)] {
			t.Errorf("served %v: %v lacks HTTPRoute or ReferenceGrant", tc.served, got)
		}
	}
}

// TLS, TCP and UDP features are offered only where the cluster serves their route kind.
func TestStreamFeaturesFollowTheServedKinds(t *testing.T) {
	kinds := map[features.FeatureName]string{
		features.SupportTLSRoute: informers.KindTLSRoute, features.SupportTLSRouteModeTerminate: informers.KindTLSRoute,
		features.SupportTLSRouteModeMixed: informers.KindTLSRoute, features.SupportTCPRoute: informers.KindTCPRoute,
		features.SupportUDPRoute: informers.KindUDPRoute,
	}
	for _, served := range []informers.ServedKinds{
		{},
		{informers.KindTLSRoute: true},
		{informers.KindTCPRoute: true, informers.KindUDPRoute: true},
		{informers.KindTLSRoute: true, informers.KindTCPRoute: true, informers.KindUDPRoute: true},
	} {
		c := &Controller{informers: &informers.Informers{Served: served}}
		got := map[gatewayv1.FeatureName]bool{}
		for _, f := range c.supportedFeatures() {
			got[f.Name] = true
		}
		for f, kind := range kinds {
			if got[gatewayv1.FeatureName(f)] != served.Has(kind) {
				t.Errorf("served %v: %s offered = %v", served, f, got[gatewayv1.FeatureName(f)])
			}
		}
	}
}
