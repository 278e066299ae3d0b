package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/status"
	"github.com/khulnasoft/gateway/kengine"
)

// noLayer4Pusher is a Kengine built without the layer4 app: it refuses every config that has
// one, with Caddy's own error.
type noLayer4Pusher struct{ fakePusher }

func (p *noLayer4Pusher) Push(ctx context.Context, eps []kengine.Endpoint, config []byte, version string) []kengine.Result {
	out := p.fakePusher.Push(ctx, eps, config, version)
	if strings.Contains(string(config), `"layer4":`) {
		for i := range out {
			out[i].Err = &kengine.APIError{StatusCode: 400, Message: "loading new config: loading layer4 app module: unknown module: layer4"}
		}
	}
	return out
}

// layer4Objects is basicObjects with a TCP listener and a TCPRoute on it.
func layer4Objects() ([]runtime.Object, []runtime.Object) {
	kube, _ := basicObjects()
	tcp := &gatewayv1.TCPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "db", Generation: 1},
		Spec: gatewayv1.TCPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw", SectionName: ptr.To(gatewayv1.SectionName("tcp"))}}},
			Rules: []gatewayv1.TCPRouteRule{{BackendRefs: []gatewayv1.BackendRef{{BackendObjectReference: gatewayv1.BackendObjectReference{
				Name: "web", Port: ptr.To(gatewayv1.PortNumber(80)),
			}}}}},
		},
	}
	gw := []runtime.Object{
		testobj.Class(),
		testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""), testobj.Listener("tcp", gatewayv1.TCPProtocolType, 5432, "")),
		testobj.Route("infra", "r", testobj.Parent("", "gw", "http"), testobj.Rule(nil, nil, testobj.Backend("", "web", 80, 1))),
		tcp,
	}
	return kube, gw
}

// A Kengine without the layer4 app keeps serving HTTP: the config is pushed again without the
// TCP listener, which reports Programmed=False naming the module, and the full config is tried
// again only after exclusionRetry.
func TestSyncWithoutLayer4ServesHTTPAndSaysWhy(t *testing.T) {
	kube, gw := layer4Objects()
	now := testobj.Time
	f := newFixtureWith(t, kube, gw, func(_ *fixture, o *Options) { o.Now = func() time.Time { return now } })
	pusher := &noLayer4Pusher{}
	f.ctrl.pusher = pusher
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if n := len(pusher.pushes); n != 2 {
		t.Fatalf("pushes = %d, want 2 (the full config, then the one without layer4; no isolation)", n)
	}
	last := string(pusher.pushes[1].config)
	if strings.Contains(last, `"layer4":`) || !strings.Contains(last, `"dial":"10.0.0.1:8080"`) {
		t.Errorf("second push = %s, want the HTTP config without layer4", last)
	}
	ups := f.statusUpdates("gateways")
	st := ups[len(ups)-1].(*gatewayv1.Gateway).Status
	for _, l := range st.Listeners {
		p := meta.FindStatusCondition(l.Conditions, string(gatewayv1.ListenerConditionProgrammed))
		switch l.Name {
		case "tcp":
			if p.Status != metav1.ConditionFalse || p.Reason != string(status.ListenerReasonModuleMissing) || !strings.Contains(p.Message, `"layer4"`) {
				t.Errorf("tcp Programmed = %+v, want False/ModuleMissing naming layer4", p)
			}
			if a := meta.FindStatusCondition(l.Conditions, string(gatewayv1.ListenerConditionAccepted)); a.Status != metav1.ConditionTrue {
				t.Errorf("tcp Accepted = %+v: the listener itself is valid", a)
			}
		case "http":
			if p.Reason == string(status.ListenerReasonModuleMissing) {
				t.Errorf("http Programmed = %+v", p)
			}
		}
	}
	tcp := f.statusUpdates("tcproutes")[0].(*gatewayv1.TCPRoute)
	if !meta.IsStatusConditionTrue(tcp.Status.Parents[0].Conditions, "Accepted") {
		t.Errorf("TCPRoute parents = %+v, want Accepted (it is attached; its listener is what cannot run)", tcp.Status.Parents)
	}

	// Remembered: the next sync pushes the HTTP config straight away.
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if n := len(pusher.pushes); n != 2 && n != 3 {
		t.Fatalf("pushes = %d", n)
	}
	if last := string(pusher.pushes[len(pusher.pushes)-1].config); strings.Contains(last, `"layer4":`) {
		t.Error("the remembered refusal was not used")
	}
	// After exclusionRetry the full config is tried again (an upgraded Kengine gets it).
	before := len(pusher.pushes)
	now = now.Add(exclusionRetry + time.Second)
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if len(pusher.pushes) <= before || !strings.Contains(string(pusher.pushes[before].config), `"layer4":`) {
		t.Error("the full config was not tried again after exclusionRetry")
	}
}

// An HTTP-only Gateway never needs the layer4 app.
func TestHTTPOnlyGatewayHasNoLayer4(t *testing.T) {
	kube, gw := basicObjects()
	f := newFixture(t, kube, gw)
	pusher := &noLayer4Pusher{}
	f.ctrl.pusher = pusher
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if len(pusher.pushes) != 1 || strings.Contains(string(pusher.pushes[0].config), "layer4") {
		t.Errorf("pushes = %d, want one config without layer4", len(pusher.pushes))
	}
}
