package nodeagent

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"sync"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/klog/v2"
)

// loadBalancer stands in for a cloud load balancer: every Service of type LoadBalancer gets
// its own loopback address from a range (127.0.100.1 and up), written to its status, and each
// of its TCP and UDP ports is forwarded to the Service's ready endpoints.
//
// The whole 127.0.0.0/8 is local on Linux, so listening on such an address needs no interface
// configuration and leaves nothing behind when the agent stops.
type loadBalancer struct {
	a        *Agent
	prefix   netip.Prefix
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister

	mu    sync.Mutex
	state map[types.NamespacedName]*lbService
	byIP  map[netip.Addr]types.NamespacedName
}

// lbService is one Service's load balancer.
type lbService struct {
	uid        types.UID
	ip         netip.Addr
	forwarders map[lbPort]forwarder
	backends   map[lbPort]*backendSet
}

// lbPort is one forwarded port of a Service.
type lbPort struct {
	protocol v1.Protocol
	port     int32
}

// owns reports whether this load balancer serves the Service.
func (lb *loadBalancer) owns(svc *v1.Service) bool {
	return svc != nil && svc.DeletionTimestamp == nil && svc.Spec.Type == v1.ServiceTypeLoadBalancer &&
		svc.Spec.LoadBalancerClass == nil
}

// sync makes the load balancer of one Service match the Service and its EndpointSlices.
func (lb *loadBalancer) sync(ctx context.Context, key types.NamespacedName) error {
	svc, err := lb.services.Services(key.Namespace).Get(key.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if apierrors.IsNotFound(err) {
		svc = nil
	}
	if !lb.owns(svc) {
		lb.release(key)
		if svc != nil && svc.Spec.Type != v1.ServiceTypeLoadBalancer && len(svc.Status.LoadBalancer.Ingress) > 0 {
			return lb.writeIngress(ctx, svc, nil)
		}
		return nil
	}

	lb.mu.Lock()
	st := lb.state[key]
	if st != nil && st.uid != svc.UID {
		// The Service was recreated under the same name: start over.
		lb.mu.Unlock()
		lb.release(key)
		lb.mu.Lock()
		st = nil
	}
	if st == nil {
		ip, err := lb.allocate(svc)
		if err != nil {
			lb.mu.Unlock()
			lb.a.recorder.Event(svc, v1.EventTypeWarning, "AllocationFailed", err.Error())
			return err
		}
		st = &lbService{uid: svc.UID, ip: ip, forwarders: map[lbPort]forwarder{}, backends: map[lbPort]*backendSet{}}
		lb.state[key] = st
		lb.byIP[ip] = key
		klog.FromContext(ctx).Info("Assigned load-balancer address", "service", key, "ip", ip)
	}
	ip := st.ip
	lb.mu.Unlock()

	if err := lb.writeIngress(ctx, svc, &ip); err != nil {
		return err
	}
	return lb.syncPorts(ctx, svc, st)
}

// allocate picks the Service's address: the one its status already shows (an agent restart
// keeps addresses), else its requested loadBalancerIP, else the lowest free one. lb.mu is held.
func (lb *loadBalancer) allocate(svc *v1.Service) (netip.Addr, error) {
	var candidates []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		candidates = append(candidates, in.IP)
	}
	candidates = append(candidates, svc.Spec.LoadBalancerIP)
	for _, c := range candidates {
		if a, err := netip.ParseAddr(c); err == nil && lb.usable(a) {
			if _, taken := lb.byIP[a]; !taken {
				return a, nil
			}
		}
	}
	for a := lb.prefix.Masked().Addr().Next(); lb.prefix.Contains(a); a = a.Next() {
		if _, taken := lb.byIP[a]; !taken && lb.usable(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no free load-balancer address left in %s", lb.prefix)
}

// usable excludes the range's network and broadcast addresses and 127.0.0.1 itself.
func (lb *loadBalancer) usable(a netip.Addr) bool {
	return lb.prefix.Contains(a) && a != lb.prefix.Masked().Addr() && lb.prefix.Contains(a.Next()) &&
		a != netip.MustParseAddr("127.0.0.1")
}

// writeIngress sets status.loadBalancer.ingress to the address (or clears it for nil).
func (lb *loadBalancer) writeIngress(ctx context.Context, svc *v1.Service, ip *netip.Addr) error {
	var want []v1.LoadBalancerIngress
	if ip != nil {
		vip := v1.LoadBalancerIPModeVIP
		want = []v1.LoadBalancerIngress{{IP: ip.String(), IPMode: &vip}}
	}
	if equality.Semantic.DeepEqual(svc.Status.LoadBalancer.Ingress, want) {
		return nil
	}
	upd := svc.DeepCopy()
	upd.Status.LoadBalancer.Ingress = want
	_, err := lb.a.client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("writing load-balancer status of %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return nil
}

// syncPorts opens a forwarder for each TCP and UDP port of the Service, closes the ones no
// longer wanted and hands each its current ready endpoints.
func (lb *loadBalancer) syncPorts(ctx context.Context, svc *v1.Service, st *lbService) error {
	slices, err := lb.slices.EndpointSlices(svc.Namespace).List(labels.SelectorFromSet(labels.Set{
		discoveryv1.LabelServiceName: svc.Name,
	}))
	if err != nil {
		return err
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	want := map[lbPort]bool{}
	var errs []error
	for _, sp := range svc.Spec.Ports {
		if sp.Protocol != v1.ProtocolTCP && sp.Protocol != v1.ProtocolUDP {
			continue
		}
		p := lbPort{protocol: sp.Protocol, port: sp.Port}
		want[p] = true
		b := st.backends[p]
		if b == nil {
			b = &backendSet{}
			st.backends[p] = b
		}
		b.set(readyAddresses(slices, sp))
		if st.forwarders[p] != nil {
			continue
		}
		addr := net.JoinHostPort(st.ip.String(), strconv.Itoa(int(sp.Port)))
		var f forwarder
		if sp.Protocol == v1.ProtocolTCP {
			f, err = newTCPForwarder(ctx, addr, b)
		} else {
			f, err = newUDPForwarder(ctx, addr, b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("listening on %s/%s: %w", addr, sp.Protocol, err))
			lb.a.recorder.Eventf(svc, v1.EventTypeWarning, "ListenFailed", "listening on %s/%s: %v", addr, sp.Protocol, err)
			continue
		}
		st.forwarders[p] = f
	}
	for p, f := range st.forwarders {
		if !want[p] {
			f.close()
			delete(st.forwarders, p)
			delete(st.backends, p)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%v", errs)
	}
	return nil
}

// readyAddresses lists "ip:port" of the ready endpoints that serve a Service port, sorted.
func readyAddresses(slices []*discoveryv1.EndpointSlice, sp v1.ServicePort) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		var port int32 = -1
		for _, p := range s.Ports {
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			proto := v1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			if name == sp.Name && proto == sp.Protocol && p.Port != nil {
				port = *p.Port
			}
		}
		if port < 0 {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				hp := net.JoinHostPort(a, strconv.Itoa(int(port)))
				if !seen[hp] {
					seen[hp] = true
					out = append(out, hp)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// release closes a Service's forwarders and frees its address.
func (lb *loadBalancer) release(key types.NamespacedName) {
	lb.mu.Lock()
	st := lb.state[key]
	delete(lb.state, key)
	if st != nil && lb.byIP[st.ip] == key {
		delete(lb.byIP, st.ip)
	}
	lb.mu.Unlock()
	if st == nil {
		return
	}
	for _, f := range st.forwarders {
		f.close()
	}
}

// closeAll stops every forwarder, when the agent stops.
func (lb *loadBalancer) closeAll() {
	lb.mu.Lock()
	var keys []types.NamespacedName
	for k := range lb.state {
		keys = append(keys, k)
	}
	lb.mu.Unlock()
	for _, k := range keys {
		lb.release(k)
	}
}
