package workqueue

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// recordingProvider keeps every metric update in memory so tests can read them back.
type recordingProvider struct {
	mu       sync.Mutex
	created  []string             // "kind/queue name" per NewXxx call
	values   map[string]float64   // gauges, counters and settable gauges by kind
	observed map[string][]float64 // histograms by kind
}

func newRecordingProvider() *recordingProvider {
	return &recordingProvider{values: map[string]float64{}, observed: map[string][]float64{}}
}

type recordedMetric struct {
	p    *recordingProvider
	kind string
}

func (m recordedMetric) Inc() { m.update(func() { m.p.values[m.kind]++ }) }
func (m recordedMetric) Dec() { m.update(func() { m.p.values[m.kind]-- }) }
func (m recordedMetric) Set(v float64) {
	m.update(func() { m.p.values[m.kind] = v })
}
func (m recordedMetric) Observe(v float64) {
	m.update(func() { m.p.observed[m.kind] = append(m.p.observed[m.kind], v) })
}

func (m recordedMetric) update(f func()) {
	m.p.mu.Lock()
	defer m.p.mu.Unlock()
	f()
}

func (p *recordingProvider) metric(kind, name string) recordedMetric {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.created = append(p.created, kind+"/"+name)
	return recordedMetric{p: p, kind: kind}
}

func (p *recordingProvider) NewDepthMetric(name string) GaugeMetric {
	return p.metric("depth", name)
}
func (p *recordingProvider) NewAddsMetric(name string) CounterMetric {
	return p.metric("adds", name)
}
func (p *recordingProvider) NewLatencyMetric(name string) HistogramMetric {
	return p.metric("latency", name)
}
func (p *recordingProvider) NewWorkDurationMetric(name string) HistogramMetric {
	return p.metric("work", name)
}
func (p *recordingProvider) NewUnfinishedWorkSecondsMetric(name string) SettableGaugeMetric {
	return p.metric("unfinished", name)
}
func (p *recordingProvider) NewLongestRunningProcessorSecondsMetric(name string) SettableGaugeMetric {
	return p.metric("longest", name)
}
func (p *recordingProvider) NewRetriesMetric(name string) CounterMetric {
	return p.metric("retries", name)
}

func (p *recordingProvider) value(kind string) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.values[kind]
}

// metricsSnapshot is everything a provider recorded for one queue.
type metricsSnapshot struct {
	depth, adds, retries, unfinished, longest float64
	latency, work                             []float64
}

func (p *recordingProvider) snapshot() metricsSnapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return metricsSnapshot{
		depth:      p.values["depth"],
		adds:       p.values["adds"],
		retries:    p.values["retries"],
		unfinished: p.values["unfinished"],
		longest:    p.values["longest"],
		latency:    slices.Clone(p.observed["latency"]),
		work:       slices.Clone(p.observed["work"]),
	}
}

func (s metricsSnapshot) equal(o metricsSnapshot) bool {
	return s.depth == o.depth && s.adds == o.adds && s.retries == o.retries &&
		s.unfinished == o.unfinished && s.longest == o.longest &&
		slices.Equal(s.latency, o.latency) && slices.Equal(s.work, o.work)
}

// TestMetrics walks one queue through adds, gets, re-adds while processing, retries and the
// in-progress gauges on a fake clock; each step lists the complete expected state, with
// durations in seconds since epoch noted beside the steps.
func TestMetrics(t *testing.T) {
	p := newRecordingProvider()
	q, clock := newTestQueue(t, Config[string]{Name: "gateways", MetricsProvider: p})

	steps := []struct {
		name string
		do   func()
		want metricsSnapshot
	}{
		{
			name: "t=0 adds of new items count, a duplicate does not",
			do:   func() { q.Add("a"); q.Add("b"); q.Add("a") },
			want: metricsSnapshot{depth: 2, adds: 2},
		},
		{
			name: "t=2 Get observes the time since Add",
			do:   func() { clock.Step(2 * time.Second); getReady(t, q) },
			want: metricsSnapshot{depth: 1, adds: 2, latency: []float64{2}},
		},
		{
			name: "t=5 the in-progress gauges see a processing for 3s",
			do:   func() { clock.Step(3 * time.Second); q.updateUnfinishedWork() },
			want: metricsSnapshot{depth: 1, adds: 2, unfinished: 3, longest: 3, latency: []float64{2}},
		},
		{
			name: "t=6 two in flight: the total and the oldest",
			do:   func() { getReady(t, q); clock.Step(time.Second); q.updateUnfinishedWork() },
			want: metricsSnapshot{depth: 0, adds: 2, unfinished: 5, longest: 4, latency: []float64{2, 5}},
		},
		{
			name: "t=6 an add while processing counts and waits in depth",
			do:   func() { q.Add("a") },
			want: metricsSnapshot{depth: 1, adds: 3, unfinished: 5, longest: 4, latency: []float64{2, 5}},
		},
		{
			name: "t=6 Done observes the work duration; the re-queue is no new add",
			do:   func() { q.Done("a") },
			want: metricsSnapshot{depth: 1, adds: 3, unfinished: 5, longest: 4, latency: []float64{2, 5}, work: []float64{4}},
		},
		{
			name: "t=7 the re-added item's latency runs from its add",
			do:   func() { clock.Step(time.Second); getReady(t, q); q.updateUnfinishedWork() },
			want: metricsSnapshot{depth: 0, adds: 3, unfinished: 2, longest: 2, latency: []float64{2, 5, 1}, work: []float64{4}},
		},
		{
			name: "t=7 nothing in flight clears the gauges",
			do:   func() { q.Done("b"); q.Done("a"); q.updateUnfinishedWork() },
			want: metricsSnapshot{adds: 3, latency: []float64{2, 5, 1}, work: []float64{4, 2, 0}},
		},
		{
			name: "t=7 AddRateLimited counts a retry; the delayed item is not added yet",
			do:   func() { q.AddRateLimited("c") },
			want: metricsSnapshot{adds: 3, retries: 1, latency: []float64{2, 5, 1}, work: []float64{4, 2, 0}},
		},
	}
	for _, s := range steps {
		s.do()
		if got := p.snapshot(); !got.equal(s.want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", s.name, got, s.want)
		}
	}

	want := []string{"depth/gateways", "adds/gateways", "latency/gateways", "work/gateways", "unfinished/gateways", "longest/gateways", "retries/gateways"}
	if !slices.Equal(p.created, want) {
		t.Errorf("created metrics %v, want %v", p.created, want)
	}
}

func TestMetricsOff(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config[string]
	}{
		{name: "no name", cfg: Config[string]{MetricsProvider: newRecordingProvider()}},
		{name: "no provider", cfg: Config[string]{Name: "gateways"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, clock := newTestQueue(t, tt.cfg)
			q.Add("a")
			getReady(t, q)
			q.AddRateLimited("a")
			q.Done("a")
			q.updateUnfinishedWork()
			if p, ok := tt.cfg.MetricsProvider.(*recordingProvider); ok && len(p.created) != 0 {
				t.Errorf("metrics created without a name: %v", p.created)
			}
			waitDelayLoopIdle(t, q, clock)
			if n := clock.Waiters(); n != 1 {
				t.Errorf("%d timers armed, want only the delay loop's: no metrics goroutine", n)
			}
		})
	}
}

// The in-progress gauges refresh on their own every half second of clock time.
func TestMetricsUpdateEveryHalfSecond(t *testing.T) {
	p := newRecordingProvider()
	q, clock := newTestQueue(t, Config[string]{Name: "gateways", MetricsProvider: p})
	q.Add("a")
	getReady(t, q)
	for _, want := range []float64{0.5, 1, 1.5} {
		// Only the metrics goroutine arms a timer here: nothing is delayed.
		waitFor(t, "the metrics timer", func() bool { return clock.Waiters() == 1 })
		clock.Step(metricsUpdatePeriod)
		waitFor(t, "the periodic update", func() bool { return p.value("unfinished") == want })
		if got := p.value("longest"); got != want {
			t.Errorf("longest running = %v, want %v", got, want)
		}
	}
	q.ShutDown()
	if n := clock.Waiters(); n != 0 {
		t.Errorf("%d timers still armed after ShutDown", n)
	}
}
