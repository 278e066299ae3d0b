package controller

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/leaderelection"

	"github.com/khulnasoft/gateway/kengine"
	"github.com/khulnasoft/gateway/workqueue"
)

// The controller's own metrics, besides the work queue's (workqueue_metrics.go). Three
// families:
//   - controller_runtime_* and leader_election_* under the names controller-runtime and
//     client-go export, so that dashboards and alerts written for those keep working;
//   - kengine_gateway_* per sync and per stage, without a Gateway label (bounded series);
//   - kengine_gateway_* per Gateway (namespace, gateway labels), deleted when the Gateway is
//     deleted or leaves our classes; only the push counter adds a pod label, and a pod's series
//     go when the pod leaves the Gateway.

// Label names, shared with kube-state-metrics where they mean the same thing.
const (
	labelController = "controller"
	labelResult     = "result"
	labelStage      = "stage"
	labelNamespace  = "namespace"
	labelGateway    = "gateway"
	labelPod        = "pod"
	labelKind       = "kind"
	labelName       = "name"
)

// Values of the controller label: which kind of queue key a reconcile was for.
const (
	controllerGateway      = "gateway"
	controllerGatewayClass = "gatewayclass"
)

// Values of the result label of reconciles and syncs, as controller-runtime names them:
// requeue is a retry that is routine (pods not reachable yet), error one that is not.
const (
	resultSuccess = "success"
	resultError   = "error"
	resultRequeue = "requeue"
)

// Values of the result label of pushes.
const (
	pushOK          = "ok"
	pushUnchanged   = "unchanged"
	pushRejected    = "rejected"
	pushUnreachable = "unreachable"
)

// syncBuckets span a millisecond (a cached no-op sync) to about a minute (a push waiting on
// slow pods, or an isolation's trial loads).
var syncBuckets = prometheus.ExponentialBuckets(0.001, 2, 17)

// routeKinds are the route kinds counted per Gateway; every kind gets a series, zero or not,
// so that a dashboard sums them without gaps.
var routeKinds = []string{"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"}

// Metrics holds the controller's metric vectors. The sync loop calls its methods; tests build
// one on a fresh registry and read it back with prometheus/testutil.
type Metrics struct {
	reconcileTotal  *prometheus.CounterVec
	reconcileErrors *prometheus.CounterVec
	reconcilePanics *prometheus.CounterVec
	reconcileTime   *prometheus.HistogramVec
	activeWorkers   *prometheus.GaugeVec
	maxReconciles   *prometheus.GaugeVec

	syncDuration  *prometheus.HistogramVec
	stageDuration *prometheus.HistogramVec

	pushes         *prometheus.CounterVec
	configBytes    *prometheus.GaugeVec
	routes         *prometheus.GaugeVec
	listeners      *prometheus.GaugeVec
	rejectedRoutes *prometheus.GaugeVec
	lastPush       *prometheus.GaugeVec

	refusals prometheus.Counter
	excluded prometheus.Counter

	leader          prometheus.Gauge
	leaderStatus    *prometheus.GaugeVec
	leaderSlowpaths *prometheus.CounterVec

	// mu guards pods: the pods each Gateway's push counter has series for, so that a pod's
	// series can be deleted once it is gone.
	mu   sync.Mutex
	pods map[types.NamespacedName]map[string]bool
}

// NewMetrics registers the controller's metrics with reg (prometheus.DefaultRegisterer when
// nil). Like NewWorkqueueMetricsProvider, a second call on the same registry reuses the
// vectors already there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	perGateway := []string{labelNamespace, labelGateway}
	return &Metrics{
		reconcileTotal: registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "controller_runtime_reconcile_total",
			Help: "Reconciles per controller (gateway, gatewayclass) and result (success, error, requeue).",
		}, []string{labelController, labelResult})),
		reconcileErrors: registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "controller_runtime_reconcile_errors_total",
			Help: "Reconciles that failed with an error other than a routine retry.",
		}, []string{labelController})),
		reconcilePanics: registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "controller_runtime_reconcile_panics_total",
			Help: "Reconciles that panicked; the panic became an error and the key is retried.",
		}, []string{labelController})),
		reconcileTime: registerOrReuse(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "controller_runtime_reconcile_time_seconds",
			Help:    "Seconds one reconcile took.",
			Buckets: syncBuckets,
		}, []string{labelController})),
		activeWorkers: registerOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "controller_runtime_active_workers",
			Help: "Workers reconciling a key right now.",
		}, []string{labelController})),
		maxReconciles: registerOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "controller_runtime_max_concurrent_reconciles",
			Help: "Workers (--workers); Gateway and GatewayClass keys share them.",
		}, []string{labelController})),
		syncDuration: registerOrReuse(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kengine_gateway_sync_duration_seconds",
			Help:    "Seconds one Gateway sync took, by result (success, error, requeue).",
			Buckets: syncBuckets,
		}, []string{labelResult})),
		stageDuration: registerOrReuse(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kengine_gateway_sync_stage_duration_seconds",
			Help:    "Seconds one stage of a Gateway sync took (snapshot, translate, render, managed, push, status), summed over the stage's runs in that sync.",
			Buckets: syncBuckets,
		}, []string{labelStage})),
		pushes: registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kengine_gateway_pushes_total",
			Help: "Config pushes to one Kengine pod of a Gateway, by result: ok (loaded), unchanged (the pod already ran it), rejected (Kengine refused it), unreachable (no answer, timeout or server error).",
		}, []string{labelNamespace, labelGateway, labelPod, labelResult})),
		configBytes: registerOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kengine_gateway_config_size_bytes",
			Help: "Size of the Gateway's last rendered Kengine config.",
		}, perGateway)),
		routes: registerOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kengine_gateway_routes",
			Help: "Routes that name the Gateway as a parent, by kind.",
		}, []string{labelNamespace, labelGateway, labelKind})),
		listeners: registerOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kengine_gateway_listeners",
			Help: "Listeners in the Gateway's spec.",
		}, perGateway)),
		rejectedRoutes: registerOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kengine_gateway_rejected_routes",
			Help: "Routes that name the Gateway but are not accepted by it (Accepted=False on at least one of their parentRefs to it).",
		}, perGateway)),
		lastPush: registerOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kengine_gateway_last_successful_push_timestamp_seconds",
			Help: "Unix time at which every Kengine pod of the Gateway last ran its current config (loaded or already running).",
		}, perGateway)),
		refusals: registerOrReuse(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kengine_gateway_config_refusals_total",
			Help: "Configs a Kengine pod refused; the controller then leaves out the objects the refusal depends on.",
		})),
		excluded: registerOrReuse(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kengine_gateway_excluded_objects_total",
			Help: "Routes and listeners left out of a Gateway's config because Kengine refused the config with them.",
		})),
		leader: registerOrReuse(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kengine_gateway_leader",
			Help: "1 while this replica reconciles (it holds the Lease, or runs without --leader-elect), else 0.",
		})),
		leaderStatus: registerOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "leader_election_master_status",
			Help: "1 while this replica holds the Lease name, else 0 (client-go leader election).",
		}, []string{labelName})),
		leaderSlowpaths: registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leader_election_slowpath_total",
			Help: "Lease renewals that had to read the Lease again (client-go leader election).",
		}, []string{labelName})),
		pods: map[types.NamespacedName]map[string]bool{},
	}
}

// SetLeader sets kengine_gateway_leader.
func (m *Metrics) SetLeader(leading bool) {
	if leading {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

// LeaderElection returns the provider to hand to leaderelection.SetProvider: it feeds
// leader_election_master_status and kengine_gateway_leader.
func (m *Metrics) LeaderElection() leaderelection.MetricsProvider { return leaderMetrics{m} }

type leaderMetrics struct{ m *Metrics }

func (l leaderMetrics) NewLeaderMetric() leaderelection.LeaderMetric { return l }

func (l leaderMetrics) On(name string) {
	l.m.leaderStatus.WithLabelValues(name).Set(1)
	l.m.SetLeader(true)
}

func (l leaderMetrics) Off(name string) {
	l.m.leaderStatus.WithLabelValues(name).Set(0)
	l.m.SetLeader(false)
}

func (l leaderMetrics) SlowpathExercised(name string) {
	l.m.leaderSlowpaths.WithLabelValues(name).Inc()
}

// setWorkers records how many workers serve each kind of key.
func (m *Metrics) setWorkers(n int) {
	for _, c := range []string{controllerGateway, controllerGatewayClass} {
		m.maxReconciles.WithLabelValues(c).Set(float64(n))
	}
}

// reconcileStarted marks a worker busy with a key of controller c; the returned function
// records the reconcile's outcome and frees the worker.
func (m *Metrics) reconcileStarted(c string, clock workqueue.Clock) func(result string, panicked bool) {
	start := clock.Now()
	m.activeWorkers.WithLabelValues(c).Inc()
	return func(result string, panicked bool) {
		m.activeWorkers.WithLabelValues(c).Dec()
		m.reconcileTime.WithLabelValues(c).Observe(clock.Since(start).Seconds())
		m.reconcileTotal.WithLabelValues(c, result).Inc()
		if result == resultError {
			m.reconcileErrors.WithLabelValues(c).Inc()
		}
		if panicked {
			m.reconcilePanics.WithLabelValues(c).Inc()
		}
	}
}

// observeSync records a finished Gateway sync: its duration by result, and each stage that
// ran.
func (m *Metrics) observeSync(t *syncTrace, result string) {
	m.syncDuration.WithLabelValues(result).Observe(t.total.Seconds())
	for s := range numStages {
		if t.ran[s] {
			m.stageDuration.WithLabelValues(s.String()).Observe(t.stages[s].Seconds())
		}
	}
}

// pushResult classifies one pod's push result for the push counter.
func pushResult(r kengine.Result) string {
	switch {
	case r.Err == nil && r.Skipped:
		return pushUnchanged
	case r.Err == nil:
		return pushOK
	}
	if _, refused := rejectionMessage(r.Err); refused {
		return pushRejected
	}
	return pushUnreachable
}

// podLabel names an endpoint in the pod label: its pod, or its address when the
// EndpointSlice names no pod.
func podLabel(ep kengine.Endpoint) string {
	if ep.Pod != "" {
		return ep.Pod
	}
	return ep.Address
}

// recordPush counts one push's results for the Gateway gw.
func (m *Metrics) recordPush(gw types.NamespacedName, results []kengine.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	known := m.pods[gw]
	if known == nil {
		known = map[string]bool{}
		m.pods[gw] = known
	}
	for _, r := range results {
		pod := podLabel(r.Endpoint)
		known[pod] = true
		m.pushes.WithLabelValues(gw.Namespace, gw.Name, pod, pushResult(r)).Inc()
	}
}

// keepPods deletes the push counter's series of the Gateway's pods that are gone: a Gateway
// whose pods roll keeps a bounded number of series.
func (m *Metrics) keepPods(gw types.NamespacedName, eps []kengine.Endpoint) {
	present := make(map[string]bool, len(eps))
	for _, ep := range eps {
		present[podLabel(ep)] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for pod := range m.pods[gw] {
		if !present[pod] {
			m.pushes.DeletePartialMatch(prometheus.Labels{labelNamespace: gw.Namespace, labelGateway: gw.Name, labelPod: pod})
			delete(m.pods[gw], pod)
		}
	}
}

// gatewayObjects is what a Gateway's object gauges report.
type gatewayObjects struct {
	routes         map[string]int // by kind
	listeners      int
	rejectedRoutes int
}

// setObjects sets the Gateway's object gauges.
func (m *Metrics) setObjects(gw types.NamespacedName, o gatewayObjects) {
	for _, kind := range routeKinds {
		m.routes.WithLabelValues(gw.Namespace, gw.Name, kind).Set(float64(o.routes[kind]))
	}
	m.listeners.WithLabelValues(gw.Namespace, gw.Name).Set(float64(o.listeners))
	m.rejectedRoutes.WithLabelValues(gw.Namespace, gw.Name).Set(float64(o.rejectedRoutes))
}

// setConfigSize sets the size of the Gateway's rendered config.
func (m *Metrics) setConfigSize(gw types.NamespacedName, bytes int) {
	m.configBytes.WithLabelValues(gw.Namespace, gw.Name).Set(float64(bytes))
}

// pushSucceeded records that every pod of the Gateway ran its config at t.
func (m *Metrics) pushSucceeded(gw types.NamespacedName, t time.Time) {
	m.lastPush.WithLabelValues(gw.Namespace, gw.Name).Set(float64(t.UnixNano()) / 1e9)
}

// forgetGateway deletes every series of a Gateway that is deleted or no longer ours.
func (m *Metrics) forgetGateway(gw types.NamespacedName) {
	match := prometheus.Labels{labelNamespace: gw.Namespace, labelGateway: gw.Name}
	for _, v := range []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{m.pushes, m.configBytes, m.routes, m.listeners, m.rejectedRoutes, m.lastPush} {
		v.DeletePartialMatch(match)
	}
	m.mu.Lock()
	delete(m.pods, gw)
	m.mu.Unlock()
}
