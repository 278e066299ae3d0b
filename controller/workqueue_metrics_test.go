package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/khulnasoft/gateway/workqueue"
)

// waitUntil polls cond for a hand-off to a queue goroutine; the fake clock supplies the time.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A real queue on a fake clock feeds every series under its workqueue name with exact values.
func TestWorkqueueMetricsProvider(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := NewWorkqueueMetricsProvider(reg)
	clock := workqueue.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := workqueue.New(workqueue.Config[string]{Name: "gateways", Clock: clock, MetricsProvider: p})
	defer q.ShutDown()

	q.Add("ns/a")
	q.Add("ns/b")
	q.Add("ns/a")
	clock.Step(2 * time.Second)
	if item, _ := q.Get(); item != "ns/a" {
		t.Fatalf("Get = %q, want ns/a", item)
	}
	// The in-progress gauges refresh every 500ms of clock time; wait for the refresh goroutine
	// to arm its timer (nothing else is delayed) so that the step reaches it.
	waitUntil(t, "the metrics timer", func() bool { return clock.Waiters() == 1 })
	clock.Step(500 * time.Millisecond)
	unfinished := p.(*workqueueMetricsProvider).unfinishedWork.WithLabelValues("gateways")
	waitUntil(t, "the periodic update", func() bool { return testutil.ToFloat64(unfinished) == 0.5 })
	q.Done("ns/a")
	q.AddRateLimited("ns/a")

	const want = `
# HELP workqueue_adds_total Number of adds that made an item pending in the workqueue.
# TYPE workqueue_adds_total counter
workqueue_adds_total{name="gateways"} 2
# HELP workqueue_depth Number of items waiting in the workqueue to be processed.
# TYPE workqueue_depth gauge
workqueue_depth{name="gateways"} 1
# HELP workqueue_longest_running_processor_seconds Seconds the longest-running item still being processed has been running.
# TYPE workqueue_longest_running_processor_seconds gauge
workqueue_longest_running_processor_seconds{name="gateways"} 0.5
# HELP workqueue_queue_duration_seconds Seconds an item waits in the workqueue between being added and handed to a worker.
# TYPE workqueue_queue_duration_seconds histogram
workqueue_queue_duration_seconds_bucket{name="gateways",le="1e-06"} 0
workqueue_queue_duration_seconds_bucket{name="gateways",le="1e-05"} 0
workqueue_queue_duration_seconds_bucket{name="gateways",le="0.0001"} 0
workqueue_queue_duration_seconds_bucket{name="gateways",le="0.001"} 0
workqueue_queue_duration_seconds_bucket{name="gateways",le="0.01"} 0
workqueue_queue_duration_seconds_bucket{name="gateways",le="0.1"} 0
workqueue_queue_duration_seconds_bucket{name="gateways",le="1"} 0
workqueue_queue_duration_seconds_bucket{name="gateways",le="10"} 1
workqueue_queue_duration_seconds_bucket{name="gateways",le="100"} 1
workqueue_queue_duration_seconds_bucket{name="gateways",le="1000"} 1
workqueue_queue_duration_seconds_bucket{name="gateways",le="+Inf"} 1
workqueue_queue_duration_seconds_sum{name="gateways"} 2
workqueue_queue_duration_seconds_count{name="gateways"} 1
# HELP workqueue_retries_total Number of rate-limited retries added to the workqueue.
# TYPE workqueue_retries_total counter
workqueue_retries_total{name="gateways"} 1
# HELP workqueue_unfinished_work_seconds Seconds that items still being processed have been running, summed; growth without completions means stuck workers.
# TYPE workqueue_unfinished_work_seconds gauge
workqueue_unfinished_work_seconds{name="gateways"} 0.5
# HELP workqueue_work_duration_seconds Seconds a worker spends processing an item.
# TYPE workqueue_work_duration_seconds histogram
workqueue_work_duration_seconds_bucket{name="gateways",le="1e-06"} 0
workqueue_work_duration_seconds_bucket{name="gateways",le="1e-05"} 0
workqueue_work_duration_seconds_bucket{name="gateways",le="0.0001"} 0
workqueue_work_duration_seconds_bucket{name="gateways",le="0.001"} 0
workqueue_work_duration_seconds_bucket{name="gateways",le="0.01"} 0
workqueue_work_duration_seconds_bucket{name="gateways",le="0.1"} 0
workqueue_work_duration_seconds_bucket{name="gateways",le="1"} 1
workqueue_work_duration_seconds_bucket{name="gateways",le="10"} 1
workqueue_work_duration_seconds_bucket{name="gateways",le="100"} 1
workqueue_work_duration_seconds_bucket{name="gateways",le="1000"} 1
workqueue_work_duration_seconds_bucket{name="gateways",le="+Inf"} 1
workqueue_work_duration_seconds_sum{name="gateways"} 0.5
workqueue_work_duration_seconds_count{name="gateways"} 1
`
	names := []string{
		"workqueue_adds_total", "workqueue_depth", "workqueue_longest_running_processor_seconds",
		"workqueue_queue_duration_seconds", "workqueue_retries_total",
		"workqueue_unfinished_work_seconds", "workqueue_work_duration_seconds",
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// Providers on one registry share its vectors, and each queue name gets its own series.
func TestWorkqueueMetricsProviderSharesRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	first := NewWorkqueueMetricsProvider(reg).(*workqueueMetricsProvider)
	second := NewWorkqueueMetricsProvider(reg).(*workqueueMetricsProvider)
	if first.adds != second.adds {
		t.Fatal("a second provider on the same registry made its own adds vector")
	}
	for name, adds := range map[string]int{"gateways": 2, "classes": 1} {
		q := workqueue.New(workqueue.Config[string]{Name: name, Clock: workqueue.NewFakeClock(time.Time{}), MetricsProvider: second})
		for i := range adds {
			q.Add(fmt.Sprint(i))
		}
		q.ShutDown()
		if got := testutil.ToFloat64(first.adds.WithLabelValues(name)); got != float64(adds) {
			t.Errorf("workqueue_adds_total{name=%q} = %v, want %d", name, got, adds)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "workqueue_depth"); err != nil || n != 2 {
		t.Errorf("workqueue_depth series = %d (err %v), want one per queue: 2", n, err)
	}
}

// A registry that already holds another metric under one of the names is a wiring bug that
// must surface at start-up, not as silently missing series.
func TestWorkqueueMetricsProviderConflictPanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "workqueue_depth", Help: "not a gauge"}, []string{"queue"}))
	defer func() {
		if recover() == nil {
			t.Error("no panic on a conflicting registration")
		}
	}()
	NewWorkqueueMetricsProvider(reg)
}
