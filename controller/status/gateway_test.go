package status

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Programmed follows spec.addresses: what the load balancer assigned is listed as is, and a
// requested address it left out keeps the Gateway unprogrammed with the specification's reason,
// while its listeners, whose config did reach the pods, are programmed.
func TestGatewayStatusAddresses(t *testing.T) {
	ip := func(v string) gatewayv1.GatewayStatusAddress {
		return gatewayv1.GatewayStatusAddress{Type: ptr.To(gatewayv1.IPAddressType), Value: v}
	}
	tests := []struct {
		name       string
		spec       []gatewayv1.GatewaySpecAddress
		assigned   []gatewayv1.GatewayStatusAddress
		wantReason gatewayv1.GatewayConditionReason
	}{
		{"no request, address assigned", nil, []gatewayv1.GatewayStatusAddress{ip("127.0.100.1")}, gatewayv1.GatewayReasonProgrammed},
		{"no request, nothing yet", nil, nil, gatewayv1.GatewayReasonAddressNotAssigned},
		{"static address assigned", []gatewayv1.GatewaySpecAddress{{Value: "127.0.100.200"}},
			[]gatewayv1.GatewayStatusAddress{ip("127.0.100.200")}, gatewayv1.GatewayReasonProgrammed},
		{"static address not assigned yet", []gatewayv1.GatewaySpecAddress{{Value: "127.0.100.200"}}, nil, gatewayv1.GatewayReasonAddressNotAssigned},
		{"static address left out", []gatewayv1.GatewaySpecAddress{{Value: "127.0.99.1"}, {Value: "127.0.100.200"}},
			[]gatewayv1.GatewayStatusAddress{ip("127.0.100.200")}, gatewayv1.GatewayReasonAddressNotUsable},
		{"empty value, picked by the load balancer", []gatewayv1.GatewaySpecAddress{{Type: ptr.To(gatewayv1.IPAddressType)}},
			[]gatewayv1.GatewayStatusAddress{ip("127.0.100.3")}, gatewayv1.GatewayReasonProgrammed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "infra", Generation: 2},
				Spec: gatewayv1.GatewaySpec{Addresses: tt.spec}}
			res := &GatewayResult{
				Conditions: []metav1.Condition{Condition(gatewayv1.GatewayConditionAccepted, true, gatewayv1.GatewayReasonAccepted, "ok", 2)},
				Listeners:  []gatewayv1.ListenerStatus{{Name: "http"}},
				Served:     map[gatewayv1.SectionName]bool{"http": true},
			}
			st := GatewayStatus(gw, res, DataPlane{HasService: true, Pods: 1, Ready: 1, Addresses: tt.assigned})
			programmed := meta.FindStatusCondition(st.Conditions, string(gatewayv1.GatewayConditionProgrammed))
			if programmed == nil || programmed.Reason != string(tt.wantReason) ||
				(programmed.Status == metav1.ConditionTrue) != (tt.wantReason == gatewayv1.GatewayReasonProgrammed) {
				t.Fatalf("Programmed = %+v, want reason %s", programmed, tt.wantReason)
			}
			if len(st.Addresses) != len(tt.assigned) {
				t.Errorf("status.addresses = %v, want what was assigned: %v", st.Addresses, tt.assigned)
			}
			if !meta.IsStatusConditionTrue(st.Listeners[0].Conditions, string(gatewayv1.ListenerConditionProgrammed)) {
				t.Errorf("listener not programmed although its config reached the pods: %+v", st.Listeners[0].Conditions)
			}
		})
	}
}
