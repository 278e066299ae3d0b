package controller

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/kengine"
)

// newMetricsFixture is the basic Gateway (two pods, one route) plus a route whose parentRef
// names a listener that does not exist, with the controller's metrics on a fresh registry.
func newMetricsFixture(t *testing.T) (*fixture, *Metrics) {
	t.Helper()
	kube, gw := basicObjects()
	gw = append(gw, testobj.Route("infra", "lost", testobj.Parent("", "gw", "no-such-listener"), testobj.Rule(nil, nil, testobj.Backend("", "web", 80, 1))))
	m := NewMetrics(prometheus.NewRegistry())
	f := newFixtureWith(t, kube, gw, func(_ *fixture, o *Options) { o.Metrics = m })
	return f, m
}

func TestSyncMetricsOfAPartialPush(t *testing.T) {
	f, m := newMetricsFixture(t)
	f.pusher.fail = map[string]error{"kengine-b": errors.New("dial tcp 10.244.0.11:2019: connection refused")}
	if err := f.ctrl.syncGateway(f.ctx, gwKey); !errors.Is(err, errPushIncomplete) {
		t.Fatalf("syncGateway = %v, want a retry for the unreachable pod", err)
	}
	const want = `
# HELP kengine_gateway_pushes_total Config pushes to one Kengine pod of a Gateway, by result: ok (loaded), unchanged (the pod already ran it), rejected (Kengine refused it), unreachable (no answer, timeout or server error).
# TYPE kengine_gateway_pushes_total counter
kengine_gateway_pushes_total{gateway="gw",namespace="infra",pod="kengine-a",result="ok"} 1
kengine_gateway_pushes_total{gateway="gw",namespace="infra",pod="kengine-b",result="unreachable"} 1
# HELP kengine_gateway_routes Routes that name the Gateway as a parent, by kind.
# TYPE kengine_gateway_routes gauge
kengine_gateway_routes{gateway="gw",kind="GRPCRoute",namespace="infra"} 0
kengine_gateway_routes{gateway="gw",kind="HTTPRoute",namespace="infra"} 2
kengine_gateway_routes{gateway="gw",kind="TCPRoute",namespace="infra"} 0
kengine_gateway_routes{gateway="gw",kind="TLSRoute",namespace="infra"} 0
kengine_gateway_routes{gateway="gw",kind="UDPRoute",namespace="infra"} 0
# HELP kengine_gateway_listeners Listeners in the Gateway's spec.
# TYPE kengine_gateway_listeners gauge
kengine_gateway_listeners{gateway="gw",namespace="infra"} 1
# HELP kengine_gateway_rejected_routes Routes that name the Gateway but are not accepted by it (Accepted=False on at least one of their parentRefs to it).
# TYPE kengine_gateway_rejected_routes gauge
kengine_gateway_rejected_routes{gateway="gw",namespace="infra"} 1
`
	if err := testutil.CollectAndCompare(collectors(m.pushes, m.routes, m.listeners, m.rejectedRoutes), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.lastPush); n != 0 {
		t.Errorf("last successful push has %d series after a partial push, want none", n)
	}
	if size := testutil.ToFloat64(m.configBytes.WithLabelValues("infra", "gw")); size < 100 {
		t.Errorf("config size = %v bytes, want the rendered config's", size)
	}
	if n := testutil.CollectAndCount(m.syncDuration); n != 1 {
		t.Errorf("sync duration series = %d, want 1", n)
	}
	if c := histogramSamples(t, m.syncDuration, resultRequeue); c != 1 {
		t.Errorf("syncs observed with result requeue = %d, want 1", c)
	}
	// Every stage of a bring-your-own Gateway ran once; managed did not.
	for _, s := range []string{"snapshot", "translate", "render", "push", "status"} {
		if c := histogramSamples(t, m.stageDuration, s); c != 1 {
			t.Errorf("stage %s observed %d times, want 1", s, c)
		}
	}
	if c := histogramSamples(t, m.stageDuration, "managed"); c != 0 {
		t.Errorf("stage managed observed %d times, want 0", c)
	}
}

func TestSyncMetricsOfASuccessfulPushAndADeletedGateway(t *testing.T) {
	f, m := newMetricsFixture(t)
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if got, want := testutil.ToFloat64(m.lastPush.WithLabelValues("infra", "gw")), float64(testobj.Time.Unix()); got != want {
		t.Errorf("last successful push = %v, want %v", got, want)
	}
	// A second push of the same config to pods that already run it counts as unchanged.
	f.pusher.skip = true
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.pushes.WithLabelValues("infra", "gw", "kengine-a", pushUnchanged)); got != 1 {
		t.Errorf("unchanged pushes of kengine-a = %v, want 1", got)
	}

	if err := f.gateway.GatewayV1().Gateways("infra").Delete(f.ctx, "gw", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, err := f.ctrl.informers.Gateways.Gateways("infra").Get("gw")
		return err != nil
	})
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]prometheus.Collector{"pushes": m.pushes, "configBytes": m.configBytes, "routes": m.routes,
		"listeners": m.listeners, "rejectedRoutes": m.rejectedRoutes, "lastPush": m.lastPush} {
		if n := testutil.CollectAndCount(c); n != 0 {
			t.Errorf("%s keeps %d series of the deleted Gateway", name, n)
		}
	}
}

// A pod that leaves the Gateway takes its push series with it; other Gateways keep theirs.
func TestPushSeriesFollowThePods(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	gw, other := types.NamespacedName{Namespace: "infra", Name: "gw"}, types.NamespacedName{Namespace: "infra", Name: "other"}
	a, b := kengine.Endpoint{Pod: "a", Address: "10.0.0.1"}, kengine.Endpoint{Address: "10.0.0.2"}
	m.recordPush(gw, []kengine.Result{{Endpoint: a}, {Endpoint: b, Err: &kengine.APIError{StatusCode: 400, Message: "bad"}}})
	m.recordPush(other, []kengine.Result{{Endpoint: b, Skipped: true}})
	m.keepPods(gw, []kengine.Endpoint{a})
	const want = `
# HELP kengine_gateway_pushes_total Config pushes to one Kengine pod of a Gateway, by result: ok (loaded), unchanged (the pod already ran it), rejected (Kengine refused it), unreachable (no answer, timeout or server error).
# TYPE kengine_gateway_pushes_total counter
kengine_gateway_pushes_total{gateway="gw",namespace="infra",pod="a",result="ok"} 1
kengine_gateway_pushes_total{gateway="other",namespace="infra",pod="10.0.0.2",result="unchanged"} 1
`
	if err := testutil.CollectAndCompare(m.pushes, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// processNextWorkItem feeds the controller-runtime metrics by kind of key and result.
func TestReconcileMetrics(t *testing.T) {
	f, m := newMetricsFixture(t)
	f.pusher.fail = map[string]error{"kengine-b": errors.New("connection refused")}
	f.ctrl.EnqueueGateway(gwKey)
	f.ctrl.EnqueueGatewayClass("kengine")
	f.ctrl.EnqueueGateway(types.NamespacedName{Namespace: "infra", Name: "missing"})
	for range 3 {
		if !f.ctrl.processNextWorkItem(f.ctx, f.ctx) {
			t.Fatal("processNextWorkItem stopped early")
		}
	}
	const want = `
# HELP controller_runtime_reconcile_total Reconciles per controller (gateway, gatewayclass) and result (success, error, requeue).
# TYPE controller_runtime_reconcile_total counter
controller_runtime_reconcile_total{controller="gateway",result="requeue"} 1
controller_runtime_reconcile_total{controller="gateway",result="success"} 1
controller_runtime_reconcile_total{controller="gatewayclass",result="success"} 1
# HELP controller_runtime_active_workers Workers reconciling a key right now.
# TYPE controller_runtime_active_workers gauge
controller_runtime_active_workers{controller="gateway"} 0
controller_runtime_active_workers{controller="gatewayclass"} 0
`
	if err := testutil.CollectAndCompare(collectors(m.reconcileTotal, m.activeWorkers, m.reconcileErrors), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.reconcileTime); n != 2 {
		t.Errorf("reconcile time series = %d, want one per controller", n)
	}
}

func TestLeaderMetrics(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	lm := m.LeaderElection().NewLeaderMetric()
	lm.On("kengine-gateway")
	if testutil.ToFloat64(m.leader) != 1 || testutil.ToFloat64(m.leaderStatus.WithLabelValues("kengine-gateway")) != 1 {
		t.Error("leading: want both leader gauges at 1")
	}
	lm.Off("kengine-gateway")
	if testutil.ToFloat64(m.leader) != 0 || testutil.ToFloat64(m.leaderStatus.WithLabelValues("kengine-gateway")) != 0 {
		t.Error("not leading: want both leader gauges at 0")
	}
}

// collectors gathers several vectors into one collector for CollectAndCompare.
func collectors(cs ...prometheus.Collector) prometheus.Collector {
	return gathererCollector{cs}
}

// gathererCollector collects every collector it holds.
type gathererCollector struct{ cs []prometheus.Collector }

func (g gathererCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range g.cs {
		c.Describe(ch)
	}
}

func (g gathererCollector) Collect(ch chan<- prometheus.Metric) {
	for _, c := range g.cs {
		c.Collect(ch)
	}
}

// histogramSamples returns how many observations the child of vec with the given label value
// holds.
func histogramSamples(t *testing.T, vec *prometheus.HistogramVec, value string) uint64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	vec.Collect(ch)
	close(ch)
	for metric := range ch {
		var pb dto.Metric
		if err := metric.Write(&pb); err != nil {
			t.Fatal(err)
		}
		for _, l := range pb.GetLabel() {
			if l.GetValue() == value {
				return pb.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

// A panicking sync counts as an error and a panic.
func TestReconcileMetricsCountPanics(t *testing.T) {
	f, m := newMetricsFixture(t)
	f.ctrl.pusher = &panickingPusher{}
	f.ctrl.EnqueueGateway(gwKey)
	// The informers' handlers may have queued other keys (the GatewayClass) first: process
	// what is queued; the panicking Gateway is retried later, after a backoff.
	for f.ctrl.queue.Len() > 0 {
		if !f.ctrl.processNextWorkItem(f.ctx, f.ctx) {
			t.Fatal("processNextWorkItem stopped")
		}
	}
	if got := testutil.ToFloat64(m.reconcilePanics.WithLabelValues(controllerGateway)); got != 1 {
		t.Errorf("panics = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.reconcileErrors.WithLabelValues(controllerGateway)); got != 1 {
		t.Errorf("errors = %v, want 1", got)
	}
}
