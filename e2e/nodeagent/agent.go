// Package nodeagent is the node of the local environment: it stands in for kubelet, the
// scheduler and a cloud load balancer. It registers one Node, binds pending pods to it, runs
// each pod's containers as local binaries inside the pod's own network and mount namespaces,
// reports their status, and serves LoadBalancer Services on loopback addresses.
package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/khulnasoft/gateway/e2e/internal/proc"
)

// Config is how the agent runs.
type Config struct {
	// NodeName is the name of the Node the agent registers.
	NodeName string
	// Network describes the pod network (subnet, bridge and name prefix).
	Network NetworkConfig
	// LoadBalancerRange holds the loopback addresses given to LoadBalancer Services.
	LoadBalancerRange netip.Prefix
	// Images maps container images to local binaries.
	Images ImageTable
	// StateDir holds pod directories (volumes, logs, container scratch space).
	StateDir string
	// PIDDir holds a PID file per running container, so a cleanup can find them.
	PIDDir string
	// SyncPeriod is how often every pod is re-synced (volumes refreshed, status checked).
	SyncPeriod time.Duration
	// ShutdownGrace is how long containers get between SIGTERM and SIGKILL when the agent stops.
	ShutdownGrace time.Duration
	// MaxPods is the pod capacity the node reports.
	MaxPods int
	// APIServer is the API server's address ("127.0.0.1:6443"), relayed to pods on the
	// bridge address and given to them as the kubernetes Service; empty relays nothing.
	APIServer string
}

// NetworkConfig describes the pod network.
type NetworkConfig struct {
	Subnet netip.Prefix
	Bridge string
	Prefix string
}

// Agent is a running node agent.
type Agent struct {
	cfg      Config
	client   kubernetes.Interface
	network  *Network
	recorder record.EventRecorder
	refs     refs
	volumes  volumeWriter
	selfExe  string
	// apiRelay is where pods reach the API server; invalid when it is not relayed.
	apiRelay netip.AddrPort
}

// New prepares an agent; Run starts it.
func New(cfg Config, client kubernetes.Interface) (*Agent, error) {
	if cfg.SyncPeriod <= 0 {
		cfg.SyncPeriod = 10 * time.Second
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 3 * time.Second
	}
	if cfg.MaxPods <= 0 {
		cfg.MaxPods = 250
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding own executable: %w", err)
	}
	for repo, img := range cfg.Images {
		if _, err := os.Stat(img.Binary); err != nil {
			klog.Background().Info("Image binary is missing; pods using it will fail to start", "image", repo, "binary", img.Binary)
		}
	}
	return &Agent{
		cfg:     cfg,
		client:  client,
		network: &Network{Subnet: cfg.Network.Subnet, Bridge: cfg.Network.Bridge, Prefix: cfg.Network.Prefix},
		selfExe: self,
	}, nil
}

// KillLeftoverContainers stops the container processes recorded in pidDir by an earlier run
// that did not stop them (a crash), and removes their PID files.
func KillLeftoverContainers(pidDir string) {
	entries, err := os.ReadDir(pidDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		_ = proc.Stop(filepath.Join(pidDir, e.Name()), time.Second)
	}
}

// Run serves until ctx ends, then stops every container, closes every forwarder and removes the
// pod network, leaving nothing behind.
func (a *Agent) Run(ctx context.Context) error {
	log := klog.FromContext(ctx)
	KillLeftoverContainers(a.cfg.PIDDir)
	if err := a.network.Setup(ctx); err != nil {
		return fmt.Errorf("setting up the pod network: %w", err)
	}
	defer func() {
		if err := a.network.Cleanup(context.Background()); err != nil {
			log.Error(err, "Removing the pod network")
		}
	}()

	if a.cfg.APIServer != "" {
		relay, addr, err := a.relayAPIServer(ctx, a.cfg.APIServer)
		if err != nil {
			return err
		}
		defer relay.close()
		a.apiRelay = addr
		log.Info("Relaying the API server to pods", "from", addr, "to", a.cfg.APIServer)
	}

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	a.recorder = broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "nodeagent", Host: a.cfg.NodeName})

	if err := a.registerNode(ctx); err != nil {
		return err
	}
	log.Info("Registered node", "node", a.cfg.NodeName, "podSubnet", a.cfg.Network.Subnet)

	factory := informers.NewSharedInformerFactory(a.client, 0)
	pods := factory.Core().V1().Pods()
	services := factory.Core().V1().Services()
	slices := factory.Discovery().V1().EndpointSlices()
	a.refs = refs{configMaps: factory.Core().V1().ConfigMaps().Lister(), secrets: factory.Core().V1().Secrets().Lister()}
	a.volumes = volumeWriter{refs: a.refs, client: a.client, capacity: a.capacity()}

	podCtx, stopPods := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPods()
	podCtx = klog.NewContext(podCtx, log)
	manager := newPodManager(podCtx, a)
	var binding sync.Map
	onPod := func(obj any) {
		pod, ok := obj.(*v1.Pod)
		if !ok {
			return
		}
		switch pod.Spec.NodeName {
		case "":
			if _, busy := binding.LoadOrStore(pod.UID, true); !busy {
				go func() {
					defer binding.Delete(pod.UID)
					a.bindPod(ctx, pod)
				}()
			}
		case a.cfg.NodeName:
			manager.update(pod)
		}
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    onPod,
		UpdateFunc: func(_, obj any) { onPod(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if pod, ok := obj.(*v1.Pod); ok && pod.Spec.NodeName == a.cfg.NodeName {
				manager.remove(pod)
			}
		},
	}); err != nil {
		return err
	}

	lb := &loadBalancer{
		a: a, prefix: a.cfg.LoadBalancerRange,
		services: services.Lister(), slices: slices.Lister(),
		state: map[types.NamespacedName]*lbService{}, byIP: map[netip.Addr]types.NamespacedName{},
	}
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName]())
	enqueueService := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		switch o := obj.(type) {
		case *v1.Service:
			queue.Add(types.NamespacedName{Namespace: o.Namespace, Name: o.Name})
		case *discoveryv1.EndpointSlice:
			if name := o.Labels[discoveryv1.LabelServiceName]; name != "" {
				queue.Add(types.NamespacedName{Namespace: o.Namespace, Name: name})
			}
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueService,
		UpdateFunc: func(_, obj any) { enqueueService(obj) },
		DeleteFunc: enqueueService,
	}
	if _, err := services.Informer().AddEventHandler(handler); err != nil {
		return err
	}
	if _, err := slices.Informer().AddEventHandler(handler); err != nil {
		return err
	}

	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("syncing the %v informer", typ)
		}
	}
	log.Info("Caches synced; serving pods and load balancers")

	go a.heartbeat(ctx)
	var lbDone sync.WaitGroup
	lbDone.Add(1)
	go func() {
		defer lbDone.Done()
		for {
			key, shutdown := queue.Get()
			if shutdown {
				return
			}
			if err := lb.sync(ctx, key); err != nil {
				switch {
				case ctx.Err() != nil:
				case apierrors.IsConflict(errors.Unwrap(err)) || apierrors.IsConflict(err):
					// A newer Service version is on its way through the informer.
					log.V(4).Info("Retrying load balancer after a conflict", "service", key)
				default:
					log.Error(err, "Syncing load balancer", "service", key)
				}
				queue.AddRateLimited(key)
			} else {
				queue.Forget(key)
			}
			queue.Done(key)
		}
	}()

	<-ctx.Done()
	log.Info("Stopping: terminating pods and load balancers")
	queue.ShutDown()
	lbDone.Wait()
	lb.closeAll()
	stopPods()
	manager.wait()
	factory.Shutdown()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
