package addresses

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func specAddr(t gatewayv1.AddressType, v string) gatewayv1.GatewaySpecAddress {
	return gatewayv1.GatewaySpecAddress{Type: ptr.To(t), Value: v}
}

func statusIP(v string) gatewayv1.GatewayStatusAddress {
	return gatewayv1.GatewayStatusAddress{Type: ptr.To(gatewayv1.IPAddressType), Value: v}
}

func TestFromSpec(t *testing.T) {
	got := FromSpec([]gatewayv1.GatewaySpecAddress{
		specAddr("test/fake-invalid-type", "fake address teehee!"),
		{Value: "127.0.100.200"}, // no type: IPAddress
		specAddr(gatewayv1.IPAddressType, "::ffff:127.0.99.1"),
		specAddr(gatewayv1.IPAddressType, ""),
		specAddr(gatewayv1.HostnameAddressType, "gw.example.com"),
		specAddr(gatewayv1.IPAddressType, "not-an-ip"),
		specAddr(gatewayv1.IPAddressType, "127.0.100.200"),
	})
	want := Request{
		IPs:         []netip.Addr{netip.MustParseAddr("127.0.100.200"), netip.MustParseAddr("127.0.99.1")},
		AnyIPs:      1,
		Unsupported: []string{`test/fake-invalid-type "fake address teehee!"`, `Hostname "gw.example.com"`},
		Invalid:     []string{"not-an-ip"},
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("FromSpec (-want +got):\n%s", d)
	}
	if a := got.Annotation(); a != "127.0.100.200,127.0.99.1" {
		t.Errorf("Annotation = %q", a)
	}
}

func TestNotAccepted(t *testing.T) {
	tests := []struct {
		name   string
		spec   []gatewayv1.GatewaySpecAddress
		reason gatewayv1.GatewayConditionReason
	}{
		{"none", nil, ""},
		{"static and empty IPs", []gatewayv1.GatewaySpecAddress{{Value: "192.0.2.1"}, specAddr(gatewayv1.IPAddressType, "")}, ""},
		{"unknown type", []gatewayv1.GatewaySpecAddress{specAddr("test/fake-invalid-type", "x"), {Value: "192.0.2.1"}}, gatewayv1.GatewayReasonUnsupportedAddress},
		{"hostname", []gatewayv1.GatewaySpecAddress{specAddr(gatewayv1.HostnameAddressType, "")}, gatewayv1.GatewayReasonUnsupportedAddress},
		{"named address", []gatewayv1.GatewaySpecAddress{specAddr(gatewayv1.NamedAddressType, "my-ip")}, gatewayv1.GatewayReasonUnsupportedAddress},
		{"not an IP", []gatewayv1.GatewaySpecAddress{{Value: "1.2.3"}}, gatewayv1.GatewayReasonInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, msg, notAccepted := FromSpec(tt.spec).NotAccepted()
			if reason != tt.reason || notAccepted != (tt.reason != "") {
				t.Errorf("NotAccepted = %q, %v (%s), want %q", reason, notAccepted, msg, tt.reason)
			}
		})
	}
}

func TestUnmet(t *testing.T) {
	hostname := gatewayv1.GatewayStatusAddress{Type: ptr.To(gatewayv1.HostnameAddressType), Value: "lb.example.com"}
	tests := []struct {
		name     string
		spec     []gatewayv1.GatewaySpecAddress
		assigned []gatewayv1.GatewayStatusAddress
		reason   gatewayv1.GatewayConditionReason
	}{
		{"nothing asked, nothing yet", nil, nil, gatewayv1.GatewayReasonAddressNotAssigned},
		{"nothing asked, one assigned", nil, []gatewayv1.GatewayStatusAddress{statusIP("127.0.100.1")}, ""},
		{"nothing asked, a hostname assigned", nil, []gatewayv1.GatewayStatusAddress{hostname}, ""},
		{"static, nothing yet", []gatewayv1.GatewaySpecAddress{{Value: "127.0.100.200"}}, nil, gatewayv1.GatewayReasonAddressNotAssigned},
		{"static, assigned", []gatewayv1.GatewaySpecAddress{{Value: "127.0.100.200"}}, []gatewayv1.GatewayStatusAddress{statusIP("127.0.100.200")}, ""},
		{"static in another spelling", []gatewayv1.GatewaySpecAddress{{Value: "::ffff:127.0.100.200"}}, []gatewayv1.GatewayStatusAddress{statusIP("127.0.100.200")}, ""},
		{"one of two static left out", []gatewayv1.GatewaySpecAddress{{Value: "127.0.99.1"}, {Value: "127.0.100.200"}},
			[]gatewayv1.GatewayStatusAddress{statusIP("127.0.100.200")}, gatewayv1.GatewayReasonAddressNotUsable},
		{"static, another one assigned", []gatewayv1.GatewaySpecAddress{{Value: "127.0.100.200"}},
			[]gatewayv1.GatewayStatusAddress{statusIP("127.0.100.1")}, gatewayv1.GatewayReasonAddressNotUsable},
		{"empty value, nothing yet", []gatewayv1.GatewaySpecAddress{specAddr(gatewayv1.IPAddressType, "")}, nil, gatewayv1.GatewayReasonAddressNotAssigned},
		{"empty value, picked", []gatewayv1.GatewaySpecAddress{specAddr(gatewayv1.IPAddressType, "")}, []gatewayv1.GatewayStatusAddress{statusIP("127.0.100.3")}, ""},
		{"empty value, only a hostname", []gatewayv1.GatewaySpecAddress{specAddr(gatewayv1.IPAddressType, "")}, []gatewayv1.GatewayStatusAddress{hostname}, gatewayv1.GatewayReasonAddressNotAssigned},
		{"empty value next to a static one", []gatewayv1.GatewaySpecAddress{{Value: "127.0.100.200"}, specAddr(gatewayv1.IPAddressType, "")},
			[]gatewayv1.GatewayStatusAddress{statusIP("127.0.100.200")}, gatewayv1.GatewayReasonAddressNotAssigned},
		{"empty value next to a static one, both given", []gatewayv1.GatewaySpecAddress{{Value: "127.0.100.200"}, specAddr(gatewayv1.IPAddressType, "")},
			[]gatewayv1.GatewayStatusAddress{statusIP("127.0.100.200"), statusIP("127.0.100.4")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, msg, unmet := FromSpec(tt.spec).Unmet(tt.assigned)
			if reason != tt.reason || unmet != (tt.reason != "") {
				t.Errorf("Unmet = %q, %v (%s), want %q", reason, unmet, msg, tt.reason)
			}
		})
	}
}
