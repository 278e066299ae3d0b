package status

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestGatewayProgrammed walks the Programmed condition through the data plane's states: it is
// True only when every pod runs the config, one of them receives traffic, and the Gateway has
// an address.
func TestGatewayProgrammed(t *testing.T) {
	addr := []gatewayv1.GatewayStatusAddress{{Value: "127.0.100.1"}}
	tests := []struct {
		name       string
		dp         DataPlane
		want       metav1.ConditionStatus
		wantReason gatewayv1.GatewayConditionReason
	}{
		{"no Service", DataPlane{}, metav1.ConditionFalse, gatewayv1.GatewayReasonNoResources},
		{"no pods yet", DataPlane{HasService: true, Addresses: addr}, metav1.ConditionFalse, gatewayv1.GatewayReasonPending},
		{"every pod refused", DataPlane{HasService: true, Addresses: addr, Failed: []string{"p: refused"}, Refused: true}, metav1.ConditionFalse, gatewayv1.GatewayReasonInvalid},
		{"one pod unreachable", DataPlane{HasService: true, Addresses: addr, Pods: 2, Ready: 1, Failed: []string{"p: timeout"}}, metav1.ConditionFalse, gatewayv1.GatewayReasonPending},
		{"programmed but no pod ready", DataPlane{HasService: true, Addresses: addr, Pods: 2}, metav1.ConditionFalse, gatewayv1.GatewayReasonPending},
		{"no address", DataPlane{HasService: true, Pods: 1, Ready: 1}, metav1.ConditionFalse, gatewayv1.GatewayReasonAddressNotAssigned},
		{"served", DataPlane{HasService: true, Addresses: addr, Pods: 2, Ready: 1}, metav1.ConditionTrue, gatewayv1.GatewayReasonProgrammed},
	}
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw", Generation: 2}}
	res := &GatewayResult{Conditions: []metav1.Condition{Condition(gatewayv1.GatewayConditionAccepted, true, gatewayv1.GatewayReasonAccepted, "", 2)}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := GatewayStatus(gw, res, tt.dp)
			c := meta.FindStatusCondition(st.Conditions, string(gatewayv1.GatewayConditionProgrammed))
			if c == nil || c.Status != tt.want || c.Reason != string(tt.wantReason) || c.ObservedGeneration != 2 {
				t.Errorf("Programmed = %+v, want %s/%s", c, tt.want, tt.wantReason)
			}
		})
	}
}
