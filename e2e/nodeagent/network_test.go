package nodeagent

import (
	"net/netip"
	"testing"
)

func TestNextFreeRoundRobin(t *testing.T) {
	n := &Network{Subnet: netip.MustParsePrefix("10.244.0.0/29"), used: map[netip.Addr]string{}}
	take := func() string {
		a := n.nextFree()
		if a.IsValid() {
			n.used[a] = "x"
			n.last = a
		}
		return a.String()
	}
	// .0 is the network, .1 the bridge, .7 the broadcast: .2 to .6 are pods'.
	for _, want := range []string{"10.244.0.2", "10.244.0.3", "10.244.0.4"} {
		if got := take(); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	delete(n.used, netip.MustParseAddr("10.244.0.2"))
	// A freed address comes back only after the others were handed out.
	for _, want := range []string{"10.244.0.5", "10.244.0.6", "10.244.0.2", "invalid IP"} {
		if got := take(); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
}
