package controller

import (
	"crypto/x509"
	"math/big"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/features"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
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

// caBundle returns a fresh self-signed CA certificate in PEM.
func caBundle(t *testing.T) string {
	t.Helper()
	s := testobj.SelfSignedSecret(t, "x", "x", &x509.Certificate{
		SerialNumber: big.NewInt(1), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	})
	return string(s.Data[corev1.TLSCertKey])
}

func webPolicy() *gatewayv1.BackendTLSPolicy {
	p := &gatewayv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "web-tls", Generation: 2}}
	p.Spec.TargetRefs = []gatewayv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{Kind: "Service", Name: "web"}}}
	p.Spec.Validation.Hostname = "web.example.com"
	p.Spec.Validation.CACertificateRefs = []gatewayv1.LocalObjectReference{{Kind: "ConfigMap", Name: "web-ca"}}
	return p
}

// A sync reads the policy targeting a backend Service and its CA ConfigMap from the caches,
// pushes a config that speaks verified TLS to the backend, and writes the Gateway's entry in
// the policy's status; without the ConfigMap, the backend answers 500 and the policy says why.
func TestSyncGatewayAppliesBackendTLSPolicy(t *testing.T) {
	ca := caBundle(t)
	for _, withCA := range []bool{true, false} {
		t.Run(map[bool]string{true: "CA present", false: "CA missing"}[withCA], func(t *testing.T) {
			kube, gw := basicObjects()
			if withCA {
				kube = append(kube, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "web-ca"}, Data: map[string]string{"ca.crt": ca}})
			}
			gw = append(gw, webPolicy())
			f := newFixture(t, kube, gw)
			if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
				t.Fatal(err)
			}
			if len(f.pusher.pushes) != 1 {
				t.Fatalf("pushes = %d, want 1", len(f.pusher.pushes))
			}
			cfg := string(f.pusher.pushes[0].config)
			if got := strings.Contains(cfg, `"server_name":"web.example.com"`); got != withCA {
				t.Errorf("config has TLS to web.example.com = %v, want %v", got, withCA)
			}
			if !withCA && strings.Contains(cfg, `"dial":"10.0.0.1:8080"`) {
				t.Error("the backend is dialled although its policy has no valid CA")
			}
			ups := f.statusUpdates("backendtlspolicies")
			if len(ups) != 1 {
				t.Fatalf("policy status updates = %d, want 1", len(ups))
			}
			anc := ups[0].(*gatewayv1.BackendTLSPolicy).Status.Ancestors
			if len(anc) != 1 || anc[0].AncestorRef.Name != "gw" || string(anc[0].ControllerName) != testobj.ControllerName {
				t.Fatalf("ancestors = %+v", anc)
			}
			accepted := meta.FindStatusCondition(anc[0].Conditions, string(gatewayv1.PolicyConditionAccepted))
			resolved := meta.FindStatusCondition(anc[0].Conditions, string(gatewayv1.BackendTLSPolicyConditionResolvedRefs))
			wantAccepted, wantResolved := "Accepted", "ResolvedRefs"
			if !withCA {
				wantAccepted, wantResolved = "NoValidCACertificate", "InvalidCACertificateRef"
			}
			if accepted.Reason != wantAccepted || resolved.Reason != wantResolved || accepted.ObservedGeneration != 2 {
				t.Errorf("conditions = %+v, want %s and %s at generation 2", anc[0].Conditions, wantAccepted, wantResolved)
			}
		})
	}
}

// When the Gateway goes away, its entry leaves the policies that list it.
func TestSyncClearsPolicyStatusOfAGoneGateway(t *testing.T) {
	kube, gw := basicObjects()
	p := webPolicy()
	group, kind, ns := gatewayv1.Group(gatewayv1.GroupName), gatewayv1.Kind("Gateway"), gatewayv1.Namespace("infra")
	p.Status.Ancestors = []gatewayv1.PolicyAncestorStatus{{
		AncestorRef:    gatewayv1.ParentReference{Group: &group, Kind: &kind, Namespace: &ns, Name: "gw"},
		ControllerName: testobj.ControllerName,
		Conditions:     []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.NewTime(testobj.Time)}},
	}}
	f := newFixture(t, kube, []runtime.Object{gw[0], gw[2], p})
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	ups := f.statusUpdates("backendtlspolicies")
	if len(ups) != 1 || len(ups[0].(*gatewayv1.BackendTLSPolicy).Status.Ancestors) != 0 {
		t.Fatalf("policy status updates = %+v, want one removing the Gateway's entry", ups)
	}
}
