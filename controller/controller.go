package controller

import (
	"context"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"runtime/debug"
	"time"

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
	// Recorder records Events on Gateways (for example when Kengine refused a config); nil
	// records none.
	Recorder record.EventRecorder
	// Registerer receives the controller's own metrics; nil means the default registerer.
	Registerer prometheus.Registerer
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
	metrics    controllerMetrics
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
	// The managed pods' readiness probe asks for the route render serves.
	opts.Managed.HealthPort, opts.Managed.ReadyPath = opts.Render.HealthPort, render.ReadyPath
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
		metrics:   newControllerMetrics(opts.Registerer),
		status:    status.NewWriter(gw, opts.ControllerName, opts.Now),
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

// Run waits for the caches, runs workers until ctx is done, then drains the queue: items in
// flight finish, nothing new starts.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrash()
	logger := klog.FromContext(ctx)
	logger.Info("Waiting for informer caches to sync")
	if !cache.WaitForCacheSync(ctx.Done(), c.informers.HasSynced) {
		return fmt.Errorf("waiting for informer caches: %w", ctx.Err())
	}
	logger.Info("Starting workers", "count", workers)
	done := make(chan struct{})
	go func() {
		defer close(done)
		wg := wait.Group{}
		for i := 0; i < workers; i++ {
			wg.Start(func() {
				for c.processNextWorkItem(ctx) {
				}
			})
		}
		wg.Wait()
	}()
	if c.opts.ResyncPeriod > 0 {
		go wait.UntilWithContext(ctx, c.resync, c.opts.ResyncPeriod)
	}
	<-ctx.Done()
	logger.Info("Shutting down: draining the work queue")
	c.queue.ShutDownWithDrain()
	<-done
	return nil
}

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

// processNextWorkItem handles one key; it returns false when the queue shuts down.
func (c *Controller) processNextWorkItem(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)

	// Work that started finishes even while shutting down, so a push is never cut in half;
	// every network call below has its own timeout.
	syncCtx := context.WithoutCancel(ctx)
	err := c.syncKey(ctx, syncCtx, key)
	c.handleErr(ctx, err, key)
	return true
}

// syncKey runs the sync of one key. A panic, which only a bug can cause, becomes an error for
// that key: one bad object must not take down the controller and every other Gateway.
func (c *Controller) syncKey(ctx, syncCtx context.Context, key queueKey) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while syncing %s: %v\n%s", key.name, r, debug.Stack())
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
	if errors.Is(err, errPushIncomplete) {
		// Routine: a pod that is starting or going away is not reachable yet; the Gateway's
		// status says which.
		logger.V(2).Info("Not every Kengine pod was programmed; will retry", "key", key.name.String(), "retries", c.queue.NumRequeues(key), "reason", err.Error())
	} else {
		logger.Error(err, "Sync failed; will retry", "key", key.name.String(), "retries", c.queue.NumRequeues(key))
	}
	c.queue.AddRateLimited(key)
}
