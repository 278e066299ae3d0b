package translate

import (
	"net/netip"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

// sliceOption changes an EndpointSlice built by endpointSlice.
type sliceOption func(*discoveryv1.EndpointSlice)

// endpointSlice is an IPv4 slice whose TCP port "http" is 8080, holding the given endpoints.
func endpointSlice(opts ...sliceOption) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{slicePort("http", corev1.ProtocolTCP, 8080)},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// sliceAddressType sets the slice's address type.
func sliceAddressType(t discoveryv1.AddressType) sliceOption {
	return func(s *discoveryv1.EndpointSlice) { s.AddressType = t }
}

// slicePorts replaces the slice's ports.
func slicePorts(p ...discoveryv1.EndpointPort) sliceOption {
	return func(s *discoveryv1.EndpointSlice) { s.Ports = p }
}

// sliceEndpoint adds an endpoint with the given readiness (nil: readyUnset) and addresses.
func sliceEndpoint(ready *bool, addrs ...string) sliceOption {
	return func(s *discoveryv1.EndpointSlice) {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ready}})
	}
}

// slicePort is an EndpointSlice port; an empty name is left readyUnset, as for a Service's only,
// unnamed port.
func slicePort(name string, proto corev1.Protocol, port int32) discoveryv1.EndpointPort {
	p := discoveryv1.EndpointPort{Protocol: ptr.To(proto), Port: ptr.To(port)}
	if name != "" {
		p.Name = ptr.To(name)
	}
	return p
}

// Endpoint readiness as EndpointSlices carry it; nil (unset) means ready.
var (
	readyTrue  = ptr.To(true)
	readyFalse = ptr.To(false)
	readyUnset *bool
)

func TestEndpointAddresses(t *testing.T) {
	httpPort := &corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}
	tests := []struct {
		name      string
		slices    []*discoveryv1.EndpointSlice
		port      *corev1.ServicePort
		want      []string
		wantAddrs []string
	}{
		{
			name: "no slices",
			port: httpPort,
		},
		{
			name:      "ready and unset readiness count, not ready does not",
			slices:    []*discoveryv1.EndpointSlice{endpointSlice(sliceEndpoint(readyTrue, "10.0.0.2"), sliceEndpoint(readyFalse, "10.0.0.3"), sliceEndpoint(readyUnset, "10.0.0.1"))},
			port:      httpPort,
			want:      []string{"10.0.0.1:8080", "10.0.0.2:8080"},
			wantAddrs: []string{"10.0.0.1", "10.0.0.2"},
		},
		{
			name: "every address of an endpoint",
			slices: []*discoveryv1.EndpointSlice{endpointSlice(
				sliceEndpoint(readyTrue, "10.0.0.4", "10.0.0.3"))},
			port:      httpPort,
			want:      []string{"10.0.0.3:8080", "10.0.0.4:8080"},
			wantAddrs: []string{"10.0.0.3", "10.0.0.4"},
		},
		{
			name: "the slice port named after the Service port gives the target port",
			slices: []*discoveryv1.EndpointSlice{endpointSlice(
				slicePorts(slicePort("metrics", corev1.ProtocolTCP, 9090), slicePort("http", corev1.ProtocolTCP, 8081)),
				sliceEndpoint(readyTrue, "10.0.0.1"))},
			port:      httpPort,
			want:      []string{"10.0.0.1:8081"},
			wantAddrs: []string{"10.0.0.1"},
		},
		{
			name: "a Service's only, unnamed port",
			slices: []*discoveryv1.EndpointSlice{endpointSlice(
				slicePorts(slicePort("", corev1.ProtocolTCP, 3000)),
				sliceEndpoint(readyTrue, "10.0.0.1"))},
			port:      &corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP},
			want:      []string{"10.0.0.1:3000"},
			wantAddrs: []string{"10.0.0.1"},
		},
		{
			name: "an unset slice port protocol is TCP",
			slices: []*discoveryv1.EndpointSlice{endpointSlice(
				slicePorts(discoveryv1.EndpointPort{Name: ptr.To("http"), Port: ptr.To[int32](8082)}),
				sliceEndpoint(readyTrue, "10.0.0.1"))},
			port:      httpPort,
			want:      []string{"10.0.0.1:8082"},
			wantAddrs: []string{"10.0.0.1"},
		},
		{
			name: "a slice without the port is skipped",
			slices: []*discoveryv1.EndpointSlice{endpointSlice(
				slicePorts(slicePort("metrics", corev1.ProtocolTCP, 9090)),
				sliceEndpoint(readyTrue, "10.0.0.1"))},
			port: httpPort,
		},
		{
			name: "a slice port without a number is skipped",
			slices: []*discoveryv1.EndpointSlice{endpointSlice(
				slicePorts(discoveryv1.EndpointPort{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP)}),
				sliceEndpoint(readyTrue, "10.0.0.1"))},
			port: httpPort,
		},
		{
			name: "a UDP port of the same name is not the target",
			slices: []*discoveryv1.EndpointSlice{endpointSlice(
				slicePorts(slicePort("http", corev1.ProtocolUDP, 5353)),
				sliceEndpoint(readyTrue, "10.0.0.1"))},
			port: httpPort,
		},
		{
			name: "the TCP port is found after a UDP port of the same name",
			slices: []*discoveryv1.EndpointSlice{endpointSlice(
				slicePorts(slicePort("http", corev1.ProtocolUDP, 5353), slicePort("http", corev1.ProtocolTCP, 8080)),
				sliceEndpoint(readyTrue, "10.0.0.1"))},
			port:      httpPort,
			want:      []string{"10.0.0.1:8080"},
			wantAddrs: []string{"10.0.0.1"},
		},
		{
			name: "a UDP Service port takes the UDP port of the same name",
			slices: []*discoveryv1.EndpointSlice{endpointSlice(
				slicePorts(slicePort("dns", corev1.ProtocolTCP, 5300), slicePort("dns", corev1.ProtocolUDP, 5353)),
				sliceEndpoint(readyTrue, "10.0.0.1"))},
			port:      &corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
			want:      []string{"10.0.0.1:5353"},
			wantAddrs: []string{"10.0.0.1"},
		},
		{
			name: "a UDP Service port ignores a TCP-only slice",
			slices: []*discoveryv1.EndpointSlice{endpointSlice(
				slicePorts(slicePort("dns", corev1.ProtocolTCP, 5300)),
				sliceEndpoint(readyTrue, "10.0.0.1"))},
			port: &corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
		},
		{
			name: "several slices are merged and sorted",
			slices: []*discoveryv1.EndpointSlice{
				endpointSlice(sliceEndpoint(readyTrue, "10.0.0.9")),
				endpointSlice(slicePorts(slicePort("http", corev1.ProtocolTCP, 8443)), sliceEndpoint(readyTrue, "10.0.0.1")),
				endpointSlice(sliceEndpoint(readyTrue, "10.0.0.5")),
			},
			port:      httpPort,
			want:      []string{"10.0.0.1:8443", "10.0.0.5:8080", "10.0.0.9:8080"},
			wantAddrs: []string{"10.0.0.1", "10.0.0.5", "10.0.0.9"},
		},
		{
			name: "an address in two slices counts once",
			slices: []*discoveryv1.EndpointSlice{
				endpointSlice(sliceEndpoint(readyTrue, "10.0.0.1"), sliceEndpoint(readyTrue, "10.0.0.2")),
				endpointSlice(sliceEndpoint(readyTrue, "10.0.0.1")),
			},
			port:      httpPort,
			want:      []string{"10.0.0.1:8080", "10.0.0.2:8080"},
			wantAddrs: []string{"10.0.0.1", "10.0.0.2"},
		},
		{
			name: "the same address on two target ports counts twice",
			slices: []*discoveryv1.EndpointSlice{
				endpointSlice(sliceEndpoint(readyTrue, "10.0.0.1")),
				endpointSlice(slicePorts(slicePort("http", corev1.ProtocolTCP, 8081)), sliceEndpoint(readyTrue, "10.0.0.1")),
			},
			port:      httpPort,
			want:      []string{"10.0.0.1:8080", "10.0.0.1:8081"},
			wantAddrs: []string{"10.0.0.1", "10.0.0.1"},
		},
		{
			name: "IPv6 addresses are bracketed",
			slices: []*discoveryv1.EndpointSlice{
				endpointSlice(sliceAddressType(discoveryv1.AddressTypeIPv6), sliceEndpoint(readyTrue, "fd00::2"), sliceEndpoint(readyUnset, "fd00::1")),
				endpointSlice(sliceEndpoint(readyTrue, "10.0.0.1")),
			},
			port:      httpPort,
			want:      []string{"10.0.0.1:8080", "[fd00::1]:8080", "[fd00::2]:8080"},
			wantAddrs: []string{"10.0.0.1", "fd00::1", "fd00::2"},
		},
		{
			name: "a slice of another address type is skipped",
			slices: []*discoveryv1.EndpointSlice{
				endpointSlice(sliceAddressType(discoveryv1.AddressTypeFQDN), sliceEndpoint(readyTrue, "db.example.com")),
				endpointSlice(sliceEndpoint(readyTrue, "10.0.0.1")),
			},
			port:      httpPort,
			want:      []string{"10.0.0.1:8080"},
			wantAddrs: []string{"10.0.0.1"},
		},
		{
			name:      "an address that does not parse is returned as the zero Addr",
			slices:    []*discoveryv1.EndpointSlice{endpointSlice(sliceEndpoint(readyTrue, "not-an-ip"))},
			port:      httpPort,
			want:      []string{"not-an-ip:8080"},
			wantAddrs: []string{netip.Addr{}.String()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, addrs := endpointAddresses(tt.slices, tt.port.Name, servicePortProtocol(tt.port))
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("endpoints differ (-want +got):\n%s", d)
			}
			// The addresses feed the address policy, which checks each one; their order is
			// of no consequence.
			var gotAddrs []string
			for _, a := range addrs {
				gotAddrs = append(gotAddrs, a.String())
			}
			sort.Strings(gotAddrs)
			if d := cmp.Diff(tt.wantAddrs, gotAddrs); d != "" {
				t.Errorf("addresses differ (-want +got):\n%s", d)
			}
		})
	}
}
