package controller

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/informers"
)

// Snapshot is the part of the cluster one Gateway's sync depends on, read from the informer
// caches. Its objects are shared with the cache and must not be mutated.
type Snapshot struct {
	// Class is the Gateway's GatewayClass.
	Class *gatewayv1.GatewayClass
	// Gateway is the Gateway being synced.
	Gateway *gatewayv1.Gateway
	// HTTPRoutes names the Gateway as a parent in spec or in status (to clean stale entries).
	HTTPRoutes []*gatewayv1.HTTPRoute
	// Services by namespace/name: route backends.
	Services map[types.NamespacedName]*corev1.Service
	// EndpointSlices by the namespace/name of their Service.
	EndpointSlices map[types.NamespacedName][]*discoveryv1.EndpointSlice
	// Secrets by namespace/name: listener certificates.
	Secrets map[types.NamespacedName]*corev1.Secret
	// Namespaces by name, for allowedRoutes namespace selectors.
	Namespaces map[string]*corev1.Namespace
	// ReferenceGrants in every namespace a reference points into.
	ReferenceGrants []*gatewayv1.ReferenceGrant
}

// buildSnapshot reads everything a Gateway's translation needs from the listers. It never
// calls the API server.
func (c *Controller) buildSnapshot(class *gatewayv1.GatewayClass, gw *gatewayv1.Gateway) (*Snapshot, error) {
	inf := c.informers
	s := &Snapshot{
		Class:          class,
		Gateway:        gw,
		Services:       map[types.NamespacedName]*corev1.Service{},
		EndpointSlices: map[types.NamespacedName][]*discoveryv1.EndpointSlice{},
		Secrets:        map[types.NamespacedName]*corev1.Secret{},
		Namespaces:     map[string]*corev1.Namespace{},
	}
	routes, err := inf.HTTPRoutesForGateway(types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name})
	if err != nil {
		return nil, err
	}
	s.HTTPRoutes = routes

	// Namespaces of everything referenced, for ReferenceGrants.
	grantNamespaces := map[string]bool{}
	for _, nn := range informers.GatewaySecrets(gw) {
		grantNamespaces[nn.Namespace] = true
		if sec, err := inf.Secrets.Secrets(nn.Namespace).Get(nn.Name); err == nil {
			s.Secrets[nn] = sec
		}
	}
	for _, r := range routes {
		for _, nn := range informers.HTTPRouteBackendServices(r) {
			grantNamespaces[nn.Namespace] = true
			if _, seen := s.Services[nn]; seen {
				continue
			}
			svc, err := inf.Services.Services(nn.Namespace).Get(nn.Name)
			if err != nil {
				continue
			}
			s.Services[nn] = svc
			sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: nn.Name})
			slices, err := inf.EndpointSlices.EndpointSlices(nn.Namespace).List(sel)
			if err != nil {
				return nil, err
			}
			sort.Slice(slices, func(i, j int) bool { return slices[i].Name < slices[j].Name })
			s.EndpointSlices[nn] = slices
		}
	}
	nss, err := inf.Namespaces.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	for _, ns := range nss {
		s.Namespaces[ns.Name] = ns
	}
	if inf.ReferenceGrants != nil {
		for ns := range grantNamespaces {
			grants, err := inf.ReferenceGrants.ReferenceGrants(ns).List(labels.Everything())
			if err != nil {
				return nil, err
			}
			s.ReferenceGrants = append(s.ReferenceGrants, grants...)
		}
		sort.Slice(s.ReferenceGrants, func(i, j int) bool {
			a, b := s.ReferenceGrants[i], s.ReferenceGrants[j]
			if a.Namespace != b.Namespace {
				return a.Namespace < b.Namespace
			}
			return a.Name < b.Name
		})
	}
	return s, nil
}
