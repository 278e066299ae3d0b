package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"
)

// fakeEnvironment stands in for the local environment: fake API clients whose Gateways are
// Programmed on 127.0.0.1 as soon as they are created, a "Gateway" on loopback that answers
// 200 for the hostname of every route that exists, and a controller /metrics whose push
// counter grows by pushesPerScrape at every scrape.
type fakeEnvironment struct {
	kube   *kubefake.Clientset
	gwc    *gatewayfake.Clientset
	port   int
	scrape atomic.Int64
}

const pushesPerScrape = 3

func newFakeEnvironment(t *testing.T, ns string) (*fakeEnvironment, *cluster) {
	t.Helper()
	// The simple clientsets: the field-managed ones need a type converter for the Gateway API.
	env := &fakeEnvironment{kube: kubefake.NewSimpleClientset(), gwc: gatewayfake.NewSimpleClientset()}
	env.gwc.PrependReactor("create", "gateways", func(a k8stesting.Action) (bool, runtime.Object, error) {
		g := a.(k8stesting.CreateAction).GetObject().(*gatewayv1.Gateway)
		g.Status.Conditions = []metav1.Condition{
			{Type: string(gatewayv1.GatewayConditionAccepted), Status: metav1.ConditionTrue, ObservedGeneration: g.Generation},
			{Type: string(gatewayv1.GatewayConditionProgrammed), Status: metav1.ConditionTrue, ObservedGeneration: g.Generation},
		}
		g.Status.Addresses = []gatewayv1.GatewayStatusAddress{{Value: "127.0.0.1"}}
		return false, nil, nil
	})
	routesGVR := gatewayv1.SchemeGroupVersion.WithResource("httproutes")
	env.gwc.PrependReactor("delete-collection", "httproutes", func(a k8stesting.Action) (bool, runtime.Object, error) {
		// Reactors run under the fake's lock: the tracker, never the client, from here.
		sel := a.(k8stesting.DeleteCollectionAction).GetListRestrictions().Labels
		obj, err := env.gwc.Tracker().List(routesGVR, gatewayv1.SchemeGroupVersion.WithKind("HTTPRoute"), a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		for _, r := range obj.(*gatewayv1.HTTPRouteList).Items {
			if sel.Matches(labels.Set(r.Labels)) {
				if err := env.gwc.Tracker().Delete(routesGVR, r.Namespace, r.Name); err != nil {
					return true, nil, err
				}
			}
		}
		return true, nil, nil
	})

	gw := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.Host, ":")
		list, err := env.gwc.GatewayV1().HTTPRoutes(ns).List(r.Context(), metav1.ListOptions{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for _, rt := range list.Items {
			for _, h := range rt.Spec.Hostnames {
				if string(h) == host {
					_, _ = w.Write([]byte("ok"))
					return
				}
			}
		}
		http.NotFound(w, r)
	}))
	metrics := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := env.scrape.Add(1)
		fmt.Fprintf(w, "process_resident_memory_bytes %d\ngo_memstats_heap_inuse_bytes %d\n", 50<<20, 20<<20)
		fmt.Fprintf(w, "kengine_gateway_pushes_total{gateway=%q,namespace=%q,pod=\"p\",result=\"ok\"} %d\n", "burst", ns, n*pushesPerScrape)
	}))
	_, portStr, _ := net.SplitHostPort(gw)
	fmt.Sscanf(portStr, "%d", &env.port)
	c := &cluster{
		o:    clusterOptions{workers: 4, metricsURL: "http://" + metrics + "/metrics", class: benchClass},
		kube: env.kube, gwc: env.gwc, ns: ns, port: env.port,
	}
	return env, c
}

// serveLoopback serves h on a free 127.0.0.1 port for the test and returns host:port.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// TestEnvironmentFiguresAgainstAFakeCluster runs burst, propagation and memory end to end
// against the fake environment: the API writes, the waits through the Gateway address, the
// metrics reads and the clean-up, everything but the real cluster's timing.
func TestEnvironmentFiguresAgainstAFakeCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const ns = "kengine-bench-test"
	env, c := newFakeEnvironment(t, ns)

	var err error
	if c.baseline, err = c.readMemory(ctx, 0); err != nil {
		t.Fatal(err)
	}
	burst, err := c.measureBurst(ctx, 25, loadFloor{25: {P50: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if burst.Routes != 25 || burst.Pushes != pushesPerScrape || burst.Budget != 3*10+1000 || burst.ServedAfterFirst < burst.ServedAfterLast {
		t.Errorf("burst %+v", burst)
	}
	left, err := env.gwc.GatewayV1().HTTPRoutes(ns).List(ctx, metav1.ListOptions{LabelSelector: gatewayLabel + "=burst"})
	if err != nil || len(left.Items) != 0 {
		t.Errorf("burst routes left after the figure: %d (%v)", len(left.Items), err)
	}
	if _, err := env.gwc.GatewayV1().Gateways(ns).Get(ctx, "burst", metav1.GetOptions{}); err == nil {
		t.Error("the burst Gateway is left after the figure")
	}

	o := options{
		routeCounts:    []int{20, 45},
		propSamples:    3,
		memoryAtRoutes: []int{45},
		figures:        map[string]bool{figPropagation: true, figMemory: true},
	}
	floor := loadFloor{20: {P50: 1}, 45: {P50: 2}}
	res := newResults()
	if err := c.measure(ctx, figPropagation, o, floor, res); err != nil {
		t.Fatal(err)
	}
	if err := c.measure(ctx, figMemory, o, floor, res); err != nil {
		t.Fatal(err)
	}
	if len(c.propagation) != 2 || c.propagation[0].Routes != 20 || c.propagation[1].Propagation.N != 3 || c.propagation[1].LoadFloor.P50 != 2 {
		t.Errorf("propagation points %+v", c.propagation)
	}
	if res.Propagation.Status != statusMeasured || res.Propagation.Ratio == nil {
		t.Errorf("propagation figure %+v", res.Propagation)
	}
	if res.ControllerMemory.Status != statusMeasured || len(c.memory) != 1 || c.memory[0].Routes != 45 || c.memory[0].RSSMiB != 50 || c.memory[0].HeapInUseMi != 20 {
		t.Errorf("memory figure %+v, points %+v", res.ControllerMemory, c.memory)
	}
	routes, err := env.gwc.GatewayV1().HTTPRoutes(ns).List(ctx, metav1.ListOptions{LabelSelector: gatewayLabel + "=" + benchGateway})
	if err != nil {
		t.Fatal(err)
	}
	// 45 bench routes and 3 timed new routes per route count.
	if got := len(routes.Items); got != 45+2*3 {
		t.Errorf("%d routes on the bench Gateway, want 51", got)
	}
	svcs, err := env.kube.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(svcs.Items); got != servicesFor(45) {
		t.Errorf("%d Services, want %d", got, servicesFor(45))
	}
}

// TestRouteTimingWaitsForTheRoute checks that a timed new route is measured until it is
// served, not until the API write returns.
func TestRouteTimingWaitsForTheRoute(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env, c := newFakeEnvironment(t, "kengine-bench-delay")
	const delay = 150 * time.Millisecond
	addr, err := c.createGateway(ctx, benchGateway)
	if err != nil {
		t.Fatal(err)
	}
	c.addr = addr
	var created atomic.Int64
	env.gwc.PrependReactor("create", "httproutes", func(k8stesting.Action) (bool, runtime.Object, error) {
		created.Store(time.Now().UnixNano())
		return false, nil, nil
	})
	// The API answers at once; this listener serves the route only delay after that.
	slow := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if at := created.Load(); at == 0 || time.Since(time.Unix(0, at)) < delay {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	_, portStr, _ := net.SplitHostPort(slow)
	fmt.Sscanf(portStr, "%d", &c.port)
	p, err := c.timeNewRoutes(ctx, 0, 1, Summary{P50: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p.Propagation.P50 < millis(delay) {
		t.Errorf("propagation %.1f ms, shorter than the %v the route took to be served", p.Propagation.P50, delay)
	}
}
