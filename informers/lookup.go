package informers

import (
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// HTTPRoutesForGateway returns the HTTPRoutes that name the Gateway, or a ListenerSet whose
// parentRef names it, as a parent in their spec or still carry a status entry for it, sorted
// by namespace/name.
func (i *Informers) HTTPRoutesForGateway(gw types.NamespacedName) ([]*gatewayv1.HTTPRoute, error) {
	return routesForGateway[*gatewayv1.HTTPRoute](i, i.httpRouteIndexer, gw)
}

// GRPCRoutesForGateway returns the GRPCRoutes that name the Gateway as a parent in their spec
// or still carry a status entry for it, sorted by namespace/name; none when the cluster does
// not serve GRPCRoute.
func (i *Informers) GRPCRoutesForGateway(gw types.NamespacedName) ([]*gatewayv1.GRPCRoute, error) {
	return routesForGateway[*gatewayv1.GRPCRoute](i, i.grpcRouteIndexer, gw)
}

// TLSRoutesForGateway returns the TLSRoutes that name the Gateway as a parent, like
// GRPCRoutesForGateway; none when the cluster does not serve TLSRoute.
func (i *Informers) TLSRoutesForGateway(gw types.NamespacedName) ([]*gatewayv1.TLSRoute, error) {
	return routesForGateway[*gatewayv1.TLSRoute](i, i.tlsRouteIndexer, gw)
}

// TCPRoutesForGateway returns the TCPRoutes that name the Gateway as a parent, like
// GRPCRoutesForGateway; none when the cluster does not serve TCPRoute.
func (i *Informers) TCPRoutesForGateway(gw types.NamespacedName) ([]*gatewayv1.TCPRoute, error) {
	return routesForGateway[*gatewayv1.TCPRoute](i, i.tcpRouteIndexer, gw)
}

// UDPRoutesForGateway returns the UDPRoutes that name the Gateway as a parent, like
// GRPCRoutesForGateway; none when the cluster does not serve UDPRoute.
func (i *Informers) UDPRoutesForGateway(gw types.NamespacedName) ([]*gatewayv1.UDPRoute, error) {
	return routesForGateway[*gatewayv1.UDPRoute](i, i.udpRouteIndexer, gw)
}

// AllRoutesForGateway returns the routes of every served kind that name the Gateway (or one
// of its ListenerSets) as a parent in spec or status, kind by kind (HTTP, GRPC, TLS, TCP, UDP), each sorted by
// namespace/name.
func (i *Informers) AllRoutesForGateway(gw types.NamespacedName) ([]metav1.Object, error) {
	var out []metav1.Object
	for _, idx := range i.routeIndexers() {
		routes, err := routesForGateway[metav1.Object](i, idx, gw)
		if err != nil {
			return nil, err
		}
		out = append(out, routes...)
	}
	return out, nil
}

// routeIndexers are the parent indexes of every served route kind.
func (i *Informers) routeIndexers() []cache.Indexer {
	var out []cache.Indexer
	for _, idx := range []cache.Indexer{i.httpRouteIndexer, i.grpcRouteIndexer, i.tlsRouteIndexer, i.tcpRouteIndexer, i.udpRouteIndexer} {
		if idx != nil {
			out = append(out, idx)
		}
	}
	return out
}

// routesForGateway looks a Gateway, and the ListenerSets whose parentRef names it, up in a
// route kind's parent indexes; a nil indexer is a kind the cluster does not serve.
func routesForGateway[T metav1.Object](i *Informers, idx cache.Indexer, gw types.NamespacedName) ([]T, error) {
	if idx == nil {
		return nil, nil
	}
	objs, err := idx.ByIndex(IndexRouteParentGateway, gw.String())
	if err != nil {
		return nil, err
	}
	sets, err := i.listenerSetKeysForGateway(gw)
	if err != nil {
		return nil, err
	}
	for _, key := range sets {
		more, err := idx.ByIndex(IndexRouteParentListenerSet, key)
		if err != nil {
			return nil, err
		}
		objs = append(objs, more...)
	}
	out := make([]T, 0, len(objs))
	seen := make(map[string]bool, len(objs)) // a route may name the Gateway and its ListenerSets
	for _, o := range objs {
		r, ok := o.(T)
		if !ok {
			continue
		}
		if key := r.GetNamespace() + "/" + r.GetName(); !seen[key] {
			seen[key] = true
			out = append(out, r)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].GetNamespace() != out[b].GetNamespace() {
			return out[a].GetNamespace() < out[b].GetNamespace()
		}
		return out[a].GetName() < out[b].GetName()
	})
	return out, nil
}

// ListenerSetsForGateway returns the ListenerSets whose spec.parentRef names the Gateway,
// sorted by namespace/name; none when the cluster does not serve ListenerSet.
func (i *Informers) ListenerSetsForGateway(gw types.NamespacedName) ([]*gatewayv1.ListenerSet, error) {
	if i.listenerSetIndexer == nil {
		return nil, nil
	}
	objs, err := i.listenerSetIndexer.ByIndex(IndexListenerSetGateway, gw.String())
	if err != nil {
		return nil, err
	}
	out := make([]*gatewayv1.ListenerSet, 0, len(objs))
	for _, o := range objs {
		if ls, ok := o.(*gatewayv1.ListenerSet); ok {
			out = append(out, ls)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Namespace != out[b].Namespace {
			return out[a].Namespace < out[b].Namespace
		}
		return out[a].Name < out[b].Name
	})
	return out, nil
}

// listenerSetKeysForGateway returns the namespace/name keys of the ListenerSets whose
// parentRef names the Gateway.
func (i *Informers) listenerSetKeysForGateway(gw types.NamespacedName) ([]string, error) {
	if i.listenerSetIndexer == nil {
		return nil, nil
	}
	return i.listenerSetIndexer.IndexKeys(IndexListenerSetGateway, gw.String())
}

// GatewaysForClass returns the keys of the Gateways of a GatewayClass.
func (i *Informers) GatewaysForClass(class string) ([]string, error) {
	return i.gatewayIndexer.IndexKeys(IndexGatewayClass, class)
}

// KengineServicesForGateway returns the Services labelled with the Gateway's name, sorted.
func (i *Informers) KengineServicesForGateway(gw types.NamespacedName) ([]types.NamespacedName, error) {
	keys, err := i.serviceIndexer.IndexKeys(IndexServiceGateway, gw.String())
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	out := make([]types.NamespacedName, 0, len(keys))
	for _, k := range keys {
		ns, name, err := cache.SplitMetaNamespaceKey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, types.NamespacedName{Namespace: ns, Name: name})
	}
	return out, nil
}
