package informers

import (
	"time"

	"k8s.io/apimachinery/pkg/util/sets"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gatewayinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"
	gatewaylisters "sigs.k8s.io/gateway-api/pkg/client/listers/apis/v1"
)

// Informers bundles the shared informer factories and the listers the controller reads. Listers
// for kinds the cluster does not serve are nil; check Served before using them.
type Informers struct {
	// Served records which optional Gateway API kinds exist in the cluster.
	Served ServedKinds

	kubeFactory    kubeinformers.SharedInformerFactory
	gatewayFactory gatewayinformers.SharedInformerFactory

	// Managed watches the objects generated for managed Gateways.
	Managed *Managed

	// informers in start order; every one of them must sync before workers start.
	all []cache.SharedIndexInformer

	GatewayClasses  gatewaylisters.GatewayClassLister
	Gateways        gatewaylisters.GatewayLister
	HTTPRoutes      gatewaylisters.HTTPRouteLister
	GRPCRoutes      gatewaylisters.GRPCRouteLister
	TLSRoutes       gatewaylisters.TLSRouteLister
	TCPRoutes       gatewaylisters.TCPRouteLister
	UDPRoutes       gatewaylisters.UDPRouteLister
	ReferenceGrants gatewaylisters.ReferenceGrantLister
	// BackendTLSPolicies is nil when the cluster does not serve BackendTLSPolicy.
	BackendTLSPolicies gatewaylisters.BackendTLSPolicyLister
	// ListenerSets is nil when the cluster does not serve ListenerSet.
	ListenerSets gatewaylisters.ListenerSetLister

	Services       corelisters.ServiceLister
	EndpointSlices discoverylisters.EndpointSliceLister
	Secrets        corelisters.SecretLister
	Namespaces     corelisters.NamespaceLister
	ConfigMaps     corelisters.ConfigMapLister

	// Indexers for reverse look-ups; see indexers.go.
	gatewayIndexer        cache.Indexer
	httpRouteIndexer      cache.Indexer
	grpcRouteIndexer      cache.Indexer
	tlsRouteIndexer       cache.Indexer
	tcpRouteIndexer       cache.Indexer
	udpRouteIndexer       cache.Indexer
	serviceIndexer        cache.Indexer
	referenceGrantIndexer cache.Indexer
	// backendTLSPolicyIndexer is nil when the cluster does not serve BackendTLSPolicy.
	backendTLSPolicyIndexer cache.Indexer
	// listenerSetIndexer is nil when the cluster does not serve ListenerSet.
	listenerSetIndexer cache.Indexer
}

// New creates informers for the core kinds and the served Gateway API kinds and registers the
// indexers. Nothing starts until Start. resync is the informers' resync period; resync events
// that change nothing are dropped by the handlers, so it only bounds how stale a missed event
// can leave the cache. Every informer stores its objects trimmed (see cacheTransform): the
// Secret cache keeps data only for the Secrets the controller reads, and opts name the
// controller's own among them.
func New(kube kubernetes.Interface, gw gatewayclient.Interface, served ServedKinds, resync time.Duration, opts ...Option) (*Informers, error) {
	o := options{controllerSecrets: sets.New[string]()}
	for _, opt := range opts {
		opt(&o)
	}
	transform := newCacheTransform(o).Transform
	i := &Informers{
		Served:         served,
		kubeFactory:    kubeinformers.NewSharedInformerFactoryWithOptions(kube, resync, kubeinformers.WithTransform(transform)),
		gatewayFactory: gatewayinformers.NewSharedInformerFactoryWithOptions(gw, resync, gatewayinformers.WithTransform(transform)),
	}
	gwv1 := i.gatewayFactory.Gateway().V1()
	core := i.kubeFactory.Core().V1()

	classes := gwv1.GatewayClasses()
	gateways := gwv1.Gateways()
	httpRoutes := gwv1.HTTPRoutes()
	services := core.Services()
	slices := i.kubeFactory.Discovery().V1().EndpointSlices()
	secrets := core.Secrets()
	namespaces := core.Namespaces()
	configMaps := core.ConfigMaps()

	if err := gateways.Informer().AddIndexers(gatewayIndexers); err != nil {
		return nil, err
	}
	if err := httpRoutes.Informer().AddIndexers(routeIndexers); err != nil {
		return nil, err
	}
	if err := services.Informer().AddIndexers(serviceIndexers); err != nil {
		return nil, err
	}
	i.GatewayClasses, i.Gateways, i.HTTPRoutes = classes.Lister(), gateways.Lister(), httpRoutes.Lister()
	i.Services, i.EndpointSlices, i.Secrets = services.Lister(), slices.Lister(), secrets.Lister()
	i.Namespaces, i.ConfigMaps = namespaces.Lister(), configMaps.Lister()
	i.gatewayIndexer = gateways.Informer().GetIndexer()
	i.httpRouteIndexer = httpRoutes.Informer().GetIndexer()
	i.serviceIndexer = services.Informer().GetIndexer()
	i.all = append(i.all, classes.Informer(), gateways.Informer(), httpRoutes.Informer(),
		services.Informer(), slices.Informer(), secrets.Informer(), namespaces.Informer(), configMaps.Informer())

	i.Managed = newManaged(kube, resync, transform)
	i.all = append(i.all, i.Managed.all...)

	// Optional route kinds: an informer, its indexers and its lister only when served.
	optionalRoute := func(kind string, inf cache.SharedIndexInformer, indexer *cache.Indexer) (bool, error) {
		if !served.Has(kind) {
			return false, nil
		}
		if err := inf.AddIndexers(routeIndexers); err != nil {
			return false, err
		}
		*indexer = inf.GetIndexer()
		i.all = append(i.all, inf)
		return true, nil
	}
	if ok, err := optionalRoute(KindGRPCRoute, gwv1.GRPCRoutes().Informer(), &i.grpcRouteIndexer); err != nil {
		return nil, err
	} else if ok {
		i.GRPCRoutes = gwv1.GRPCRoutes().Lister()
	}
	if ok, err := optionalRoute(KindTLSRoute, gwv1.TLSRoutes().Informer(), &i.tlsRouteIndexer); err != nil {
		return nil, err
	} else if ok {
		i.TLSRoutes = gwv1.TLSRoutes().Lister()
	}
	if ok, err := optionalRoute(KindTCPRoute, gwv1.TCPRoutes().Informer(), &i.tcpRouteIndexer); err != nil {
		return nil, err
	} else if ok {
		i.TCPRoutes = gwv1.TCPRoutes().Lister()
	}
	if ok, err := optionalRoute(KindUDPRoute, gwv1.UDPRoutes().Informer(), &i.udpRouteIndexer); err != nil {
		return nil, err
	} else if ok {
		i.UDPRoutes = gwv1.UDPRoutes().Lister()
	}
	if served.Has(KindReferenceGrant) {
		grants := gwv1.ReferenceGrants()
		i.ReferenceGrants = grants.Lister()
		i.referenceGrantIndexer = grants.Informer().GetIndexer()
		i.all = append(i.all, grants.Informer())
	}
	if served.Has(KindBackendTLSPolicy) {
		policies := gwv1.BackendTLSPolicies()
		if err := policies.Informer().AddIndexers(backendTLSPolicyIndexers); err != nil {
			return nil, err
		}
		i.BackendTLSPolicies = policies.Lister()
		i.backendTLSPolicyIndexer = policies.Informer().GetIndexer()
		i.all = append(i.all, policies.Informer())
	}
	if served.Has(KindListenerSet) {
		sets := gwv1.ListenerSets()
		if err := sets.Informer().AddIndexers(listenerSetIndexers); err != nil {
			return nil, err
		}
		i.ListenerSets = sets.Lister()
		i.listenerSetIndexer = sets.Informer().GetIndexer()
		i.all = append(i.all, sets.Informer())
	}
	return i, nil
}

// Start starts every informer; it does not block.
func (i *Informers) Start(stop <-chan struct{}) {
	i.kubeFactory.Start(stop)
	i.gatewayFactory.Start(stop)
	i.Managed.factory.Start(stop)
}

// HasSynced reports whether every started informer has completed its initial list.
func (i *Informers) HasSynced() bool {
	for _, inf := range i.all {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// Shutdown waits for the informer goroutines to stop after the stop channel closed.
func (i *Informers) Shutdown() {
	i.kubeFactory.Shutdown()
	i.gatewayFactory.Shutdown()
	i.Managed.factory.Shutdown()
}
