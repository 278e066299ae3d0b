package controller

import (
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/features"

	"github.com/khulnasoft/gateway/informers"
)

// BackendTLSPolicy is offered only where the cluster serves the CRD; SAN validation never,
// since Kengine cannot check subject alternative names.
func TestBackendTLSPolicyFeatureFollowsTheServedKind(t *testing.T) {
	for _, served := range []bool{true, false} {
		c := &Controller{informers: &informers.Informers{Served: informers.ServedKinds{informers.KindBackendTLSPolicy: served}}}
		got := map[gatewayv1.FeatureName]bool{}
		for _, f := range c.supportedFeatures() {
			got[f.Name] = true
		}
		if got[gatewayv1.FeatureName(features.SupportBackendTLSPolicy)] != served {
			t.Errorf("served %v: BackendTLSPolicy offered = %v", served, !served)
		}
		if got[gatewayv1.FeatureName(features.SupportBackendTLSPolicySANValidation)] {
			t.Errorf("served %v: BackendTLSPolicySANValidation offered", served)
		}
	}
}
