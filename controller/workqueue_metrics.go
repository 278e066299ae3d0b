package controller

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/khulnasoft/gateway/workqueue"
)

// queueNameLabel tells the series of different queues apart.
const queueNameLabel = "name"

// durationBuckets span a microsecond (a key picked up at once) to 1000s (the longest default
// backoff), a factor of ten apart: queue waits and syncs vary over that whole range.
var durationBuckets = []float64{1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10, 100, 1000}

// NewWorkqueueMetricsProvider returns the Prometheus implementation of the workqueue metrics
// hooks: one vector per metric, labelled by queue name, registered with reg
// (prometheus.DefaultRegisterer when nil). The vectors are registered here, once, so any number
// of queues can take their metrics from one provider; a second provider on the same registry
// reuses the vectors already registered rather than failing. Like MustRegister, it panics if reg
// holds a different metric under one of these names.
func NewWorkqueueMetricsProvider(reg prometheus.Registerer) workqueue.MetricsProvider {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	labels := []string{queueNameLabel}
	return &workqueueMetricsProvider{
		depth: registerOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "workqueue_depth",
			Help: "Number of items waiting in the workqueue to be processed.",
		}, labels)),
		adds: registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workqueue_adds_total",
			Help: "Number of adds that made an item pending in the workqueue.",
		}, labels)),
		latency: registerOrReuse(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "workqueue_queue_duration_seconds",
			Help:    "Seconds an item waits in the workqueue between being added and handed to a worker.",
			Buckets: durationBuckets,
		}, labels)),
		workDuration: registerOrReuse(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "workqueue_work_duration_seconds",
			Help:    "Seconds a worker spends processing an item.",
			Buckets: durationBuckets,
		}, labels)),
		unfinishedWork: registerOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "workqueue_unfinished_work_seconds",
			Help: "Seconds that items still being processed have been running, summed; growth without completions means stuck workers.",
		}, labels)),
		longestRunning: registerOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "workqueue_longest_running_processor_seconds",
			Help: "Seconds the longest-running item still being processed has been running.",
		}, labels)),
		retries: registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workqueue_retries_total",
			Help: "Number of rate-limited retries added to the workqueue.",
		}, labels)),
	}
}

// registerOrReuse registers c, or returns the equal collector that reg already holds.
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	if already, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(fmt.Errorf("registering workqueue metrics: %w", err))
}

// workqueueMetricsProvider hands each queue the children of shared vectors for its name.
type workqueueMetricsProvider struct {
	depth          *prometheus.GaugeVec
	adds           *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	workDuration   *prometheus.HistogramVec
	unfinishedWork *prometheus.GaugeVec
	longestRunning *prometheus.GaugeVec
	retries        *prometheus.CounterVec
}

var _ workqueue.MetricsProvider = (*workqueueMetricsProvider)(nil)

func (p *workqueueMetricsProvider) NewDepthMetric(name string) workqueue.GaugeMetric {
	return p.depth.WithLabelValues(name)
}

func (p *workqueueMetricsProvider) NewAddsMetric(name string) workqueue.CounterMetric {
	return p.adds.WithLabelValues(name)
}

func (p *workqueueMetricsProvider) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return p.latency.WithLabelValues(name)
}

func (p *workqueueMetricsProvider) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return p.workDuration.WithLabelValues(name)
}

func (p *workqueueMetricsProvider) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.unfinishedWork.WithLabelValues(name)
}

func (p *workqueueMetricsProvider) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.longestRunning.WithLabelValues(name)
}

func (p *workqueueMetricsProvider) NewRetriesMetric(name string) workqueue.CounterMetric {
	return p.retries.WithLabelValues(name)
}
