package translate

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/addresses"
	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/controller/status"
)

// Snapshot is the part of the cluster one Gateway's translation depends on, read from the
// informer caches. Its objects are shared with the cache and must not be mutated.
type Snapshot struct {
	// Class is the Gateway's GatewayClass.
	Class *gatewayv1.GatewayClass
	// Gateway is the Gateway being translated.
	Gateway *gatewayv1.Gateway
	// ListenerSets name the Gateway in their spec.parentRef, allowed by it or not.
	ListenerSets []*gatewayv1.ListenerSet
	// HTTPRoutes name the Gateway, or one of its ListenerSets, as a parent in spec or in
	// status (to clean stale entries).
	HTTPRoutes []*gatewayv1.HTTPRoute
	// GRPCRoutes name the Gateway as a parent in spec or in status, like HTTPRoutes.
	GRPCRoutes []*gatewayv1.GRPCRoute
	// TLSRoutes name the Gateway as a parent in spec or in status, like HTTPRoutes.
	TLSRoutes []*gatewayv1.TLSRoute
	// TCPRoutes name the Gateway as a parent in spec or in status, like HTTPRoutes.
	TCPRoutes []*gatewayv1.TCPRoute
	// UDPRoutes name the Gateway as a parent in spec or in status, like HTTPRoutes.
	UDPRoutes []*gatewayv1.UDPRoute
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
	// ProxyAddresses are the IP addresses of the Gateway's own Kengine pods, which no route
	// may use as a backend.
	ProxyAddresses []string
	// BackendTLSPolicies target the route backends' Services or still list the Gateway as
	// an ancestor (to clean stale entries).
	BackendTLSPolicies []*gatewayv1.BackendTLSPolicy
	// ConfigMaps by namespace/name: the CA certificates the BackendTLSPolicies reference.
	ConfigMaps map[types.NamespacedName]*corev1.ConfigMap
	// ExternalNames holds, by name, what the ExternalName backends of the routes resolved to.
	// Names are resolved only when the GatewayClass allows ExternalName backends.
	ExternalNames map[string]ResolvedName
	// Excluded are objects left out of the config, with the error Kengine gave when a config
	// holding them was refused.
	Excluded map[ObjectRef]string
	// Layer4Unavailable, when set, says why the Gateway's Kengine pods cannot run the layer4
	// app: TLS, TCP and UDP listeners are then left out of the model (their routes still
	// attach) and reported unprogrammable with this message.
	Layer4Unavailable string
}

// Routes returns the routes of every kind, kind by kind (HTTP, GRPC, TLS, TCP, UDP), each
// in snapshot order.
func (s *Snapshot) Routes() []metav1.Object {
	out := make([]metav1.Object, 0, len(s.HTTPRoutes)+len(s.GRPCRoutes)+len(s.TLSRoutes)+len(s.TCPRoutes)+len(s.UDPRoutes))
	for _, r := range s.HTTPRoutes {
		out = append(out, r)
	}
	for _, r := range s.GRPCRoutes {
		out = append(out, r)
	}
	for _, r := range s.TLSRoutes {
		out = append(out, r)
	}
	for _, r := range s.TCPRoutes {
		out = append(out, r)
	}
	for _, r := range s.UDPRoutes {
		out = append(out, r)
	}
	return out
}

// RouteKind is the kind of a route object of Snapshot.Routes; "" for another object.
func RouteKind(r metav1.Object) gatewayv1.Kind {
	if rt := routeOf(r); rt != nil {
		return rt.kind()
	}
	return ""
}

// routeOf wraps a route object in the route interface; nil for an object of no route kind.
func routeOf(r metav1.Object) route {
	switch r := r.(type) {
	case *gatewayv1.HTTPRoute:
		return httpRoute{r}
	case *gatewayv1.GRPCRoute:
		return grpcRoute{r}
	case *gatewayv1.TLSRoute:
		return tlsRoute{r}
	case *gatewayv1.TCPRoute:
		return tcpRoute{r}
	case *gatewayv1.UDPRoute:
		return udpRoute{r}
	}
	return nil
}

// Options are the controller settings translate depends on.
type Options struct {
	// ControllerName is written into route parent status.
	ControllerName string
	// ReservedPorts are ports the proxy uses itself (admin, readiness, failure answers); a
	// listener on one of them is not accepted (PortUnavailable).
	ReservedPorts []int
	// AllowExternalNameBackends admits Services of type ExternalName as backends; the
	// GatewayClass parameters decide it.
	AllowExternalNameBackends bool
	// AllowLoopbackBackends admits loopback backend addresses. Only tests whose backends run
	// on the host's loopback set it; the controller never does.
	AllowLoopbackBackends bool
}

// Result is what translate derives from a Snapshot: the model to serve and the status of every
// object it looked at.
type Result struct {
	// Gateway is what the Kengine pods must serve.
	Gateway *ir.Gateway
	// Status is the status of the Gateway, its listeners and its routes, without Programmed.
	Status status.Result
}

// ObjectRef names a part of a Gateway's config that can be left out on its own: a route, or
// one of the Gateway's listeners (Kind "Listener", no namespace).
type ObjectRef struct {
	// Kind is the route kind, or "Listener".
	Kind string
	// Namespace is the route's namespace; empty for listeners.
	Namespace string
	// Name is the route's name or the listener's sectionName.
	Name string
}

// String names the object for messages and events.
func (o ObjectRef) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// RouteRef names a route.
func RouteRef(kind, namespace, name string) ObjectRef {
	return ObjectRef{Kind: kind, Namespace: namespace, Name: name}
}

// ListenerRef names a listener of the translated Gateway's own.
func ListenerRef(name gatewayv1.SectionName) ObjectRef {
	return ObjectRef{Kind: "Listener", Name: string(name)}
}

// translator is the state of one Translate call.
type translator struct {
	s      *Snapshot
	opts   Options
	policy backendAddressPolicy
	out    *ir.Gateway
	res    *status.Result
	tls    *backendTLSPolicies
	// sets are the ListenerSets whose parentRef names the Gateway, by namespace/name.
	sets map[types.NamespacedName]*listenerSet
	// endpointCache holds the endpoints of the Service ports resolved so far (see endpoints).
	endpointCache map[endpointsKey]endpointsResult
}

// Translate turns a snapshot into a model and status. It never fails: whatever is invalid is
// reported in status and left out of the model, so one bad object cannot take down the rest.
func Translate(s *Snapshot, opts Options) *Result {
	gw := s.Gateway
	result := &Result{Gateway: &ir.Gateway{Name: gw.Namespace + "/" + gw.Name}}
	t := &translator{
		s:      s,
		opts:   opts,
		policy: newBackendAddressPolicy(s.ProxyAddresses, opts.AllowLoopbackBackends),
		out:    result.Gateway,
		res:    &result.Status,
		tls:    newBackendTLSPolicies(s),
	}
	listeners := t.listeners()
	t.gatewayAccepted(listeners)
	listeners = append(listeners, t.listenerSetListeners(listeners)...)
	routes := make([]route, 0, len(s.HTTPRoutes)+len(s.GRPCRoutes)+len(s.TLSRoutes)+len(s.TCPRoutes)+len(s.UDPRoutes))
	for _, r := range s.Routes() {
		routes = append(routes, routeOf(r))
	}
	t.attachRoutes(routes, listeners)
	t.buildServers(listeners)
	t.buildStreamServers(listeners)
	t.res.Policies = t.tls.policyResults(gw, opts.ControllerName)
	t.res.Gateway.Served = make(map[gatewayv1.SectionName]bool, len(listeners))
	for _, l := range listeners {
		served := t.res.Gateway.Served
		if l.set != nil {
			if l.set.res.Served == nil {
				l.set.res.Served = map[gatewayv1.SectionName]bool{}
			}
			served = l.set.res.Served
		}
		served[l.spec.Name] = l.served
	}
	return result
}

// gatewayAccepted decides the Gateway's Accepted condition from its listeners.
func (t *translator) gatewayAccepted(listeners []*listener) {
	gw := t.s.Gateway
	gen := gw.Generation
	valid := 0
	for _, l := range listeners {
		if l.attachable {
			valid++
		}
	}
	var accepted = status.Condition(gatewayv1.GatewayConditionAccepted, true, gatewayv1.GatewayReasonAccepted, "Gateway accepted", gen)
	// IP addresses are asked of the Kengine Service's load balancer; whether it gave them
	// decides Programmed (status). Any other address type cannot be asked for at all.
	addrReason, addrMsg, addrRefused := addresses.FromSpec(gw.Spec.Addresses).NotAccepted()
	switch {
	case addrRefused:
		accepted = status.Condition(gatewayv1.GatewayConditionAccepted, false, addrReason, addrMsg, gen)
		for _, l := range listeners {
			l.attachable, l.served = false, false
		}
	case valid == 0 && len(listeners) > 0:
		accepted = status.Condition(gatewayv1.GatewayConditionAccepted, false,
			gatewayv1.GatewayReasonListenersNotValid, "no listener is valid", gen)
	case valid < len(listeners):
		accepted = status.Condition(gatewayv1.GatewayConditionAccepted, true,
			gatewayv1.GatewayReasonListenersNotValid, "some listeners are not valid; see their conditions", gen)
	}
	t.res.Gateway.Conditions = append(t.res.Gateway.Conditions, accepted)
	if c, ok := t.backendClientCertificate(); ok {
		t.res.Gateway.Conditions = append(t.res.Gateway.Conditions, c)
	}
	if c, ok := insecureFrontendCondition(gw); ok {
		t.res.Gateway.Conditions = append(t.res.Gateway.Conditions, c)
	}
}

// hostnameOf is a listener or route hostname in lower case; "" when unset.
func hostnameOf(h *gatewayv1.Hostname) string {
	if h == nil {
		return ""
	}
	return strings.ToLower(string(*h))
}
