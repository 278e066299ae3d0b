package workqueue

import "time"

// MetricsProvider creates the metrics of one queue, identified by name. The Prometheus wiring
// lives in the controller package, which keeps this package free of dependencies. Metrics are
// updated with the queue's lock held, so their methods must be quick and must not call back
// into the queue.
type MetricsProvider interface {
	// NewDepthMetric counts items waiting for Get (workqueue_depth).
	NewDepthMetric(name string) GaugeMetric
	// NewAddsMetric counts adds that made an item pending (workqueue_adds_total).
	NewAddsMetric(name string) CounterMetric
	// NewLatencyMetric observes seconds from Add to Get (workqueue_queue_duration_seconds).
	NewLatencyMetric(name string) HistogramMetric
	// NewWorkDurationMetric observes seconds from Get to Done (workqueue_work_duration_seconds).
	NewWorkDurationMetric(name string) HistogramMetric
	// NewUnfinishedWorkSecondsMetric reports the seconds all in-flight items have spent
	// processing so far (workqueue_unfinished_work_seconds); it reveals stuck workers before
	// they call Done.
	NewUnfinishedWorkSecondsMetric(name string) SettableGaugeMetric
	// NewLongestRunningProcessorSecondsMetric reports how long the oldest in-flight item has
	// been processing (workqueue_longest_running_processor_seconds).
	NewLongestRunningProcessorSecondsMetric(name string) SettableGaugeMetric
	// NewRetriesMetric counts AddRateLimited calls (workqueue_retries_total).
	NewRetriesMetric(name string) CounterMetric
}

// GaugeMetric is a value that goes up and down by one.
type GaugeMetric interface {
	// Inc adds one.
	Inc()
	// Dec subtracts one.
	Dec()
}

// SettableGaugeMetric is a value that is sampled and set.
type SettableGaugeMetric interface {
	// Set replaces the value.
	Set(float64)
}

// CounterMetric is a value that only grows.
type CounterMetric interface {
	// Inc adds one.
	Inc()
}

// HistogramMetric is a distribution of observed values.
type HistogramMetric interface {
	// Observe records one value.
	Observe(float64)
}

// queueMetrics records one queue's metrics. Its methods are called with the queue's lock held,
// which also guards its maps; a nil *queueMetrics records nothing, so the queue calls it
// unconditionally.
type queueMetrics[T comparable] struct {
	clock Clock

	depth          GaugeMetric
	adds           CounterMetric
	latency        HistogramMetric
	workDuration   HistogramMetric
	unfinishedWork SettableGaugeMetric
	longestRunning SettableGaugeMetric
	retries        CounterMetric

	addedAt   map[T]time.Time // when each pending item was added
	startedAt map[T]time.Time // when each processing item was handed out
}

func newQueueMetrics[T comparable](name string, p MetricsProvider, clock Clock) *queueMetrics[T] {
	return &queueMetrics[T]{
		clock:          clock,
		depth:          p.NewDepthMetric(name),
		adds:           p.NewAddsMetric(name),
		latency:        p.NewLatencyMetric(name),
		workDuration:   p.NewWorkDurationMetric(name),
		unfinishedWork: p.NewUnfinishedWorkSecondsMetric(name),
		longestRunning: p.NewLongestRunningProcessorSecondsMetric(name),
		retries:        p.NewRetriesMetric(name),
		addedAt:        map[T]time.Time{},
		startedAt:      map[T]time.Time{},
	}
}

// add records an item becoming pending; it counts toward depth until Get hands it out.
func (m *queueMetrics[T]) add(item T) {
	if m == nil {
		return
	}
	m.adds.Inc()
	m.depth.Inc()
	m.addedAt[item] = m.clock.Now()
}

func (m *queueMetrics[T]) get(item T) {
	if m == nil {
		return
	}
	now := m.clock.Now()
	m.depth.Dec()
	if t, ok := m.addedAt[item]; ok {
		m.latency.Observe(now.Sub(t).Seconds())
		delete(m.addedAt, item)
	}
	m.startedAt[item] = now
}

func (m *queueMetrics[T]) done(item T) {
	if m == nil {
		return
	}
	if t, ok := m.startedAt[item]; ok {
		m.workDuration.Observe(m.clock.Since(t).Seconds())
		delete(m.startedAt, item)
	}
}

func (m *queueMetrics[T]) retry() {
	if m == nil {
		return
	}
	m.retries.Inc()
}

func (m *queueMetrics[T]) updateUnfinishedWork() {
	if m == nil {
		return
	}
	now := m.clock.Now()
	var total, longest float64
	for _, t := range m.startedAt {
		s := now.Sub(t).Seconds()
		total += s
		longest = max(longest, s)
	}
	m.unfinishedWork.Set(total)
	m.longestRunning.Set(longest)
}
