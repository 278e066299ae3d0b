package translate

import (
	"net/netip"
	"testing"
)

func TestBackendAddressPolicy(t *testing.T) {
	p := newBackendAddressPolicy([]string{"10.0.0.7", "fd00::7"}, false)
	for addr, forbidden := range map[string]bool{
		"10.1.2.3": false, "192.168.0.4": false, "fd00::1234": false, "8.8.8.8": false,
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "::ffff:127.0.0.1": true,
		"169.254.169.254": true, "169.254.0.1": true, "fe80::1": true, "fd00:ec2::254": true, "100.100.100.200": true,
		"0.0.0.0": true, "::": true, "224.0.0.1": true, "ff02::1": true,
		"10.0.0.7": true, "fd00::7": true, "::ffff:10.0.0.7": true,
	} {
		a := netip.MustParseAddr(addr)
		if got := p.forbidden(a) != ""; got != forbidden {
			t.Errorf("forbidden(%s) = %v (%q), want %v", addr, got, p.forbidden(a), forbidden)
		}
	}
	if why := p.forbidden(netip.Addr{}); why == "" {
		t.Error("an address that does not parse must be refused")
	}
	if why := newBackendAddressPolicy(nil, true).forbidden(netip.MustParseAddr("127.0.0.1")); why != "" {
		t.Errorf("allowLoopback admits loopback, got %q", why)
	}
}
