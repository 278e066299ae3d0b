package controller

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/translate"
	"github.com/khulnasoft/gateway/informers"
)

// buildSnapshot reads everything a Gateway's translation needs from the listers. It never
// calls the API server; the only I/O is resolving ExternalName backends, when the class allows
// them, so that their addresses are checked and pinned.
func (c *Controller) buildSnapshot(ctx context.Context, class *gatewayv1.GatewayClass, gw *gatewayv1.Gateway, dp *dataPlane, resolveExternalNames bool) (*translate.Snapshot, error) {
	inf := c.informers
	s := &translate.Snapshot{
		Class:          class,
		Gateway:        gw,
		Services:       map[types.NamespacedName]*corev1.Service{},
		EndpointSlices: map[types.NamespacedName][]*discoveryv1.EndpointSlice{},
		Secrets:        map[types.NamespacedName]*corev1.Secret{},
		Namespaces:     map[string]*corev1.Namespace{},
		ExternalNames:  map[string]translate.ResolvedName{},
		ConfigMaps:     map[types.NamespacedName]*corev1.ConfigMap{},
	}
	for _, ep := range dp.endpoints {
		s.ProxyAddresses = append(s.ProxyAddresses, ep.Address)
	}
	var err error
	key := types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}
	if s.ListenerSets, err = inf.ListenerSetsForGateway(key); err != nil {
		return nil, err
	}
	if s.HTTPRoutes, err = inf.HTTPRoutesForGateway(key); err != nil {
		return nil, err
	}
	if s.GRPCRoutes, err = inf.GRPCRoutesForGateway(key); err != nil {
		return nil, err
	}
	if s.TLSRoutes, err = inf.TLSRoutesForGateway(key); err != nil {
		return nil, err
	}
	if s.TCPRoutes, err = inf.TCPRoutesForGateway(key); err != nil {
		return nil, err
	}
	if s.UDPRoutes, err = inf.UDPRoutesForGateway(key); err != nil {
		return nil, err
	}
	// Every route kind's backends, in kind then route order.
	routes := s.Routes()

	// Namespaces of everything referenced, for ReferenceGrants.
	grantNamespaces := map[string]bool{}
	certificates := informers.GatewaySecrets(gw)
	for _, ls := range s.ListenerSets {
		certificates = append(certificates, informers.ListenerSetSecrets(ls)...)
	}
	for _, nn := range certificates {
		grantNamespaces[nn.Namespace] = true
		if _, seen := s.Secrets[nn]; seen {
			continue
		}
		sec, err := inf.Secrets.Secrets(nn.Namespace).Get(nn.Name)
		if apierrors.IsNotFound(err) {
			continue // reported as InvalidCertificateRef
		}
		if err != nil {
			return nil, err
		}
		s.Secrets[nn] = sec
	}
	for _, nn := range informers.GatewayCAConfigMaps(gw) {
		grantNamespaces[nn.Namespace] = true
		if _, seen := s.ConfigMaps[nn]; seen {
			continue
		}
		cm, err := inf.ConfigMaps.ConfigMaps(nn.Namespace).Get(nn.Name)
		if apierrors.IsNotFound(err) {
			continue // reported as InvalidCACertificateRef
		}
		if err != nil {
			return nil, err
		}
		s.ConfigMaps[nn] = cm
	}
	for _, r := range routes {
		for _, nn := range informers.RouteBackendServices(r) {
			grantNamespaces[nn.Namespace] = true
			if _, seen := s.Services[nn]; seen {
				continue
			}
			svc, err := inf.Services.Services(nn.Namespace).Get(nn.Name)
			if apierrors.IsNotFound(err) {
				continue // reported as BackendNotFound
			}
			if err != nil {
				return nil, err
			}
			s.Services[nn] = svc
			if svc.Spec.Type == corev1.ServiceTypeExternalName {
				if name := svc.Spec.ExternalName; resolveExternalNames && name != "" {
					if _, done := s.ExternalNames[name]; !done {
						s.ExternalNames[name] = c.resolver.resolve(ctx, name)
					}
				}
				continue
			}
			sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: nn.Name})
			slices, err := inf.EndpointSlices.EndpointSlices(nn.Namespace).List(sel)
			if err != nil {
				return nil, err
			}
			sort.Slice(slices, func(i, j int) bool { return slices[i].Name < slices[j].Name })
			s.EndpointSlices[nn] = slices
		}
	}
	if err := c.snapshotBackendTLS(s, key, routes); err != nil {
		return nil, err
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

// snapshotBackendTLS adds the BackendTLSPolicies that target the routes' backend Services or
// list the Gateway as an ancestor, and the ConfigMaps they take CA certificates from.
func (c *Controller) snapshotBackendTLS(s *translate.Snapshot, gw types.NamespacedName, routes []metav1.Object) error {
	var services []types.NamespacedName
	for _, r := range routes {
		services = append(services, informers.RouteBackendServices(r)...)
	}
	policies, err := c.informers.BackendTLSPoliciesFor(gw, services)
	if err != nil {
		return err
	}
	s.BackendTLSPolicies = policies
	for _, p := range policies {
		for _, nn := range informers.PolicyCAConfigMaps(p) {
			if _, seen := s.ConfigMaps[nn]; seen {
				continue
			}
			cm, err := c.informers.ConfigMaps.ConfigMaps(nn.Namespace).Get(nn.Name)
			if apierrors.IsNotFound(err) {
				continue // reported as InvalidCACertificateRef
			}
			if err != nil {
				return err
			}
			s.ConfigMaps[nn] = cm
		}
	}
	return nil
}
