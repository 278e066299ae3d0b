package informers

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Enqueuer receives the keys that an event affects. Implementations must not block.
type Enqueuer interface {
	// EnqueueGateway asks for a sync of one Gateway.
	EnqueueGateway(key types.NamespacedName)
	// EnqueueGatewayClass asks for a sync of one GatewayClass.
	EnqueueGatewayClass(name string)
}

// AddEventHandlers registers handlers on every informer that map events to Gateway (and
// GatewayClass) keys. Call before Start.
func (i *Informers) AddEventHandlers(q Enqueuer) error {
	m := &mapper{i: i, q: q}
	v1 := i.gatewayFactory.Gateway().V1()
	regs := []registration{
		{v1.GatewayClasses().Informer(), m.onGatewayClass},
		{v1.Gateways().Informer(), m.onGateway},
		{i.kubeFactory.Core().V1().ConfigMaps().Informer(), m.onConfigMap},
		{v1.HTTPRoutes().Informer(), m.onRoute},
		{i.kubeFactory.Core().V1().Services().Informer(), m.onService},
		{i.kubeFactory.Discovery().V1().EndpointSlices().Informer(), m.onEndpointSlice},
		{i.kubeFactory.Core().V1().Secrets().Informer(), m.onSecret},
		{i.kubeFactory.Core().V1().Namespaces().Informer(), m.onNamespace},
	}
	for _, inf := range i.Managed.all {
		regs = append(regs, registration{inf, m.onManagedObject})
	}
	// Every route kind maps to Gateways the same way, through routeRefsOf.
	if i.Served.Has(KindGRPCRoute) {
		regs = append(regs, registration{v1.GRPCRoutes().Informer(), m.onRoute})
	}
	if i.Served.Has(KindTLSRoute) {
		regs = append(regs, registration{v1.TLSRoutes().Informer(), m.onRoute})
	}
	if i.Served.Has(KindTCPRoute) {
		regs = append(regs, registration{v1.TCPRoutes().Informer(), m.onRoute})
	}
	if i.Served.Has(KindUDPRoute) {
		regs = append(regs, registration{v1.UDPRoutes().Informer(), m.onRoute})
	}
	if i.Served.Has(KindReferenceGrant) {
		regs = append(regs, registration{v1.ReferenceGrants().Informer(), m.onReferenceGrant})
	}
	if i.Served.Has(KindListenerSet) {
		regs = append(regs, registration{v1.ListenerSets().Informer(), m.onListenerSet})
	}
	if i.Served.Has(KindBackendTLSPolicy) {
		regs = append(regs, registration{v1.BackendTLSPolicies().Informer(), m.onBackendTLSPolicy},
			registration{i.kubeFactory.Core().V1().ConfigMaps().Informer(), m.onCAConfigMap})
	}
	for _, r := range regs {
		if _, err := r.inf.AddEventHandler(handlerFor(r.fn)); err != nil {
			return err
		}
	}
	return nil
}

// registration is an informer and the mapper function its events go to.
type registration struct {
	inf cache.SharedIndexInformer
	fn  func(obj any)
}

// handlerFor calls fn for the new and the old state of every change: a route that moves from
// Gateway A to Gateway B must resync both. Resync events, which carry an unchanged object, are
// dropped.
func handlerFor(fn func(obj any)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { fn(obj) },
		UpdateFunc: func(oldObj, newObj any) {
			oldMeta, err1 := meta.Accessor(oldObj)
			newMeta, err2 := meta.Accessor(newObj)
			if err1 == nil && err2 == nil && oldMeta.GetResourceVersion() == newMeta.GetResourceVersion() {
				return
			}
			fn(newObj)
			fn(oldObj)
		},
		DeleteFunc: func(obj any) { fn(unwrapTombstone(obj)) },
	}
}

// unwrapTombstone returns the last known state of a deleted object.
func unwrapTombstone(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

// mapper turns objects into queue keys using the informers' indexers. It never calls the API.
type mapper struct {
	i *Informers
	q Enqueuer
}

func (m *mapper) enqueueKeys(keys []string) {
	for _, k := range keys {
		ns, name, err := cache.SplitMetaNamespaceKey(k)
		if err == nil {
			m.q.EnqueueGateway(types.NamespacedName{Namespace: ns, Name: name})
		}
	}
}

func (m *mapper) onGatewayClass(obj any) {
	gc, ok := obj.(*gatewayv1.GatewayClass)
	if !ok {
		return
	}
	m.q.EnqueueGatewayClass(gc.Name)
	m.enqueueKeys(m.indexed(m.i.gatewayIndexer, IndexGatewayClass, gc.Name))
}

func (m *mapper) onGateway(obj any) {
	gw, ok := obj.(*gatewayv1.Gateway)
	if !ok {
		return
	}
	m.q.EnqueueGateway(types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name})
	// The class's status does not depend on its Gateways, but a class that was waiting for
	// its first Gateway to be seen costs nothing to re-check.
	m.q.EnqueueGatewayClass(string(gw.Spec.GatewayClassName))
}

func (m *mapper) onRoute(obj any) {
	refs, ok := routeRefsOf(obj)
	if !ok {
		return
	}
	for _, gw := range refs.parentGateways() {
		m.q.EnqueueGateway(gw)
	}
	// A route attached to a ListenerSet is served, and given status, by the ListenerSet's
	// Gateway. A ListenerSet not in the cache yet enqueues its Gateway when it arrives.
	if m.i.listenerSetIndexer == nil {
		return
	}
	for _, key := range refs.parentListenerSets() {
		obj, exists, err := m.i.listenerSetIndexer.GetByKey(key.String())
		if err != nil || !exists {
			continue
		}
		m.onListenerSet(obj)
	}
}

// onListenerSet resyncs the Gateway the ListenerSet names as its parent: the Gateway decides
// whether it takes the ListenerSet's listeners, and writes its status.
func (m *mapper) onListenerSet(obj any) {
	ls, ok := obj.(*gatewayv1.ListenerSet)
	if !ok {
		return
	}
	if gw, ok := ListenerSetParent(ls); ok {
		m.q.EnqueueGateway(gw)
	}
}

// onService covers both roles a Service plays: a backend of routes and the front of a
// Gateway's Kengine pods.
func (m *mapper) onService(obj any) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	m.serviceChanged(svc.Namespace + "/" + svc.Name)
	if gw := svc.Labels[GatewayNameLabel]; gw != "" {
		m.q.EnqueueGateway(types.NamespacedName{Namespace: svc.Namespace, Name: gw})
	}
}

func (m *mapper) onEndpointSlice(obj any) {
	slice, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	svcName := slice.Labels[discoveryv1.LabelServiceName]
	if svcName == "" {
		return
	}
	key := slice.Namespace + "/" + svcName
	m.serviceChanged(key)
	// Kengine pods come and go through the slices of the Gateway's labelled Service.
	if svc, exists, err := m.i.serviceIndexer.GetByKey(key); err == nil && exists {
		if s, ok := svc.(*corev1.Service); ok && s.Labels[GatewayNameLabel] != "" {
			m.q.EnqueueGateway(types.NamespacedName{Namespace: s.Namespace, Name: s.Labels[GatewayNameLabel]})
		}
	}
}

// serviceChanged resyncs the Gateways of every route that uses the Service as a backend.
func (m *mapper) serviceChanged(serviceKey string) {
	for _, idx := range m.routeIndexers() {
		for _, obj := range m.indexedObjects(idx, IndexRouteBackendService, serviceKey) {
			m.onRoute(obj)
		}
	}
}

// onSecret resyncs the Gateways whose listeners reference the Secret and, for a Gateway's
// admin Secret, that Gateway: an edit or deletion is reverted now rather than at the next
// resync. The admin Secret's Gateway is looked for only in the Secret's own namespace.
func (m *mapper) onSecret(obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	m.enqueueKeys(m.indexed(m.i.gatewayIndexer, IndexGatewaySecret, s.Namespace+"/"+s.Name))
	if m.i.listenerSetIndexer != nil {
		for _, obj := range m.indexedObjects(m.i.listenerSetIndexer, IndexListenerSetSecret, s.Namespace+"/"+s.Name) {
			m.onListenerSet(obj)
		}
	}
	if gw, ok := adminSecretGateway(s); ok {
		m.q.EnqueueGateway(types.NamespacedName{Namespace: s.Namespace, Name: gw})
	}
}

// onReferenceGrant resyncs every Gateway that a reference from one of the grant's "from"
// namespaces could involve: Gateways in those namespaces and the parents of ListenerSets
// there (certificate references), and the parents of routes in those namespaces (backend
// references).
func (m *mapper) onReferenceGrant(obj any) {
	g, ok := obj.(*gatewayv1.ReferenceGrant)
	if !ok {
		return
	}
	namespaces := sets.New[string]()
	for _, f := range g.Spec.From {
		namespaces.Insert(string(f.Namespace))
	}
	for _, ns := range sets.List(namespaces) {
		for _, obj := range m.indexedObjects(m.i.gatewayIndexer, cache.NamespaceIndex, ns) {
			m.onGateway(obj)
		}
		if m.i.listenerSetIndexer != nil {
			for _, obj := range m.indexedObjects(m.i.listenerSetIndexer, cache.NamespaceIndex, ns) {
				m.onListenerSet(obj)
			}
		}
		for _, idx := range m.routeIndexers() {
			for _, obj := range m.indexedObjects(idx, cache.NamespaceIndex, ns) {
				m.onRoute(obj)
			}
		}
	}
}

// onNamespace resyncs all Gateways: a label change can change which routes a listener's
// namespace selector admits, and which ListenerSets a Gateway's allowedListeners selector
// admits. Namespaces change rarely, so precision is not worth an index.
func (m *mapper) onNamespace(obj any) {
	if _, ok := obj.(*corev1.Namespace); !ok {
		return
	}
	for _, obj := range m.i.gatewayIndexer.List() {
		if gw, ok := obj.(*gatewayv1.Gateway); ok {
			m.q.EnqueueGateway(types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name})
		}
	}
}

func (m *mapper) routeIndexers() []cache.Indexer { return m.i.routeIndexers() }

func (m *mapper) indexed(idx cache.Indexer, name, value string) []string {
	keys, err := idx.IndexKeys(name, value)
	if err != nil {
		// Only a missing index fails, a bug: report it rather than drop the event silently.
		utilruntime.HandleError(fmt.Errorf("reading index %s: %w", name, err))
		return nil
	}
	return keys
}

func (m *mapper) indexedObjects(idx cache.Indexer, name, value string) []any {
	objs, err := idx.ByIndex(name, value)
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("reading index %s: %w", name, err))
		return nil
	}
	return objs
}

// onConfigMap resyncs the Gateways whose class or infrastructure names the ConfigMap as
// parametersRef or whose client validation takes CA certificates from it, and the classes
// that name it.
func (m *mapper) onConfigMap(obj any) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	m.enqueueKeys(m.indexed(m.i.gatewayIndexer, IndexGatewayConfigMap, cm.Namespace+"/"+cm.Name))
	for _, o := range m.i.gatewayIndexer.List() {
		gw, ok := o.(*gatewayv1.Gateway)
		if !ok {
			continue
		}
		if ref := gw.Spec.Infrastructure; ref != nil && ref.ParametersRef != nil && ref.ParametersRef.Kind == "ConfigMap" &&
			gw.Namespace == cm.Namespace && ref.ParametersRef.Name == cm.Name {
			m.q.EnqueueGateway(types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name})
		}
	}
	classes, err := m.i.GatewayClasses.List(labels.Everything())
	if err != nil {
		return
	}
	for _, gc := range classes {
		ref := gc.Spec.ParametersRef
		if ref != nil && ref.Kind == "ConfigMap" && ref.Namespace != nil && string(*ref.Namespace) == cm.Namespace && ref.Name == cm.Name {
			m.onGatewayClass(gc)
		}
	}
}
