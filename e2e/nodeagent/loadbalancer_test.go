package nodeagent

import (
	"net/netip"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func slice(portName string, proto v1.Protocol, port int32, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Protocol: &proto, Port: &port}},
		Endpoints:   eps,
	}
}

func endpoint(ip string, ready *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
}

func TestReadyAddresses(t *testing.T) {
	yes, no := true, false
	slices1 := []*discoveryv1.EndpointSlice{
		slice("http", v1.ProtocolTCP, 3000, endpoint("10.244.0.3", &yes), endpoint("10.244.0.2", nil), endpoint("10.244.0.4", &no)),
		slice("http", v1.ProtocolTCP, 3000, endpoint("10.244.0.2", &yes)),
		slice("dns", v1.ProtocolUDP, 5353, endpoint("10.244.0.5", &yes)),
	}
	got := readyAddresses(slices1, v1.ServicePort{Name: "http", Protocol: v1.ProtocolTCP})
	if want := []string{"10.244.0.2:3000", "10.244.0.3:3000"}; !slices.Equal(got, want) {
		t.Errorf("http: got %v, want %v", got, want)
	}
	got = readyAddresses(slices1, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP})
	if want := []string{"10.244.0.5:5353"}; !slices.Equal(got, want) {
		t.Errorf("dns: got %v, want %v", got, want)
	}
	if got := readyAddresses(slices1, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolTCP}); len(got) != 0 {
		t.Errorf("dns over TCP: got %v, want none", got)
	}
}

func TestAllocate(t *testing.T) {
	lb := &loadBalancer{prefix: netip.MustParsePrefix("127.0.100.0/24"), byIP: map[netip.Addr]types.NamespacedName{}}
	svc := func(statusIP, requested string) *v1.Service {
		s := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: v1.ServiceSpec{LoadBalancerIP: requested}}
		if statusIP != "" {
			s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: statusIP}}
		}
		return s
	}
	take := func(s *v1.Service) string {
		a, err := lb.allocate(s)
		if err != nil {
			t.Fatal(err)
		}
		lb.byIP[a] = types.NamespacedName{Name: a.String()}
		return a.String()
	}
	if got := take(svc("", "")); got != "127.0.100.1" {
		t.Errorf("first address = %s, want 127.0.100.1", got)
	}
	if got := take(svc("127.0.100.7", "")); got != "127.0.100.7" {
		t.Errorf("address kept from status = %s, want 127.0.100.7", got)
	}
	if got := take(svc("", "127.0.100.9")); got != "127.0.100.9" {
		t.Errorf("requested address = %s, want 127.0.100.9", got)
	}
	if got := take(svc("127.0.0.1", "10.0.0.1")); got != "127.0.100.2" {
		t.Errorf("out-of-range requests = %s, want the next free 127.0.100.2", got)
	}
	if lb.usable(netip.MustParseAddr("127.0.100.255")) || lb.usable(netip.MustParseAddr("127.0.100.0")) {
		t.Error("network and broadcast addresses must not be used")
	}
}

func TestBackendSetRoundRobin(t *testing.T) {
	var b backendSet
	if b.order() != nil {
		t.Fatal("empty set must give no backends")
	}
	b.set([]string{"a", "b", "c"})
	var firsts []string
	for range 4 {
		firsts = append(firsts, b.order()[0])
	}
	if want := []string{"a", "b", "c", "a"}; !slices.Equal(firsts, want) {
		t.Errorf("round robin = %v, want %v", firsts, want)
	}
}
