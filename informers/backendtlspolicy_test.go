package informers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func gatewayGVR(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: gatewayv1.GroupName, Version: "v1", Resource: resource}
}

func backendTLSPolicy(ns, name, rv, service string, caConfigMaps ...string) *gatewayv1.BackendTLSPolicy {
	p := &gatewayv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: rv}}
	p.Spec.TargetRefs = []gatewayv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{Kind: "Service", Name: gatewayv1.ObjectName(service)}}}
	p.Spec.Validation.Hostname = "backend.example.com"
	for _, cm := range caConfigMaps {
		p.Spec.Validation.CACertificateRefs = append(p.Spec.Validation.CACertificateRefs, gatewayv1.LocalObjectReference{Kind: "ConfigMap", Name: gatewayv1.ObjectName(cm)})
	}
	return p
}

// A change to a BackendTLSPolicy, or to a CA ConfigMap it references, resyncs exactly the
// Gateways whose routes use the targeted Service (and those the policy's status still lists).
// The seed never watched policies, so a policy change reached no Gateway: this proves every
// kind of policy event does.
func TestBackendTLSPolicyEventsMapToAffectedGateways(t *testing.T) {
	e := newEnv(t)
	if err := e.gw.Tracker().Create(gatewayGVR("httproutes"), route("apps", "a", []string{"gw"}, "secure"), "apps"); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.Tracker().Create(gatewayGVR("httproutes"), route("apps", "b", []string{"gw2"}, "other"), "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw", "infra/gw2")

	// Created: the Gateway of the route using the targeted Service, and only it.
	p := backendTLSPolicy("apps", "p", "1", "secure", "ca")
	if err := e.gw.Tracker().Create(gatewayGVR("backendtlspolicies"), p, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")

	// Edited (the seed's bug: nothing was enqueued).
	edited := p.DeepCopy()
	edited.ResourceVersion = "2"
	edited.Spec.Validation.Hostname = "other.example.com"
	if err := e.gw.Tracker().Update(gatewayGVR("backendtlspolicies"), edited, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")

	// The referenced CA ConfigMap: created, edited; an unrelated one reaches nobody.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "ca", ResourceVersion: "1"}, Data: map[string]string{"ca.crt": "x"}}
	if err := e.kube.Tracker().Create(corev1.SchemeGroupVersion.WithResource("configmaps"), cm, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")
	cm2 := cm.DeepCopy()
	cm2.ResourceVersion = "2"
	cm2.Data["ca.crt"] = "y"
	if err := e.kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("configmaps"), cm2, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "unrelated", ResourceVersion: "1"}}
	if err := e.kube.Tracker().Create(corev1.SchemeGroupVersion.WithResource("configmaps"), other, "apps"); err != nil {
		t.Fatal(err)
	}
	// A ConfigMap of the same name in another namespace is not the policy's.
	elsewhere := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "ca", ResourceVersion: "1"}}
	if err := e.kube.Tracker().Create(corev1.SchemeGroupVersion.WithResource("configmaps"), elsewhere, "infra"); err != nil {
		t.Fatal(err)
	}
	e.expect()

	// Retargeted: the Gateways of the old and the new Service.
	moved := edited.DeepCopy()
	moved.ResourceVersion = "3"
	moved.Spec.TargetRefs[0].Name = "other"
	if err := e.gw.Tracker().Update(gatewayGVR("backendtlspolicies"), moved, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw", "infra/gw2")
	// Now the ConfigMap reaches the new Service's Gateway only.
	cm3 := cm2.DeepCopy()
	cm3.ResourceVersion = "3"
	if err := e.kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("configmaps"), cm3, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw2")

	// A Gateway the status still lists as an ancestor resyncs too, to drop its entry, and
	// stays found by the look-up.
	stale := moved.DeepCopy()
	stale.ResourceVersion = "4"
	stale.Status.Ancestors = []gatewayv1.PolicyAncestorStatus{{AncestorRef: gatewayv1.ParentReference{Namespace: ptr.To(gatewayv1.Namespace("infra")), Name: "gw"}}}
	if err := e.gw.Tracker().Update(gatewayGVR("backendtlspolicies"), stale, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw", "infra/gw2")
	e.waitFor(func() bool {
		ps, err := e.inf.BackendTLSPoliciesFor(types.NamespacedName{Namespace: "infra", Name: "gw"}, nil)
		return err == nil && len(ps) == 1 && ps[0].ResourceVersion == "4"
	})
	ps, err := e.inf.BackendTLSPoliciesFor(types.NamespacedName{Namespace: "infra", Name: "gw2"}, []types.NamespacedName{{Namespace: "apps", Name: "other"}, {Namespace: "apps", Name: "secure"}})
	if err != nil || len(ps) != 1 || ps[0].Name != "p" {
		t.Fatalf("BackendTLSPoliciesFor(gw2, other, secure) = %v, %v; want policy p once", ps, err)
	}

	// A resync (same resourceVersion) reaches nobody; deletion reaches them all.
	if err := e.gw.Tracker().Update(gatewayGVR("backendtlspolicies"), stale, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect()
	if err := e.gw.Tracker().Delete(gatewayGVR("backendtlspolicies"), "apps", "p"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw", "infra/gw2")
}

// Without the CRD, no policy informer runs, and the look-up finds nothing.
func TestBackendTLSPolicyNotServed(t *testing.T) {
	inf, err := New(nil, nil, ServedKinds{KindGatewayClass: true, KindGateway: true, KindHTTPRoute: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if inf.BackendTLSPolicies != nil {
		t.Error("BackendTLSPolicies lister is set without the CRD")
	}
	ps, err := inf.BackendTLSPoliciesFor(types.NamespacedName{Namespace: "infra", Name: "gw"}, []types.NamespacedName{{Namespace: "apps", Name: "svc"}})
	if err != nil || ps != nil {
		t.Errorf("BackendTLSPoliciesFor = %v, %v; want nothing", ps, err)
	}
}
