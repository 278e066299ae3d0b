package nodeagent

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
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
		key := types.NamespacedName{Name: "new"}
		a, err := lb.allocate(key, s, netip.Addr{})
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
	if got := take(svc("127.0.0.1", "")); got != "127.0.100.2" {
		t.Errorf("out-of-range status = %s, want the next free 127.0.100.2", got)
	}
	if lb.usable(netip.MustParseAddr("127.0.100.255")) || lb.usable(netip.MustParseAddr("127.0.100.0")) {
		t.Error("network and broadcast addresses must not be used")
	}
}

// A Service that asks for addresses gets the first one that is in the range and free, or none:
// never one it did not ask for.
func TestAllocateRequested(t *testing.T) {
	me, other := types.NamespacedName{Namespace: "infra", Name: "me"}, types.NamespacedName{Namespace: "infra", Name: "other"}
	lb := &loadBalancer{prefix: netip.MustParsePrefix("127.0.100.0/24"), byIP: map[netip.Addr]types.NamespacedName{
		netip.MustParseAddr("127.0.100.201"): other,
		netip.MustParseAddr("127.0.100.202"): me,
	}}
	tests := []struct {
		name       string
		annotation string
		lbIP       string
		want       string // "" means none
	}{
		{"annotation", "127.0.100.200", "", "127.0.100.200"},
		{"spec.loadBalancerIP", "", "127.0.100.200", "127.0.100.200"},
		{"outside the range is skipped", "127.0.99.1, 127.0.100.200", "", "127.0.100.200"},
		{"held by another Service is skipped", "127.0.100.201,127.0.100.203", "", "127.0.100.203"},
		{"held by this Service already", "127.0.100.202", "", "127.0.100.202"},
		{"only outside the range", "127.0.99.1", "", ""},
		{"only taken", "127.0.100.201", "", ""},
		{"not an address", "nonsense", "", ""},
		{"broadcast", "127.0.100.255", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "me", Annotations: map[string]string{RequestAnnotation: tt.annotation}},
				Spec:   v1.ServiceSpec{LoadBalancerIP: tt.lbIP},
				Status: v1.ServiceStatus{LoadBalancer: v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{IP: "127.0.100.5"}}}}}
			got, err := lb.allocate(me, svc, netip.MustParseAddr("127.0.100.5"))
			if tt.want == "" {
				if got.IsValid() || !errors.Is(err, errRequestNotHonoured) {
					t.Errorf("allocate = %v, %v; want no address and errRequestNotHonoured", got, err)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Errorf("allocate = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// The upper quarter of the range goes only to Services that ask for it; an address there that
// a Service no longer asks for is given up for an automatic one.
func TestAllocateKeepsReservedRangeForRequests(t *testing.T) {
	key := types.NamespacedName{Name: "s"}
	lb := &loadBalancer{prefix: netip.MustParsePrefix("127.0.100.0/24"), byIP: map[netip.Addr]types.NamespacedName{}}
	if got, want := lb.reserved(), netip.MustParsePrefix("127.0.100.192/26"); got != want {
		t.Fatalf("reserved = %s, want %s", got, want)
	}
	for a := netip.MustParseAddr("127.0.100.1"); a != netip.MustParseAddr("127.0.100.192"); a = a.Next() {
		lb.byIP[a] = types.NamespacedName{Name: a.String()}
	}
	if got, err := lb.allocate(key, &v1.Service{}, netip.Addr{}); err == nil {
		t.Errorf("allocate with the automatic part full = %s, want an error", got)
	}
	svc := &v1.Service{Status: v1.ServiceStatus{LoadBalancer: v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{IP: "127.0.100.200"}}}}}
	delete(lb.byIP, netip.MustParseAddr("127.0.100.3"))
	if got, err := lb.allocate(key, svc, netip.MustParseAddr("127.0.100.200")); err != nil || got.String() != "127.0.100.3" {
		t.Errorf("allocate after the request was dropped = %v, %v; want the automatic 127.0.100.3", got, err)
	}
	small := &loadBalancer{prefix: netip.MustParsePrefix("127.0.100.0/31")}
	if small.reserved().IsValid() {
		t.Error("a range too small to split must reserve nothing")
	}
}

func TestRequestedAddresses(t *testing.T) {
	svc := &v1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{RequestAnnotation: "127.0.100.200, ::ffff:127.0.99.1,,127.0.100.200"}},
		Spec: v1.ServiceSpec{LoadBalancerIP: "127.0.100.201"}}
	var got []string
	for _, a := range requestedAddresses(svc) {
		got = append(got, a.String())
	}
	if want := []string{"127.0.100.200", "127.0.99.1", "127.0.100.201"}; !slices.Equal(got, want) {
		t.Errorf("requestedAddresses = %v, want %v", got, want)
	}
	if got := requestedAddresses(&v1.Service{}); len(got) != 0 {
		t.Errorf("no request = %v", got)
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

// sync follows a Service's request as it changes: the requested address, then none when the
// request cannot be honoured (the address is freed for others), then an automatic one.
func TestSyncFollowsTheRequest(t *testing.T) {
	ctx := context.Background()
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw", UID: "uid-1", Annotations: map[string]string{RequestAnnotation: "127.0.100.200"}},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer},
	}
	client := fake.NewClientset(svc)
	services := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	lb := &loadBalancer{
		a: &Agent{client: client, recorder: record.NewFakeRecorder(10)}, prefix: netip.MustParsePrefix("127.0.100.0/24"),
		services: corelisters.NewServiceLister(services),
		slices:   discoverylisters.NewEndpointSliceLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})),
		state:    map[types.NamespacedName]*lbService{}, byIP: map[netip.Addr]types.NamespacedName{},
	}
	key := types.NamespacedName{Namespace: "infra", Name: "gw"}
	step := func(annotation string, want string) {
		t.Helper()
		cur, err := client.CoreV1().Services("infra").Get(ctx, "gw", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Annotations = map[string]string{RequestAnnotation: annotation}
		if err := services.Update(cur); err != nil {
			t.Fatal(err)
		}
		if err := lb.sync(ctx, key); err != nil {
			t.Fatalf("sync with request %q: %v", annotation, err)
		}
		cur, err = client.CoreV1().Services("infra").Get(ctx, "gw", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, in := range cur.Status.LoadBalancer.Ingress {
			got = append(got, in.IP)
		}
		if want == "" && len(got) != 0 || want != "" && !slices.Equal(got, []string{want}) {
			t.Errorf("request %q: ingress %v, want %q", annotation, got, want)
		}
		held := 0
		for _, owner := range lb.byIP {
			if owner == key {
				held++
			}
		}
		if want != "" && held != 1 || want == "" && held != 0 {
			t.Errorf("request %q: the Service holds %d addresses", annotation, held)
		}
	}
	step("127.0.100.200", "127.0.100.200")
	step("127.0.99.1,127.0.100.201", "127.0.100.201")
	step("127.0.99.1", "")
	step("", "127.0.100.1")
}
