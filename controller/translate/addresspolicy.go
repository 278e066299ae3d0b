package translate

import (
	"fmt"
	"net/netip"
)

// Route authors are untrusted: whatever address a backend resolves to (an EndpointSlice they
// wrote, an ExternalName, later a policy's hostname), the proxy must never dial its own admin,
// loopback, link-local or cloud metadata addresses, nor the proxy pods themselves. The check
// runs on the resolved address, and a name is resolved here and pinned, never left for
// Kengine to resolve at request time, so that DNS cannot route around it.

// metadataAddresses are cloud metadata endpoints outside the link-local ranges.
var metadataAddresses = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IMDS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud metadata
}

// backendAddressPolicy says which resolved addresses a route may send traffic to.
type backendAddressPolicy struct {
	// proxy holds the addresses of the Gateway's own Kengine pods.
	proxy map[netip.Addr]bool
	// allowLoopback admits 127.0.0.0/8 and ::1; only tests whose backends run on the host's
	// loopback set it.
	allowLoopback bool
}

// forbidden returns why a backend must not be dialled at addr, or "" when it may be.
func (p backendAddressPolicy) forbidden(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return "is not an IP address"
	case addr.IsUnspecified():
		return "is the unspecified address"
	case addr.IsLoopback() && !p.allowLoopback:
		return "is a loopback address"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return "is a link-local address (cloud metadata lives there)"
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return "is a multicast address"
	case p.proxy[addr]:
		return "is one of this Gateway's own Kengine pods"
	}
	for _, m := range metadataAddresses {
		if addr == m {
			return "is a cloud metadata address"
		}
	}
	return ""
}

// checkAll returns an error naming the first forbidden address, or nil.
func (p backendAddressPolicy) checkAll(addrs []netip.Addr) error {
	for _, a := range addrs {
		if why := p.forbidden(a); why != "" {
			return fmt.Errorf("address %s %s", a, why)
		}
	}
	return nil
}

// newBackendAddressPolicy builds the policy for one Gateway from its pods' addresses.
func newBackendAddressPolicy(proxyAddresses []string, allowLoopback bool) backendAddressPolicy {
	p := backendAddressPolicy{proxy: map[netip.Addr]bool{}, allowLoopback: allowLoopback}
	for _, s := range proxyAddresses {
		if a, err := netip.ParseAddr(s); err == nil {
			p.proxy[a.Unmap()] = true
		}
	}
	return p
}
