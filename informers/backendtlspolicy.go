package informers

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Index names of BackendTLSPolicies; values are "namespace/name".
const (
	// IndexPolicyTargetService indexes BackendTLSPolicies by the Services they target.
	IndexPolicyTargetService = "policyTargetService"
	// IndexPolicyCAConfigMap indexes BackendTLSPolicies by the ConfigMaps they take CA
	// certificates from.
	IndexPolicyCAConfigMap = "policyCAConfigMap"
	// IndexPolicyAncestorGateway indexes BackendTLSPolicies by the Gateways their status lists
	// as ancestors: a Gateway that stopped using a policy must remove its entry.
	IndexPolicyAncestorGateway = "policyAncestorGateway"
)

var backendTLSPolicyIndexers = cache.Indexers{
	IndexPolicyTargetService: func(obj any) ([]string, error) {
		p, ok := obj.(*gatewayv1.BackendTLSPolicy)
		if !ok {
			return nil, nil
		}
		return keysOf(PolicyTargetServices(p)), nil
	},
	IndexPolicyCAConfigMap: func(obj any) ([]string, error) {
		p, ok := obj.(*gatewayv1.BackendTLSPolicy)
		if !ok {
			return nil, nil
		}
		return keysOf(PolicyCAConfigMaps(p)), nil
	},
	IndexPolicyAncestorGateway: func(obj any) ([]string, error) {
		p, ok := obj.(*gatewayv1.BackendTLSPolicy)
		if !ok {
			return nil, nil
		}
		return keysOf(policyAncestorGateways(p)), nil
	},
}

// PolicyTargetServices returns the core Services a BackendTLSPolicy targets (always in its
// own namespace).
func PolicyTargetServices(p *gatewayv1.BackendTLSPolicy) []types.NamespacedName {
	var out []types.NamespacedName
	for _, ref := range p.Spec.TargetRefs {
		if ref.Group == "" && ref.Kind == "Service" {
			out = append(out, types.NamespacedName{Namespace: p.Namespace, Name: string(ref.Name)})
		}
	}
	return out
}

// PolicyCAConfigMaps returns the ConfigMaps a BackendTLSPolicy references as CA certificates
// (always in its own namespace).
func PolicyCAConfigMaps(p *gatewayv1.BackendTLSPolicy) []types.NamespacedName {
	var out []types.NamespacedName
	for _, ref := range p.Spec.Validation.CACertificateRefs {
		if ref.Group == "" && ref.Kind == "ConfigMap" {
			out = append(out, types.NamespacedName{Namespace: p.Namespace, Name: string(ref.Name)})
		}
	}
	return out
}

// policyAncestorGateways returns the Gateways a BackendTLSPolicy's status lists.
func policyAncestorGateways(p *gatewayv1.BackendTLSPolicy) []types.NamespacedName {
	refs := routeRefs{namespace: p.Namespace}
	for _, a := range p.Status.Ancestors {
		refs.parents = append(refs.parents, a.AncestorRef)
	}
	return refs.parentGateways()
}

// onBackendTLSPolicy resyncs the Gateways whose routes use a Service the policy targets, and
// those its status lists (which may have to drop their entry).
func (m *mapper) onBackendTLSPolicy(obj any) {
	p, ok := obj.(*gatewayv1.BackendTLSPolicy)
	if !ok {
		return
	}
	for _, svc := range PolicyTargetServices(p) {
		m.serviceChanged(svc.String())
	}
	for _, gw := range policyAncestorGateways(p) {
		m.q.EnqueueGateway(gw)
	}
}

// onCAConfigMap resyncs the Gateways of every policy that takes CA certificates from the
// ConfigMap.
func (m *mapper) onCAConfigMap(obj any) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	for _, p := range m.indexedObjects(m.i.backendTLSPolicyIndexer, IndexPolicyCAConfigMap, cm.Namespace+"/"+cm.Name) {
		m.onBackendTLSPolicy(p)
	}
}

// BackendTLSPoliciesFor returns the BackendTLSPolicies that target one of the Services or
// list the Gateway as an ancestor, without duplicates and sorted by namespace/name; none
// when the cluster does not serve BackendTLSPolicy.
func (i *Informers) BackendTLSPoliciesFor(gw types.NamespacedName, services []types.NamespacedName) ([]*gatewayv1.BackendTLSPolicy, error) {
	idx := i.backendTLSPolicyIndexer
	if idx == nil {
		return nil, nil
	}
	seen := map[*gatewayv1.BackendTLSPolicy]bool{}
	var out []*gatewayv1.BackendTLSPolicy
	add := func(index, value string) error {
		objs, err := idx.ByIndex(index, value)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if p, ok := o.(*gatewayv1.BackendTLSPolicy); ok && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
		return nil
	}
	for _, svc := range services {
		if err := add(IndexPolicyTargetService, svc.String()); err != nil {
			return nil, err
		}
	}
	if err := add(IndexPolicyAncestorGateway, gw.String()); err != nil {
		return nil, err
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Namespace != out[b].Namespace {
			return out[a].Namespace < out[b].Namespace
		}
		return out[a].Name < out[b].Name
	})
	return out, nil
}
