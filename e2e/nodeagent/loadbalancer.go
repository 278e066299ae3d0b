package nodeagent

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
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
// A Service may ask for addresses (RequestAnnotation, spec.loadBalancerIP): it gets the first
// requested one that lies in the range and no other Service holds, and no address at all when
// none does, so that whoever asked sees from the status that the request was not honoured. The
// upper quarter of the range (127.0.100.192 to .254) is never handed out unasked, so that a
// request for one of those addresses succeeds whatever else runs.
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

// RequestAnnotation lists, comma-separated, the addresses a Service asks the load balancer for.
// The controller writes it on a managed Kengine Service from its Gateway's spec.addresses
// (addresses.ServiceAnnotation in the controller's module).
const RequestAnnotation = "kengine.khulnasoft.com/load-balancer-ips"

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
	var stale []forwarder
	st := lb.state[key]
	if st != nil && st.uid != svc.UID {
		// The Service was recreated under the same name: start over.
		stale, st = lb.dropLocked(key), nil
	}
	var current netip.Addr
	if st != nil {
		current = st.ip
	}
	ip, err := lb.allocate(key, svc, current)
	if st != nil && ip != st.ip {
		// The request changed: the Service moves to its new address (or to none).
		stale, st = append(stale, lb.dropLocked(key)...), nil
	}
	if st == nil && ip.IsValid() {
		st = &lbService{uid: svc.UID, ip: ip, forwarders: map[lbPort]forwarder{}, backends: map[lbPort]*backendSet{}}
		lb.state[key] = st
		lb.byIP[ip] = key
		klog.FromContext(ctx).Info("Assigned load-balancer address", "service", key, "ip", ip)
	}
	lb.mu.Unlock()
	for _, f := range stale {
		f.close()
	}

	if err != nil {
		lb.a.recorder.Event(svc, v1.EventTypeWarning, "AllocationFailed", err.Error())
		if werr := lb.writeIngress(ctx, svc, nil); werr != nil {
			return werr
		}
		if errors.Is(err, errRequestNotHonoured) {
			return nil // nothing to retry until the Service changes
		}
		return err
	}
	if err := lb.writeIngress(ctx, svc, &ip); err != nil {
		return err
	}
	return lb.syncPorts(ctx, svc, st)
}

// errRequestNotHonoured means none of the addresses a Service asked for can be given to it.
var errRequestNotHonoured = errors.New("no requested load-balancer address can be assigned")

// requestedAddresses are the addresses a Service asks for, RequestAnnotation first and then
// spec.loadBalancerIP, without duplicates. Values that are not addresses are kept as invalid
// addresses, so that a request made only of those is still a request, and is refused.
func requestedAddresses(svc *v1.Service) []netip.Addr {
	var out []netip.Addr
	values := strings.Split(svc.Annotations[RequestAnnotation], ",")
	for _, v := range append(values, svc.Spec.LoadBalancerIP) {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			a = netip.Addr{}
		}
		if a = a.Unmap(); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// allocate picks the Service's address. A Service that asks for addresses gets the first it
// asked for that is in the range and free (or already its own), else none and an error wrapping
// errRequestNotHonoured. Any other keeps its current address, else the one its status already
// shows (an agent restart keeps addresses), else the lowest free one outside the reserved upper
// quarter. lb.mu is held.
func (lb *loadBalancer) allocate(key types.NamespacedName, svc *v1.Service, current netip.Addr) (netip.Addr, error) {
	free := func(a netip.Addr) bool {
		owner, taken := lb.byIP[a]
		return !taken || owner == key
	}
	if requested := requestedAddresses(svc); len(requested) > 0 {
		for _, a := range requested {
			if lb.usable(a) && free(a) {
				return a, nil
			}
		}
		return netip.Addr{}, fmt.Errorf("%w: %v asked for, none of them free in %s", errRequestNotHonoured, requested, lb.prefix)
	}
	candidates := []netip.Addr{current}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			candidates = append(candidates, a)
		}
	}
	for _, a := range candidates {
		if lb.automatic(a) && free(a) {
			return a, nil
		}
	}
	for a := lb.prefix.Masked().Addr().Next(); lb.prefix.Contains(a); a = a.Next() {
		if lb.automatic(a) && free(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no free load-balancer address left in %s below the reserved %s", lb.prefix, lb.reserved())
}

// usable excludes the range's network and broadcast addresses and 127.0.0.1 itself.
func (lb *loadBalancer) usable(a netip.Addr) bool {
	return a.IsValid() && lb.prefix.Contains(a) && a != lb.prefix.Masked().Addr() && lb.prefix.Contains(a.Next()) &&
		a != netip.MustParseAddr("127.0.0.1")
}

// reserved is the upper quarter of the range, handed out only on request (127.0.100.192/26 of
// 127.0.100.0/24). A range too small to split reserves nothing.
func (lb *loadBalancer) reserved() netip.Prefix {
	p := lb.prefix.Masked()
	if !p.Addr().Is4() || p.Bits() > 30 {
		return netip.Prefix{}
	}
	base := p.Addr().As4()
	n := binary.BigEndian.Uint32(base[:]) + 3<<(32-p.Bits()-2)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return netip.PrefixFrom(netip.AddrFrom4(b), p.Bits()+2)
}

// automatic reports whether a may be handed out to a Service that asked for nothing.
func (lb *loadBalancer) automatic(a netip.Addr) bool {
	r := lb.reserved()
	return lb.usable(a) && !(r.IsValid() && r.Contains(a))
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
	stale := lb.dropLocked(key)
	lb.mu.Unlock()
	for _, f := range stale {
		f.close()
	}
}

// dropLocked forgets a Service's load balancer and frees its address; it returns the
// forwarders for the caller to close once lb.mu is released. lb.mu is held.
func (lb *loadBalancer) dropLocked(key types.NamespacedName) []forwarder {
	st := lb.state[key]
	delete(lb.state, key)
	if st == nil {
		return nil
	}
	if lb.byIP[st.ip] == key {
		delete(lb.byIP, st.ip)
	}
	var out []forwarder
	for _, f := range st.forwarders {
		out = append(out, f)
	}
	return out
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
