package controller

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/khulnasoft/gateway/controller/managed"
	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/status"
	"github.com/khulnasoft/gateway/informers"
	"github.com/khulnasoft/gateway/kengine"
	"github.com/khulnasoft/gateway/workqueue"
)

// DefaultControllerName is the GatewayClass controllerName this controller answers to.
const DefaultControllerName = "khulnasoft.com/kengine-gateway"

// Defaults of Options.
const (
	DefaultShutdownTimeout = 20 * time.Second
	DefaultAPITimeout      = 30 * time.Second
)

// Pusher programs Kengine pods; *kengine.Client implements it. It is an alias, so that the
// controller and its stages share one interface.
type Pusher = kengine.Pusher

// Options configure a Controller.
type Options struct {
	// ControllerName selects the GatewayClasses this controller owns.
	ControllerName string
	// Render carries the admin block, the health port and the listen host of rendered configs.
	Render render.Options
	// AdminPort is the Kengine admin API port on every pod.
	AdminPort int
	// ResyncPeriod re-enqueues every Gateway periodically so that a pod that lost its config
	// (restarted without --resume, replaced at the same address) is programmed again even if
	// no Kubernetes object changed. Zero disables it.
	ResyncPeriod time.Duration
	// Clock drives the work queue; nil means the real clock.
	Clock workqueue.Clock
	// QueueMetrics receives the work queue's metrics; nil disables them.
	QueueMetrics workqueue.MetricsProvider
	// Managed configures Kengine deployments run by the controller. New sets its HealthPort
	// and ReadyPath from Render, so that the pods' readiness probe asks for what render serves.
	Managed managed.Options
	// Now returns the time written into condition transitions; nil means time.Now.
	Now func() time.Time
	// Recorder records Events on Gateways and routes (events.go); nil records none.
	Recorder record.EventRecorder
	// Metrics receives the controller's own metrics; nil means NewMetrics(Registerer).
	Metrics *Metrics
	// Registerer receives the controller's own metrics when Metrics is nil; nil means the
	// default registerer.
	Registerer prometheus.Registerer
	// ShutdownTimeout bounds how long Run lets the syncs in flight finish once its context
	// is done; then their context is cancelled. Zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// APITimeout bounds every call to the API server (status writes, applies); zero means
	// DefaultAPITimeout.
	APITimeout time.Duration
	// LookupHost resolves ExternalName backends (when a GatewayClass allows them); nil uses
	// the system resolver.
	LookupHost LookupFunc
}

// keyKind tells the two kinds of queue keys apart.
type keyKind int

const (
	keyGateway keyKind = iota
	keyGatewayClass
)

// queueKey is one unit of work: a Gateway (namespace/name) or a GatewayClass (name).
type queueKey struct {
	kind keyKind
	name types.NamespacedName
}

// Controller reconciles the Gateways of our GatewayClasses into Kengine configs.
type Controller struct {
	kube      kubernetes.Interface
	gateway   gatewayclient.Interface
	informers *informers.Informers
	pusher    Pusher
	queue     *workqueue.Queue[queueKey]
	opts      Options
	managed   *managed.Reconciler
	resolver  *nameResolver
	// rejections remembers, per Gateway, what Kengine refused and what it last accepted.
	rejections rejectionMemory
	// renders keeps, per Gateway, what one render can reuse from the last (rendercache.go).
	renders renderCaches
	metrics *Metrics
	events  *eventReporter
	// clock times syncs and stages.
	clock workqueue.Clock
	// status writes GatewayClass, Gateway and route status.
	status *status.Writer
}

// New creates a controller and registers its event handlers on the informers. Call it before
// starting the informers.
func New(kube kubernetes.Interface, gw gatewayclient.Interface, inf *informers.Informers, pusher Pusher, opts Options) (*Controller, error) {
	if opts.ControllerName == "" {
		opts.ControllerName = DefaultControllerName
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	if opts.APITimeout <= 0 {
		opts.APITimeout = DefaultAPITimeout
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(opts.Registerer)
	}
	clock := opts.Clock
	if clock == nil {
		clock = workqueue.RealClock()
	}
	// The managed pods' readiness probe asks for the route render serves.
	opts.Managed.HealthPort, opts.Managed.ReadyPath = opts.Render.HealthPort, render.ReadyPath
	opts.Managed.APITimeout = opts.APITimeout
	managedKengine := managed.NewReconciler(kube, managed.Listers{
		Services: inf.Services, Secrets: inf.Secrets, ConfigMaps: inf.ConfigMaps,
		ServiceAccounts: inf.Managed.ServiceAccounts, Deployments: inf.Managed.Deployments, DaemonSets: inf.Managed.DaemonSets,
		GatewayServices: inf.KengineServicesForGateway,
	}, opts.Managed)
	c := &Controller{
		kube:      kube,
		gateway:   gw,
		informers: inf,
		pusher:    pusher,
		opts:      opts,
		managed:   managedKengine,
		resolver:  newNameResolver(opts.LookupHost, opts.Now),
		metrics:   opts.Metrics,
		events:    newEventReporter(opts.Recorder, opts.Now),
		clock:     clock,
		status:    status.NewWriter(gw, opts.ControllerName, opts.Now, opts.APITimeout),
		queue: workqueue.New(workqueue.Config[queueKey]{
			Name:            "gateway",
			Clock:           opts.Clock,
			MetricsProvider: opts.QueueMetrics,
		}),
	}
	if err := inf.AddEventHandlers(c); err != nil {
		return nil, fmt.Errorf("registering event handlers: %w", err)
	}
	return c, nil
}

// EnqueueGateway implements informers.Enqueuer.
func (c *Controller) EnqueueGateway(key types.NamespacedName) {
	c.queue.Add(queueKey{kind: keyGateway, name: key})
}

// EnqueueGatewayClass implements informers.Enqueuer.
func (c *Controller) EnqueueGatewayClass(name string) {
	c.queue.Add(queueKey{kind: keyGatewayClass, name: types.NamespacedName{Name: name}})
}

// Run waits for the caches and runs workers until ctx is done. Then it shuts down: workers
// take no new key, and the syncs in flight get ShutdownTimeout to finish before their context
// is cancelled. It returns an error only if a sync ignored that cancellation.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrash()
	logger := klog.FromContext(ctx)
	logger.Info("Waiting for informer caches to sync")
	if !cache.WaitForCacheSync(ctx.Done(), c.informers.HasSynced) {
		return fmt.Errorf("waiting for informer caches: %w", ctx.Err())
	}
	logger.Info("Starting workers", "count", workers)
	c.metrics.setWorkers(workers)
	// Syncs outlive ctx by at most ShutdownTimeout, so that a push that started can finish.
	syncCtx, cancelSyncs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSyncs()
	var wg wait.Group
	for range workers {
		wg.Start(func() {
			for c.processNextWorkItem(ctx, syncCtx) {
			}
		})
	}
	if c.opts.ResyncPeriod > 0 {
		wg.StartWithContext(ctx, func(ctx context.Context) { wait.UntilWithContext(ctx, c.resync, c.opts.ResyncPeriod) })
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		wg.Wait()
	}()
	<-ctx.Done()
	logger.Info("Shutting down: finishing the syncs in flight", "timeout", c.opts.ShutdownTimeout)
	c.queue.ShutDown()
	timer := c.clock.NewTimer(c.opts.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
		logger.Info("Shut down")
		return nil
	case <-timer.C():
	}
	logger.Info("Syncs still running at the shutdown timeout; cancelling them", "timeout", c.opts.ShutdownTimeout)
	cancelSyncs()
	grace := c.clock.NewTimer(cancelGrace)
	defer grace.Stop()
	select {
	case <-done:
		return nil
	case <-grace.C():
		return fmt.Errorf("shutting down: syncs still running %v after they were cancelled", cancelGrace)
	}
}

// cancelGrace is how long Run waits for syncs to return once their context is cancelled;
// every call they make honours the context, so only a bug makes this run out.
const cancelGrace = time.Second

// resync rotates the admin client CA when due and re-checks every Gateway against its pods.
func (c *Controller) resync(ctx context.Context) {
	if pki := c.opts.Managed.PKI; pki != nil {
		if err := pki.Reload(ctx); err != nil {
			klog.FromContext(ctx).Error(err, "Reloading the admin CA; keeping the one in memory")
		}
		if rotated, err := pki.RotateClientCA(ctx, false); err != nil {
			klog.FromContext(ctx).Error(err, "Rotating the admin client CA")
		} else if rotated {
			klog.FromContext(ctx).Info("Rotated the admin client CA; the previous one stays trusted during the overlap")
		}
		if _, err := pki.UnpinPreviousClientCA(ctx, false); err != nil {
			klog.FromContext(ctx).Error(err, "Unpinning the previous admin client CA")
		}
	}
	c.forgetGonePods(ctx)
	c.enqueueAllGateways(ctx)
}

// forgetGonePods bounds the shared bring-your-own client's memory to the pods that exist.
func (c *Controller) forgetGonePods(ctx context.Context) {
	if c.pusher == nil {
		return
	}
	gws, err := c.informers.Gateways.List(everything)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Listing Gateways to forget gone Kengine pods; keeping every pod's state")
		return
	}
	present := map[kengine.Endpoint]bool{}
	for _, gw := range gws {
		dp, err := c.findDataPlane(types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name})
		if err != nil {
			// Keep everything rather than forget what still exists.
			klog.FromContext(ctx).Error(err, "Finding a Gateway's Kengine pods; keeping every pod's state", "gateway", klog.KObj(gw))
			return
		}
		for _, ep := range dp.endpoints {
			present[ep] = true
		}
	}
	c.pusher.Forget(func(ep kengine.Endpoint) bool { return present[ep] })
}

func (c *Controller) enqueueAllGateways(ctx context.Context) {
	gws, err := c.informers.Gateways.List(everything)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Listing Gateways to resync them")
		return
	}
	for _, gw := range gws {
		c.EnqueueGateway(types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name})
	}
}

// processNextWorkItem handles one key under syncCtx; it returns false when the queue shuts
// down or ctx, the process's context, is done.
func (c *Controller) processNextWorkItem(ctx, syncCtx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	if ctx.Err() != nil {
		// Shutting down: a key not started yet is left to the next leader, which syncs
		// every Gateway when it starts.
		return false
	}
	name := controllerGateway
	if key.kind == keyGatewayClass {
		name = controllerGatewayClass
	}
	finish := c.metrics.reconcileStarted(name, c.clock)
	err := c.syncKey(ctx, syncCtx, key)
	finish(syncResult(err), errors.Is(err, errSyncPanicked))
	c.handleErr(ctx, err, key)
	return true
}

// errSyncPanicked marks the error of a sync that panicked.
var errSyncPanicked = errors.New("panic")

// syncKey runs the sync of one key. A panic, which only a bug can cause, becomes an error for
// that key: one bad object must not take down the controller and every other Gateway.
func (c *Controller) syncKey(ctx, syncCtx context.Context, key queueKey) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w while syncing %s: %v\n%s", errSyncPanicked, key.name, r, debug.Stack())
		}
	}()
	switch key.kind {
	case keyGateway:
		err = c.syncGateway(klog.NewContext(syncCtx, klog.LoggerWithValues(klog.FromContext(ctx), "gateway", key.name.String())), key.name)
	case keyGatewayClass:
		err = c.syncGatewayClass(klog.NewContext(syncCtx, klog.LoggerWithValues(klog.FromContext(ctx), "gatewayClass", key.name.Name)), key.name.Name)
	}
	return err
}

// handleErr forgets keys that synced and retries the others with per-key backoff.
func (c *Controller) handleErr(ctx context.Context, err error, key queueKey) {
	if err == nil {
		c.queue.Forget(key)
		return
	}
	logger := klog.FromContext(ctx)
	switch {
	case errors.Is(err, errPushIncomplete):
		// Routine: a pod that is starting or going away is not reachable yet; the sync logged
		// which at Info, the Gateway's status says so too.
		logger.V(4).Info("Not every Kengine pod was programmed; will retry", "key", key.name.String(), "retries", c.queue.NumRequeues(key))
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		// Shutting down: the sync was cancelled at the shutdown timeout.
		logger.Info("Sync cancelled by shutdown", "key", key.name.String())
		return
	default:
		logger.Error(err, "Sync failed; will retry", "key", key.name.String(), "retries", c.queue.NumRequeues(key))
	}
	c.queue.AddRateLimited(key)
}
