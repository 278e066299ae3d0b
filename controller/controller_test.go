package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/informers"
	"github.com/khulnasoft/gateway/kengine"
	"github.com/khulnasoft/gateway/workqueue"
)

// fakePusher records pushes and fails the pods named in fail; with skip, the other pods
// report that they already ran the config.
type fakePusher struct {
	mu     sync.Mutex
	pushes []fakePush
	fail   map[string]error
	skip   bool
}

type fakePush struct {
	endpoints []kengine.Endpoint
	config    []byte
	version   string
}

func (p *fakePusher) Push(_ context.Context, eps []kengine.Endpoint, config []byte, version string) []kengine.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pushes = append(p.pushes, fakePush{endpoints: eps, config: config, version: version})
	out := make([]kengine.Result, len(eps))
	for i, ep := range eps {
		out[i] = kengine.Result{Endpoint: ep, Err: p.fail[ep.Pod]}
		out[i].Skipped = p.skip && out[i].Err == nil
	}
	return out
}

func (p *fakePusher) Forget(func(kengine.Endpoint) bool) {}

type fixture struct {
	t       *testing.T
	kube    *kubefake.Clientset
	gateway *gatewayfake.Clientset
	pusher  *fakePusher
	ctrl    *Controller
	ctx     context.Context
}

func newFixture(t *testing.T, kubeObjs []runtime.Object, gwObjs []runtime.Object) *fixture {
	t.Helper()
	return newFixtureWith(t, kubeObjs, gwObjs, nil)
}

// newFixtureWith lets a test adjust the controller options before the controller is built.
func newFixtureWith(t *testing.T, kubeObjs []runtime.Object, gwObjs []runtime.Object, adjust func(*fixture, *Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, kube: kubefake.NewClientset(kubeObjs...), gateway: gatewayfake.NewSimpleClientset(), pusher: &fakePusher{}}
	stampResourceVersions(f.kube)
	// NewSimpleClientset guesses resource names from kinds ("Gateway" becomes "gatewaies"), so
	// the objects are added under their real resources instead.
	for _, o := range gwObjs {
		acc, err := meta.Accessor(o)
		if err != nil {
			t.Fatal(err)
		}
		var resource string
		switch o.(type) {
		case *gatewayv1.GatewayClass:
			resource = "gatewayclasses"
		case *gatewayv1.Gateway:
			resource = "gateways"
		case *gatewayv1.HTTPRoute:
			resource = "httproutes"
		case *gatewayv1.GRPCRoute:
			resource = "grpcroutes"
		case *gatewayv1.TLSRoute:
			resource = "tlsroutes"
		case *gatewayv1.TCPRoute:
			resource = "tcproutes"
		case *gatewayv1.UDPRoute:
			resource = "udproutes"
		case *gatewayv1.ReferenceGrant:
			resource = "referencegrants"
		case *gatewayv1.BackendTLSPolicy:
			resource = "backendtlspolicies"
		case *gatewayv1.ListenerSet:
			resource = "listenersets"
		default:
			t.Fatalf("unsupported object %T", o)
		}
		if err := f.gateway.Tracker().Create(schema.GroupVersionResource{Group: gatewayv1.GroupName, Version: "v1", Resource: resource}, o, acc.GetNamespace()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f.ctx = ctx
	served := informers.ServedKinds{informers.KindGatewayClass: true, informers.KindGateway: true, informers.KindHTTPRoute: true,
		informers.KindGRPCRoute: true, informers.KindTLSRoute: true, informers.KindTCPRoute: true, informers.KindUDPRoute: true,
		informers.KindReferenceGrant: true, informers.KindBackendTLSPolicy: true, informers.KindListenerSet: true}
	inf, err := informers.New(f.kube, f.gateway, served, 0)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		ControllerName: testobj.ControllerName,
		Render:         testobj.RenderOptions(),
		AdminPort:      2019,
		Now:            func() time.Time { return testobj.Time },
	}
	if adjust != nil {
		adjust(f, &opts)
	}
	f.ctrl, err = New(f.kube, f.gateway, inf, f.pusher, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.ctrl.queue.ShutDown)
	inf.Start(ctx.Done())
	if err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) { return inf.HasSynced(), nil }); err != nil {
		t.Fatal("informers did not sync")
	}
	f.gateway.ClearActions()
	return f
}

// stampResourceVersions makes the fake clientset give every written object a new
// resourceVersion, as the API server does; the tracker alone leaves it empty.
func stampResourceVersions(kube *kubefake.Clientset) {
	var mu sync.Mutex
	rv := 100
	tracker := kube.Tracker()
	kube.PrependReactor("*", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		switch a.GetVerb() {
		case "create", "update", "patch":
		default:
			return false, nil, nil
		}
		if a.GetSubresource() != "" {
			return false, nil, nil
		}
		handled, obj, err := clienttesting.ObjectReaction(tracker)(a)
		if err != nil || obj == nil {
			return handled, obj, err
		}
		acc, err := meta.Accessor(obj)
		if err != nil {
			return true, obj, nil
		}
		mu.Lock()
		rv++
		acc.SetResourceVersion(fmt.Sprint(rv))
		mu.Unlock()
		if err := tracker.Update(a.GetResource(), obj, acc.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, obj, nil
	})
}

// statusUpdates returns the objects written through UpdateStatus for a resource.
func (f *fixture) statusUpdates(resource string) []runtime.Object {
	var out []runtime.Object
	for _, a := range f.gateway.Actions() {
		if u, ok := a.(clienttesting.UpdateAction); ok && a.GetSubresource() == "status" && a.GetResource().Resource == resource {
			out = append(out, u.GetObject())
		}
	}
	return out
}

// kengineService returns the labelled Service of a Gateway with an LB address and pods.
func kengineService(ns, gw string, pods ...string) []runtime.Object {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: gw + "-kengine", Labels: map[string]string{informers.GatewayNameLabel: gw}},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		Status:     corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "127.0.100.1"}}}},
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: gw + "-kengine-x", Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for i, p := range pods {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{fmt.Sprintf("10.244.0.%d", i+10)},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(i%2 == 0)}, // readiness must not matter
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: p, UID: types.UID("uid-" + p)},
		})
	}
	return []runtime.Object{svc, slice}
}

func basicObjects() ([]runtime.Object, []runtime.Object) {
	svc, slice := testobj.Service("infra", "web", 80, 8080, "10.0.0.1")
	kube := append([]runtime.Object{svc, slice, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "infra"}}}, kengineService("infra", "gw", "kengine-a", "kengine-b")...)
	gw := []runtime.Object{
		testobj.Class(),
		testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, "")),
		testobj.Route("infra", "r", testobj.Parent("", "gw", ""), testobj.Rule(nil, nil, testobj.Backend("", "web", 80, 1))),
	}
	return kube, gw
}

var gwKey = types.NamespacedName{Namespace: "infra", Name: "gw"}

func TestSyncGatewayProgramsEveryPodAndWritesStatus(t *testing.T) {
	kube, gw := basicObjects()
	f := newFixture(t, kube, gw)
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if len(f.pusher.pushes) != 1 {
		t.Fatalf("pushes = %d, want 1", len(f.pusher.pushes))
	}
	push := f.pusher.pushes[0]
	if len(push.endpoints) != 2 || push.endpoints[0].Pod != "kengine-a" || push.endpoints[1].Address != "10.244.0.11" {
		t.Errorf("endpoints = %+v, want both pods whatever their readiness", push.endpoints)
	}
	var cfg map[string]any
	if err := json.Unmarshal(push.config, &cfg); err != nil {
		t.Fatalf("pushed config is not JSON: %v", err)
	}
	if !strings.Contains(string(push.config), `"dial":"10.0.0.1:8080"`) || !strings.Contains(string(push.config), push.version) {
		t.Errorf("pushed config lacks the backend or its version")
	}

	gws := f.statusUpdates("gateways")
	if len(gws) != 1 {
		t.Fatalf("gateway status updates = %d, want 1", len(gws))
	}
	st := gws[0].(*gatewayv1.Gateway).Status
	if c := meta.FindStatusCondition(st.Conditions, "Programmed"); c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != 3 {
		t.Errorf("Programmed = %+v", c)
	}
	if len(st.Addresses) != 1 || st.Addresses[0].Value != "127.0.100.1" {
		t.Errorf("addresses = %+v", st.Addresses)
	}
	if len(st.Listeners) != 1 || st.Listeners[0].AttachedRoutes != 1 || !meta.IsStatusConditionTrue(st.Listeners[0].Conditions, "Programmed") {
		t.Errorf("listeners = %+v", st.Listeners)
	}
	routes := f.statusUpdates("httproutes")
	if len(routes) != 1 {
		t.Fatalf("route status updates = %d, want 1", len(routes))
	}
	parents := routes[0].(*gatewayv1.HTTPRoute).Status.Parents
	if len(parents) != 1 || !meta.IsStatusConditionTrue(parents[0].Conditions, "Accepted") || !meta.IsStatusConditionTrue(parents[0].Conditions, "ResolvedRefs") {
		t.Errorf("route parents = %+v", parents)
	}
}

func TestSyncGatewayWritesNothingWhenStatusIsCurrent(t *testing.T) {
	kube, gw := basicObjects()
	f := newFixture(t, kube, gw)
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	// Let the informers observe the written status, then sync again.
	waitFor(t, func() bool {
		g, err := f.ctrl.informers.Gateways.Gateways("infra").Get("gw")
		r, err2 := f.ctrl.informers.HTTPRoutes.HTTPRoutes("infra").Get("r")
		return err == nil && err2 == nil && len(g.Status.Conditions) > 0 && len(r.Status.Parents) > 0
	})
	f.gateway.ClearActions()
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if n := len(f.statusUpdates("gateways")) + len(f.statusUpdates("httproutes")); n != 0 {
		t.Errorf("status writes on an unchanged sync = %d, want 0", n)
	}
}

func TestSyncGatewayReportsPodsThatFail(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantReason string
		wantRetry  bool
	}{
		{"config rejected", &kengine.APIError{StatusCode: 400, Message: "loading config: bad handler"}, "Invalid", false},
		{"pod unreachable", errors.New("dial tcp 10.244.0.11:2019: connection refused"), "Pending", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube, gw := basicObjects()
			f := newFixture(t, kube, gw)
			f.pusher.fail = map[string]error{"kengine-b": tt.err}
			err := f.ctrl.syncGateway(f.ctx, gwKey)
			if (err != nil) != tt.wantRetry {
				t.Errorf("syncGateway error = %v, want retry %v", err, tt.wantRetry)
			}
			st := f.statusUpdates("gateways")[0].(*gatewayv1.Gateway).Status
			c := meta.FindStatusCondition(st.Conditions, "Programmed")
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != tt.wantReason || !strings.Contains(c.Message, "kengine-b") || strings.Contains(c.Message, "kengine-a:") {
				t.Errorf("Programmed = %+v, want False/%s naming only kengine-b", c, tt.wantReason)
			}
		})
	}
}

func TestSyncGatewayWithoutKengineService(t *testing.T) {
	svc, slice := testobj.Service("infra", "web", 80, 8080, "10.0.0.1")
	f := newFixture(t, []runtime.Object{svc, slice}, []runtime.Object{testobj.Class(), testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))})
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if len(f.pusher.pushes) != 0 {
		t.Errorf("pushed without pods")
	}
	st := f.statusUpdates("gateways")[0].(*gatewayv1.Gateway).Status
	if c := meta.FindStatusCondition(st.Conditions, "Programmed"); c == nil || c.Reason != "NoResources" {
		t.Errorf("Programmed = %+v, want NoResources", c)
	}
	if c := meta.FindStatusCondition(st.Listeners[0].Conditions, "Programmed"); c == nil || c.Reason != "Pending" {
		t.Errorf("listener Programmed = %+v, want Pending", c)
	}
}

func TestSyncGatewayIgnoresOtherControllers(t *testing.T) {
	kube, gw := basicObjects()
	gw[0].(*gatewayv1.GatewayClass).Spec.ControllerName = "example.com/other"
	f := newFixture(t, kube, gw)
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if len(f.pusher.pushes) != 0 || len(f.gateway.Actions()) != 0 {
		t.Errorf("acted on a Gateway of another controller: %d pushes, %v", len(f.pusher.pushes), f.gateway.Actions())
	}
}

// A route shared by two Gateways keeps both Gateways' entries and other controllers' entries.
func TestRouteStatusSharedBetweenGateways(t *testing.T) {
	svc, slice := testobj.Service("infra", "web", 80, 8080, "10.0.0.1")
	kube := append([]runtime.Object{svc, slice}, kengineService("infra", "gw", "a")...)
	kube = append(kube, kengineService("infra", "gw2", "b")...)
	route := testobj.Route("infra", "r", testobj.Parent("", "gw", ""), testobj.Parent("", "gw2", ""), testobj.Parent("", "foreign", ""), testobj.Rule(nil, nil, testobj.Backend("", "web", 80, 1)))
	route.Status.Parents = []gatewayv1.RouteParentStatus{{
		ParentRef: gatewayv1.ParentReference{Name: "foreign"}, ControllerName: "example.com/other",
		Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.NewTime(testobj.Time)}},
	}}
	gw2 := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	gw2.Name = "gw2"
	f := newFixture(t, kube, []runtime.Object{testobj.Class(), testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, "")), gw2, route})
	for _, key := range []types.NamespacedName{gwKey, {Namespace: "infra", Name: "gw2"}} {
		if err := f.ctrl.syncGateway(f.ctx, key); err != nil {
			t.Fatal(err)
		}
		// The second sync must see the first one's write, through the cache or the conflict retry.
		waitFor(t, func() bool {
			r, err := f.ctrl.informers.HTTPRoutes.HTTPRoutes("infra").Get("r")
			return err == nil && len(r.Status.Parents) >= 2
		})
	}
	r, err := f.gateway.GatewayV1().HTTPRoutes("infra").Get(f.ctx, "r", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range r.Status.Parents {
		names = append(names, string(p.ParentRef.Name)+"@"+string(p.ControllerName))
	}
	want := "foreign@example.com/other,gw@" + testobj.ControllerName + ",gw2@" + testobj.ControllerName
	if got := strings.Join(names, ","); got != want {
		t.Errorf("parents = %s, want %s", got, want)
	}
}

func TestSyncGatewayClass(t *testing.T) {
	other := testobj.Class()
	other.Name, other.Spec.ControllerName = "other", "example.com/other"
	f := newFixture(t, nil, []runtime.Object{testobj.Class(), other})
	for _, name := range []string{"kengine", "other"} {
		if err := f.ctrl.syncGatewayClass(f.ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	ups := f.statusUpdates("gatewayclasses")
	if len(ups) != 1 {
		t.Fatalf("class status updates = %d, want 1 (ours only)", len(ups))
	}
	gc := ups[0].(*gatewayv1.GatewayClass)
	if gc.Name != "kengine" || !meta.IsStatusConditionTrue(gc.Status.Conditions, "Accepted") {
		t.Errorf("class status = %+v", gc.Status)
	}
	if len(gc.Status.SupportedFeatures) != len(SupportedFeatures) || gc.Status.SupportedFeatures[0].Name != "BackendTLSPolicy" {
		t.Errorf("supportedFeatures = %+v", gc.Status.SupportedFeatures)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatal("condition not met in time")
	}
}

// Run syncs what is queued and, when its context ends, drains the queue and returns.
func TestRunSyncsAndDrainsOnShutdown(t *testing.T) {
	kube, gw := basicObjects()
	f := newFixture(t, kube, gw)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- f.ctrl.Run(ctx, 2) }()
	f.ctrl.EnqueueGatewayClass("kengine")
	f.ctrl.EnqueueGateway(gwKey)
	waitFor(t, func() bool {
		f.pusher.mu.Lock()
		defer f.pusher.mu.Unlock()
		return len(f.pusher.pushes) > 0
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if !f.ctrl.queue.ShuttingDown() {
		t.Error("the queue must be shut down")
	}
}

// panickingPusher stands for a bug deep in a sync.
type panickingPusher struct{ fakePusher }

func (p *panickingPusher) Push(context.Context, []kengine.Endpoint, []byte, string) []kengine.Result {
	panic("boom")
}

func TestSyncPanicBecomesARetryNotACrash(t *testing.T) {
	kube, gw := basicObjects()
	f := newFixture(t, kube, gw)
	f.ctrl.pusher = &panickingPusher{}
	err := f.ctrl.syncKey(f.ctx, f.ctx, queueKey{kind: keyGateway, name: gwKey})
	if err == nil || !strings.Contains(err.Error(), "panic while syncing infra/gw: boom") {
		t.Fatalf("error = %v", err)
	}
}

// blockingPusher holds every push until release is closed or, when it honours the context,
// until the push's context is done; started receives each push's context.
type blockingPusher struct {
	fakePusher
	started   chan context.Context
	release   chan struct{}
	honourCtx bool
}

func (p *blockingPusher) Push(ctx context.Context, eps []kengine.Endpoint, config []byte, version string) []kengine.Result {
	p.started <- ctx
	var done <-chan struct{}
	if p.honourCtx {
		done = ctx.Done()
	}
	select {
	case <-p.release:
	case <-done:
	}
	return p.fakePusher.Push(ctx, eps, config, version)
}

// runWithBlockedSync starts Run with one worker on a fake clock and waits until a Gateway
// sync is pushing; the GatewayClass key queued behind it must never start once Run's context
// ends.
func runWithBlockedSync(t *testing.T, p *blockingPusher) (f *fixture, clock *workqueue.FakeClock, cancel func(), done chan error, pushCtx context.Context) {
	t.Helper()
	kube, gw := basicObjects()
	clock = workqueue.NewFakeClock(testobj.Time)
	f = newFixtureWith(t, kube, gw, func(_ *fixture, o *Options) {
		o.Clock = clock
		o.ShutdownTimeout = 20 * time.Second
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	})
	f.ctrl.pusher = p
	ctx, cancel := context.WithCancel(f.ctx)
	done = make(chan error, 1)
	go func() { done <- f.ctrl.Run(ctx, 1) }()
	f.ctrl.EnqueueGateway(gwKey)
	select {
	case pushCtx = <-p.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the sync never pushed")
	}
	f.ctrl.EnqueueGatewayClass("kengine")
	return f, clock, cancel, done, pushCtx
}

func waitRun(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// On shutdown a sync in flight finishes under a live context, and no new key starts.
func TestRunLetsSyncsInFlightFinish(t *testing.T) {
	p := &blockingPusher{started: make(chan context.Context, 1), release: make(chan struct{}), honourCtx: true}
	f, clock, cancel, done, pushCtx := runWithBlockedSync(t, p)
	classSyncs := func() float64 {
		return testutil.ToFloat64(f.ctrl.metrics.reconcileTotal.WithLabelValues(controllerGatewayClass, resultSuccess))
	}
	before := classSyncs()
	cancel()
	// Run arms its shutdown timer and waits; the push is still running and not cancelled.
	waitFor(t, func() bool { return clock.Waiters() > 0 })
	if pushCtx.Err() != nil {
		t.Fatal("the sync's context was cancelled at once")
	}
	close(p.release)
	if err := waitRun(t, done); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if after := classSyncs(); after != before {
		t.Errorf("the GatewayClass key queued behind the sync was synced after shutdown (%v syncs, want %v)", after, before)
	}
	if n := len(f.statusUpdates("gateways")); n != 1 {
		t.Errorf("the sync in flight wrote %d Gateway statuses, want 1: it must finish", n)
	}
}

// A sync still running at the shutdown timeout is cancelled, and Run returns.
func TestRunCancelsSyncsAtTheShutdownTimeout(t *testing.T) {
	p := &blockingPusher{started: make(chan context.Context, 1), release: make(chan struct{}), honourCtx: true}
	_, clock, cancel, done, pushCtx := runWithBlockedSync(t, p)
	cancel()
	waitFor(t, func() bool { return clock.Waiters() > 0 })
	clock.Step(19 * time.Second)
	if pushCtx.Err() != nil {
		t.Fatal("cancelled before the shutdown timeout")
	}
	clock.Step(time.Second)
	if err := waitRun(t, done); err != nil {
		t.Fatalf("Run = %v, want nil once the cancelled sync returned", err)
	}
	if pushCtx.Err() == nil {
		t.Error("the sync's context is still live after the shutdown timeout")
	}
}

// A sync that ignores its cancelled context cannot hold the process: Run gives up after a
// short grace and says so.
func TestRunGivesUpOnASyncThatIgnoresCancellation(t *testing.T) {
	p := &blockingPusher{started: make(chan context.Context, 1), release: make(chan struct{})}
	t.Cleanup(func() { close(p.release) })
	_, clock, cancel, done, _ := runWithBlockedSync(t, p)
	cancel()
	waitFor(t, func() bool { return clock.Waiters() > 0 })
	clock.Step(20 * time.Second)
	waitFor(t, func() bool { return clock.Waiters() > 0 })
	clock.Step(cancelGrace)
	if err := waitRun(t, done); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("Run = %v, want an error naming the stuck sync", err)
	}
}

// A Gateway is Programmed only once a pod that runs its config is ready behind its Service, so
// that a client waiting for the condition is served at once (the pods' readiness probe passes
// only after a config is loaded, and the load balancer sends traffic to ready pods only).
func TestSyncGatewayProgrammedWaitsForAReadyPod(t *testing.T) {
	kube, gw := basicObjects()
	for _, o := range kube {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok && s.Name == "gw-kengine-x" {
			for i := range s.Endpoints {
				s.Endpoints[i].Conditions.Ready = ptr.To(false)
			}
		}
	}
	f := newFixture(t, kube, gw)
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if len(f.pusher.pushes) != 1 || len(f.pusher.pushes[0].endpoints) != 2 {
		t.Fatalf("pushes = %+v, want one push to both (unready) pods", f.pusher.pushes)
	}
	gws := f.statusUpdates("gateways")
	if len(gws) != 1 {
		t.Fatalf("gateway status updates = %d, want 1", len(gws))
	}
	c := meta.FindStatusCondition(gws[0].(*gatewayv1.Gateway).Status.Conditions, "Programmed")
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != string(gatewayv1.GatewayReasonPending) || !strings.Contains(c.Message, "ready") {
		t.Fatalf("Programmed with no ready pod = %+v, want False/Pending naming readiness", c)
	}

	// One pod turns ready: the slice update reaches the cache and the next sync says Programmed.
	slice, err := f.kube.DiscoveryV1().EndpointSlices("infra").Get(f.ctx, "gw-kengine-x", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	slice.Endpoints[1].Conditions.Ready = ptr.To(true)
	if _, err := f.kube.DiscoveryV1().EndpointSlices("infra").Update(f.ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		s, err := f.ctrl.informers.EndpointSlices.EndpointSlices("infra").Get("gw-kengine-x")
		return err == nil && s.Endpoints[1].Conditions.Ready != nil && *s.Endpoints[1].Conditions.Ready
	})
	f.gateway.ClearActions()
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	gws = f.statusUpdates("gateways")
	if len(gws) != 1 {
		t.Fatalf("gateway status updates after the pod turned ready = %d, want 1", len(gws))
	}
	if c := meta.FindStatusCondition(gws[0].(*gatewayv1.Gateway).Status.Conditions, "Programmed"); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Programmed with a ready pod = %+v, want True", c)
	}
}
