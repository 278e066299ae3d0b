package informers

import (
	"sort"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// HTTPRoutesForGateway returns the HTTPRoutes that name the Gateway as a parent in their spec
// or still carry a status entry for it, sorted by namespace/name.
func (i *Informers) HTTPRoutesForGateway(gw types.NamespacedName) ([]*gatewayv1.HTTPRoute, error) {
	objs, err := i.httpRouteIndexer.ByIndex(IndexRouteParentGateway, gw.String())
	if err != nil {
		return nil, err
	}
	out := make([]*gatewayv1.HTTPRoute, 0, len(objs))
	for _, o := range objs {
		if r, ok := o.(*gatewayv1.HTTPRoute); ok {
			out = append(out, r)
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
