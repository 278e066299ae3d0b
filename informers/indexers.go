package informers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Index names. Index values are "namespace/name" strings unless stated otherwise.
const (
	// IndexGatewayClass indexes Gateways by spec.gatewayClassName (a bare name).
	IndexGatewayClass = "gatewayClass"
	// IndexGatewaySecret indexes Gateways by the Secrets their listeners reference.
	IndexGatewaySecret = "gatewaySecret"
	// IndexGatewayConfigMap indexes Gateways by the ConfigMaps their client certificate
	// validation takes CA certificates from.
	IndexGatewayConfigMap = "gatewayConfigMap"
	// IndexRouteParentGateway indexes routes by the Gateways named in their parentRefs.
	IndexRouteParentGateway = "routeParentGateway"
	// IndexRouteBackendService indexes routes by the Services named in their backendRefs.
	IndexRouteBackendService = "routeBackendService"
	// IndexRouteParentListenerSet indexes routes by the ListenerSets named in their parentRefs.
	IndexRouteParentListenerSet = "routeParentListenerSet"
	// IndexListenerSetGateway indexes ListenerSets by the Gateway their spec.parentRef names.
	IndexListenerSetGateway = "listenerSetGateway"
	// IndexListenerSetSecret indexes ListenerSets by the Secrets their listeners reference.
	IndexListenerSetSecret = "listenerSetSecret"
	// IndexServiceGateway indexes Services by the Gateway named in their
	// gateway.networking.k8s.io/gateway-name label: the Services that front Kengine pods.
	IndexServiceGateway = "serviceGateway"
)

// GatewayNameLabel is the GEP-1762 label that ties a Kengine Service (and every generated
// object) to its Gateway.
const GatewayNameLabel = "gateway.networking.k8s.io/gateway-name"

var gatewayIndexers = cache.Indexers{
	IndexGatewayClass: func(obj any) ([]string, error) {
		gw, ok := obj.(*gatewayv1.Gateway)
		if !ok {
			return nil, nil
		}
		return []string{string(gw.Spec.GatewayClassName)}, nil
	},
	IndexGatewaySecret: func(obj any) ([]string, error) {
		gw, ok := obj.(*gatewayv1.Gateway)
		if !ok {
			return nil, nil
		}
		return keysOf(GatewaySecrets(gw)), nil
	},
	IndexGatewayConfigMap: func(obj any) ([]string, error) {
		gw, ok := obj.(*gatewayv1.Gateway)
		if !ok {
			return nil, nil
		}
		return keysOf(GatewayCAConfigMaps(gw)), nil
	},
}

var routeIndexers = cache.Indexers{
	IndexRouteParentGateway: func(obj any) ([]string, error) {
		r, ok := routeRefsOf(obj)
		if !ok {
			return nil, nil
		}
		return keysOf(r.parentGateways()), nil
	},
	IndexRouteParentListenerSet: func(obj any) ([]string, error) {
		r, ok := routeRefsOf(obj)
		if !ok {
			return nil, nil
		}
		return keysOf(r.parentListenerSets()), nil
	},
	IndexRouteBackendService: func(obj any) ([]string, error) {
		r, ok := routeRefsOf(obj)
		if !ok {
			return nil, nil
		}
		return keysOf(r.backendServices()), nil
	},
}

var listenerSetIndexers = cache.Indexers{
	IndexListenerSetGateway: func(obj any) ([]string, error) {
		ls, ok := obj.(*gatewayv1.ListenerSet)
		if !ok {
			return nil, nil
		}
		if gw, ok := ListenerSetParent(ls); ok {
			return []string{gw.String()}, nil
		}
		return nil, nil
	},
	IndexListenerSetSecret: func(obj any) ([]string, error) {
		ls, ok := obj.(*gatewayv1.ListenerSet)
		if !ok {
			return nil, nil
		}
		return keysOf(ListenerSetSecrets(ls)), nil
	},
}

var serviceIndexers = cache.Indexers{
	IndexServiceGateway: func(obj any) ([]string, error) {
		svc, ok := obj.(*corev1.Service)
		if !ok {
			return nil, nil
		}
		if gw := svc.Labels[GatewayNameLabel]; gw != "" {
			return []string{svc.Namespace + "/" + gw}, nil
		}
		return nil, nil
	},
}

// GatewaySecrets returns the Secrets a Gateway's listeners reference as certificates, and the
// client certificate it presents to TLS backends.
func GatewaySecrets(gw *gatewayv1.Gateway) []types.NamespacedName {
	var out []types.NamespacedName
	if gw.Spec.TLS != nil && gw.Spec.TLS.Backend != nil {
		if ref := gw.Spec.TLS.Backend.ClientCertificateRef; ref != nil && (ref.Group == nil || *ref.Group == "") && (ref.Kind == nil || *ref.Kind == "Secret") {
			out = append(out, gatewayReference(gw, ref.Namespace, ref.Name))
		}
	}
	for _, l := range gw.Spec.Listeners {
		out = append(out, certificateSecrets(gw.Namespace, l.TLS)...)
	}
	return out
}

// gatewayReference is the namespace/name of an object a Gateway references; an empty
// namespace is the Gateway's own.
func gatewayReference(gw *gatewayv1.Gateway, namespace *gatewayv1.Namespace, name gatewayv1.ObjectName) types.NamespacedName {
	return objectReference(gw.Namespace, namespace, name)
}

// objectReference is the namespace/name of an object referenced from namespace home; an
// empty namespace is home.
func objectReference(home string, namespace *gatewayv1.Namespace, name gatewayv1.ObjectName) types.NamespacedName {
	nn := types.NamespacedName{Namespace: home, Name: string(name)}
	if namespace != nil && *namespace != "" {
		nn.Namespace = string(*namespace)
	}
	return nn
}

// GatewayCAConfigMaps returns the ConfigMaps a Gateway's client certificate validation
// (spec.tls.frontend, default and per port) references as CA certificates.
func GatewayCAConfigMaps(gw *gatewayv1.Gateway) []types.NamespacedName {
	if gw.Spec.TLS == nil || gw.Spec.TLS.Frontend == nil {
		return nil
	}
	f := gw.Spec.TLS.Frontend
	validations := []*gatewayv1.FrontendTLSValidation{f.Default.Validation}
	for _, pp := range f.PerPort {
		validations = append(validations, pp.TLS.Validation)
	}
	var out []types.NamespacedName
	for _, v := range validations {
		if v == nil {
			continue
		}
		for _, ref := range v.CACertificateRefs {
			if ref.Group != "" || ref.Kind != "ConfigMap" {
				continue
			}
			out = append(out, gatewayReference(gw, ref.Namespace, ref.Name))
		}
	}
	return out
}

// ListenerSetSecrets returns the Secrets a ListenerSet's listeners reference as certificates.
func ListenerSetSecrets(ls *gatewayv1.ListenerSet) []types.NamespacedName {
	var out []types.NamespacedName
	for _, l := range ls.Spec.Listeners {
		out = append(out, certificateSecrets(ls.Namespace, l.TLS)...)
	}
	return out
}

// certificateSecrets returns the Secrets of a listener's certificateRefs; a ref without a
// namespace is in home, the namespace of the object declaring the listener.
func certificateSecrets(home string, tls *gatewayv1.ListenerTLSConfig) []types.NamespacedName {
	if tls == nil {
		return nil
	}
	var out []types.NamespacedName
	for _, ref := range tls.CertificateRefs {
		if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Secret") {
			continue
		}
		out = append(out, objectReference(home, ref.Namespace, ref.Name))
	}
	return out
}

// ListenerSetParent returns the Gateway a ListenerSet's spec.parentRef names; false when it
// names an object of another kind.
func ListenerSetParent(ls *gatewayv1.ListenerSet) (types.NamespacedName, bool) {
	p := ls.Spec.ParentRef
	if (p.Group != nil && *p.Group != gatewayv1.GroupName) || (p.Kind != nil && *p.Kind != KindGateway) {
		return types.NamespacedName{}, false
	}
	ns := ls.Namespace
	if p.Namespace != nil && *p.Namespace != "" {
		ns = string(*p.Namespace)
	}
	return types.NamespacedName{Namespace: ns, Name: string(p.Name)}, true
}

// ParentListenerSet returns the ListenerSet a parentRef of a route in routeNamespace names;
// false when it names an object of another kind. The kind must be given: it defaults to
// Gateway.
func ParentListenerSet(p gatewayv1.ParentReference, routeNamespace string) (types.NamespacedName, bool) {
	if (p.Group != nil && *p.Group != gatewayv1.GroupName) || p.Kind == nil || *p.Kind != KindListenerSet {
		return types.NamespacedName{}, false
	}
	ns := routeNamespace
	if p.Namespace != nil && *p.Namespace != "" {
		ns = string(*p.Namespace)
	}
	return types.NamespacedName{Namespace: ns, Name: string(p.Name)}, true
}

// routeRefs is what the indexers and handlers need from any route kind.
type routeRefs struct {
	namespace string
	parents   []gatewayv1.ParentReference
	backends  []gatewayv1.BackendRef
}

func routeRefsOf(obj any) (routeRefs, bool) {
	switch r := obj.(type) {
	case *gatewayv1.HTTPRoute:
		refs := routeRefs{namespace: r.Namespace, parents: withStatusParents(r.Spec.ParentRefs, r.Status.Parents)}
		for _, rule := range r.Spec.Rules {
			for _, b := range rule.BackendRefs {
				refs.backends = append(refs.backends, b.BackendRef)
			}
			for _, f := range rule.Filters {
				if f.RequestMirror != nil {
					refs.backends = append(refs.backends, gatewayv1.BackendRef{BackendObjectReference: f.RequestMirror.BackendRef})
				}
			}
		}
		return refs, true
	case *gatewayv1.GRPCRoute:
		refs := routeRefs{namespace: r.Namespace, parents: withStatusParents(r.Spec.ParentRefs, r.Status.Parents)}
		for _, rule := range r.Spec.Rules {
			for _, b := range rule.BackendRefs {
				refs.backends = append(refs.backends, b.BackendRef)
			}
		}
		return refs, true
	case *gatewayv1.TLSRoute:
		return streamRouteRefs(r.Namespace, r.Spec.ParentRefs, r.Status.Parents, r.Spec.Rules, func(rule gatewayv1.TLSRouteRule) []gatewayv1.BackendRef { return rule.BackendRefs }), true
	case *gatewayv1.TCPRoute:
		return streamRouteRefs(r.Namespace, r.Spec.ParentRefs, r.Status.Parents, r.Spec.Rules, func(rule gatewayv1.TCPRouteRule) []gatewayv1.BackendRef { return rule.BackendRefs }), true
	case *gatewayv1.UDPRoute:
		return streamRouteRefs(r.Namespace, r.Spec.ParentRefs, r.Status.Parents, r.Spec.Rules, func(rule gatewayv1.UDPRouteRule) []gatewayv1.BackendRef { return rule.BackendRefs }), true
	}
	return routeRefs{}, false
}

// streamRouteRefs is routeRefsOf for the route kinds whose rules hold plain backendRefs
// (TLSRoute, TCPRoute, UDPRoute).
func streamRouteRefs[R any](namespace string, parents []gatewayv1.ParentReference, status []gatewayv1.RouteParentStatus, rules []R, backends func(R) []gatewayv1.BackendRef) routeRefs {
	refs := routeRefs{namespace: namespace, parents: withStatusParents(parents, status)}
	for _, rule := range rules {
		refs.backends = append(refs.backends, backends(rule)...)
	}
	return refs
}

// withStatusParents adds the parents a route's status still lists: a Gateway the route left
// must sync once more to remove its stale status entry.
func withStatusParents(spec []gatewayv1.ParentReference, status []gatewayv1.RouteParentStatus) []gatewayv1.ParentReference {
	if len(status) == 0 {
		return spec
	}
	out := make([]gatewayv1.ParentReference, 0, len(spec)+len(status))
	out = append(out, spec...)
	for _, p := range status {
		out = append(out, p.ParentRef)
	}
	return out
}

// parentGateways returns the Gateways the route names as parents.
func (r routeRefs) parentGateways() []types.NamespacedName {
	var out []types.NamespacedName
	for _, p := range r.parents {
		if p.Group != nil && *p.Group != gatewayv1.GroupName {
			continue
		}
		if p.Kind != nil && *p.Kind != KindGateway {
			continue
		}
		ns := r.namespace
		if p.Namespace != nil && *p.Namespace != "" {
			ns = string(*p.Namespace)
		}
		out = append(out, types.NamespacedName{Namespace: ns, Name: string(p.Name)})
	}
	return out
}

// parentListenerSets returns the ListenerSets the route names as parents.
func (r routeRefs) parentListenerSets() []types.NamespacedName {
	var out []types.NamespacedName
	for _, p := range r.parents {
		if ls, ok := ParentListenerSet(p, r.namespace); ok {
			out = append(out, ls)
		}
	}
	return out
}

// backendServices returns the core Services the route sends traffic to.
func (r routeRefs) backendServices() []types.NamespacedName {
	var out []types.NamespacedName
	for _, b := range r.backends {
		if b.Group != nil && *b.Group != "" {
			continue
		}
		if b.Kind != nil && *b.Kind != "Service" {
			continue
		}
		ns := r.namespace
		if b.Namespace != nil && *b.Namespace != "" {
			ns = string(*b.Namespace)
		}
		out = append(out, types.NamespacedName{Namespace: ns, Name: string(b.Name)})
	}
	return out
}

func keysOf(nns []types.NamespacedName) []string {
	seen := make(map[string]bool, len(nns))
	out := make([]string, 0, len(nns))
	for _, nn := range nns {
		k := nn.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// RouteBackendServices returns the Services a route of any kind the controller reads
// (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute) sends traffic to; none for another
// object.
func RouteBackendServices(route any) []types.NamespacedName {
	refs, ok := routeRefsOf(route)
	if !ok {
		return nil
	}
	return refs.backendServices()
}
