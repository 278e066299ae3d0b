package translate

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
)

// ParamAllowExternalNameBackends is the GatewayClass parameter that admits ExternalName
// Services as backends; status messages name it.
const ParamAllowExternalNameBackends = "allowExternalNameBackends"

// ResolvedName is the outcome of resolving one ExternalName.
type ResolvedName struct {
	// Addrs are the addresses the name resolved to, sorted.
	Addrs []netip.Addr
	// Err is why the name could not be resolved; nil on success.
	Err error
}

// resolveBackend turns a backendRef of any route kind into endpoint addresses, or a failure
// status with the ResolvedRefs reason that explains it.
func (t *translator) resolveBackend(from route, ref gatewayv1.BackendRef) (ir.Backend, gatewayv1.RouteConditionReason, string) {
	s := t.s
	b := ir.Backend{Weight: 1}
	if ref.Weight != nil {
		b.Weight = *ref.Weight
	}
	if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Service") {
		b.Failure = 500
		return b, gatewayv1.RouteReasonInvalidKind, fmt.Sprintf("backendRef %s: only core Services are supported", ref.Name)
	}
	m := from.meta()
	ns := m.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	nn := types.NamespacedName{Namespace: ns, Name: string(ref.Name)}
	if !referenceAllowed(s.ReferenceGrants, reference{
		fromGroup: gatewayv1.GroupName, fromKind: string(from.kind()), fromNamespace: m.Namespace,
		toGroup: "", toKind: "Service", toNamespace: ns, toName: nn.Name,
	}) {
		b.Failure = 500
		return b, gatewayv1.RouteReasonRefNotPermitted, fmt.Sprintf("no ReferenceGrant allows %s %s/%s to use Service %s", from.kind(), m.Namespace, m.Name, nn)
	}
	svc, ok := s.Services[nn]
	if !ok {
		b.Failure = 500
		return b, gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("Service %s not found", nn)
	}
	if ref.Port == nil {
		b.Failure = 500
		return b, gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("backendRef to Service %s has no port", nn)
	}
	b.Name = nn.String() + ":" + strconv.Itoa(int(*ref.Port))
	transport := backendTransport(from.kind())
	var port *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == int32(*ref.Port) && servicePortProtocol(&svc.Spec.Ports[i]) == transport {
			port = &svc.Spec.Ports[i]
			break
		}
	}
	if port == nil {
		b.Failure = 500
		return b, gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("Service %s has no %s port %d", nn, transport, *ref.Port)
	}
	policy := t.tls.forBackend(svc, port)
	proto, err := backendProtocol(from.kind(), port)
	if err == nil && policy != nil && proto == ir.H2C {
		err = fmt.Errorf("appProtocol %s is HTTP/2 without TLS, and BackendTLSPolicy %s/%s asks for TLS", appProtocolH2C, policy.p.Namespace, policy.p.Name)
	}
	if errors.Is(err, errBackendTLS) && policy != nil {
		// The port speaks TLS and a policy says how: HTTP/1.1 (or HTTP/2 by ALPN) over it.
		proto, err = ir.HTTP1, nil
	}
	if err != nil {
		b.Failure = 500
		return b, gatewayv1.RouteReasonUnsupportedProtocol, fmt.Sprintf("Service %s port %d: %v", nn, port.Port, err)
	}
	b.Protocol = proto
	if policy != nil {
		if policy.tls == nil {
			// The policy's status says why; its backend is never reached without it.
			b.Failure = 500
			return b, "", ""
		}
		b.TLS = policy.tls
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		// The name is resolved by the controller and the addresses are pinned: left to
		// Kengine, DNS could answer with an address the check below never saw.
		if !t.opts.AllowExternalNameBackends {
			b.Failure = 500
			return b, gatewayv1.RouteReasonRefNotPermitted, fmt.Sprintf("Service %s is of type ExternalName, which this GatewayClass does not allow as a backend (a cluster admin can set %s: \"true\" in the GatewayClass parameters)", nn, ParamAllowExternalNameBackends)
		}
		res, ok := s.ExternalNames[svc.Spec.ExternalName]
		if !ok || res.Err != nil {
			b.Failure = 500
			why := "not resolved"
			if ok {
				why = res.Err.Error()
			}
			return b, gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("Service %s: ExternalName %q: %s", nn, svc.Spec.ExternalName, why)
		}
		if err := t.policy.checkAll(res.Addrs); err != nil {
			b.Failure = 500
			return b, gatewayv1.RouteReasonRefNotPermitted, fmt.Sprintf("Service %s: ExternalName %q: %v, which a route may not send traffic to", nn, svc.Spec.ExternalName, err)
		}
		for _, a := range res.Addrs {
			b.Endpoints = append(b.Endpoints, netip.AddrPortFrom(a, uint16(port.Port)).String())
		}
		return b, "", ""
	}
	eps, err := t.endpoints(nn, port.Name, transport)
	if err != nil {
		b.Failure = 500
		return b, gatewayv1.RouteReasonRefNotPermitted, fmt.Sprintf("Service %s: endpoint %v, which a route may not send traffic to", nn, err)
	}
	b.Endpoints = eps
	if len(b.Endpoints) == 0 {
		b.Failure = 503
	}
	return b, "", ""
}

// endpointsKey names the endpoints of one Service port over one transport.
type endpointsKey struct {
	service   types.NamespacedName
	portName  string
	transport corev1.Protocol
}

// endpointsResult is endpointAddresses checked against the address policy.
type endpointsResult struct {
	eps []string
	err error
}

// endpoints returns the checked endpoint addresses of a Service port, computed once per
// translation: many routes share a Service. The list is shared by every backend that uses it
// and must not be changed.
func (t *translator) endpoints(nn types.NamespacedName, portName string, transport corev1.Protocol) ([]string, error) {
	key := endpointsKey{service: nn, portName: portName, transport: transport}
	if r, ok := t.endpointCache[key]; ok {
		return r.eps, r.err
	}
	eps, addrs := endpointAddresses(t.s.EndpointSlices[nn], portName, transport)
	r := endpointsResult{eps: eps, err: t.policy.checkAll(addrs)}
	if t.endpointCache == nil {
		t.endpointCache = map[endpointsKey]endpointsResult{}
	}
	t.endpointCache[key] = r
	return r.eps, r.err
}

// backendTransport is the transport a route kind reaches its backends over: UDP for
// UDPRoute, TCP for every other kind.
func backendTransport(kind gatewayv1.Kind) corev1.Protocol {
	if kind == KindUDPRoute {
		return corev1.ProtocolUDP
	}
	return corev1.ProtocolTCP
}

// servicePortProtocol is a Service port's protocol; TCP when unset.
func servicePortProtocol(p *corev1.ServicePort) corev1.Protocol {
	if p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return p.Protocol
}

// endpointAddresses returns the sorted "ip:port" of the ready endpoints serving the Service
// port named portName over transport, and their IP addresses for the address policy (an
// address that does not parse is returned as the zero Addr, which the policy refuses).
// EndpointSlices name their ports after the Service port, which is how the target port is
// found even when the Service's targetPort is a name.
func endpointAddresses(slices []*discoveryv1.EndpointSlice, portName string, transport corev1.Protocol) ([]string, []netip.Addr) {
	seen := map[string]bool{}
	var out []string
	var addrs []netip.Addr
	for _, slice := range slices {
		if slice.AddressType != discoveryv1.AddressTypeIPv4 && slice.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		var target int32
		for _, p := range slice.Ports {
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			if name == portName && proto == transport && p.Port != nil {
				target = *p.Port
				break
			}
		}
		if target == 0 {
			continue
		}
		for _, ep := range slice.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, addr := range ep.Addresses {
				hp := net.JoinHostPort(addr, strconv.Itoa(int(target)))
				if !seen[hp] {
					seen[hp] = true
					out = append(out, hp)
					a, _ := netip.ParseAddr(addr)
					addrs = append(addrs, a)
				}
			}
		}
	}
	sort.Strings(out)
	return out, addrs
}
