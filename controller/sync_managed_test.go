package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/addresses"
	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/managed"
	"github.com/khulnasoft/gateway/informers"
	"github.com/khulnasoft/gateway/kengine"
)

// These tests drive the managed path through syncGateway; the generated objects, parameters
// and admin PKI have their own tests in controller/managed.

// managedFixture is a fixture whose controller runs managed Kengine with a real admin PKI.
func managedFixture(t *testing.T, kubeObjs []runtime.Object, gwObjs []runtime.Object) *fixture {
	t.Helper()
	f := newFixtureWith(t, kubeObjs, gwObjs, func(f *fixture, o *Options) {
		pki, err := managed.LoadAdminPKI(context.Background(), f.kube, managed.AdminPKIOptions{Namespace: "kengine-gateway-system", Name: "ca", Now: func() time.Time { return testobj.Time }})
		if err != nil {
			t.Fatal(err)
		}
		o.Managed = managed.Options{Enabled: true, Image: "kengine:test", AdminPort: 2021, PKI: pki,
			NewPusher: func(*managed.KengineTLS) (Pusher, error) { return f.pusher, nil }}
	})
	return f
}

func applyActions(f *fixture) map[string]int {
	out := map[string]int{}
	for _, a := range f.kube.Actions() {
		if p, ok := a.(clienttesting.PatchAction); ok && p.GetPatchType() == types.ApplyPatchType {
			out[a.GetResource().Resource]++
		}
	}
	return out
}

func TestSyncManagedGatewayCreatesKengineAndKeepsItInShape(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	gw.UID = "gw-uid"
	f := managedFixture(t, nil, []runtime.Object{testobj.Class(), gw})
	f.kube.ClearActions()
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	got := applyActions(f)
	for _, r := range []string{"secrets", "serviceaccounts", "deployments", "services"} {
		if got[r] != 1 {
			t.Errorf("applied %s %d times, want 1 (all: %v)", r, got[r], got)
		}
	}
	dep, err := f.kube.AppsV1().Deployments("infra").Get(f.ctx, "gw-kengine", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(dep, gw) || dep.Labels[informers.GatewayNameLabel] != "gw" {
		t.Errorf("deployment not owned or not labelled: %+v", dep.ObjectMeta)
	}
	sec, err := f.kube.CoreV1().Secrets("infra").Get(f.ctx, "gw-kengine-admin", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var boot kengine.Config
	if err := json.Unmarshal(sec.Data["bootstrap.json"], &boot); err != nil {
		t.Fatal(err)
	}
	if boot.Admin == nil || boot.Admin.Remote == nil || !boot.Admin.Disabled || boot.Admin.Listen != "" {
		t.Errorf("bootstrap lacks the remote admin or keeps a plain one: %s", sec.Data["bootstrap.json"])
	}
	if got, want := boot.Admin.Remote.AccessControl[0].Permissions, kengine.ControllerPermissions(); !reflect.DeepEqual(got, want) {
		t.Errorf("admin ACL = %+v, want exactly what the controller uses %+v", got, want)
	}
	if len(sec.Data["intermediate.key"]) == 0 || bytes.Contains(sec.Data["root.crt"], []byte("PRIVATE KEY")) {
		t.Errorf("admin Secret must carry the intermediate key and never the root key")
	}

	// Once the caches show what was applied, a sync applies nothing.
	waitFor(t, func() bool { return cachesCurrent(f, "infra", "gw-kengine") })
	f.kube.ClearActions()
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if got := applyActions(f); len(got) != 0 {
		t.Errorf("unchanged objects were applied again: %v", got)
	}

	// A hand edit is reverted.
	edited := dep.DeepCopy()
	edited.Spec.Replicas = ptr.To(int32(7))
	edited, err = f.kube.AppsV1().Deployments("infra").Update(f.ctx, edited, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		d, err := f.ctrl.informers.Managed.Deployments.Deployments("infra").Get("gw-kengine")
		return err == nil && d.ResourceVersion == edited.ResourceVersion
	})
	f.kube.ClearActions()
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if got := applyActions(f); got["deployments"] != 1 {
		t.Errorf("a hand-edited Deployment must be applied again, got %v", got)
	}
	dep, _ = f.kube.AppsV1().Deployments("infra").Get(f.ctx, "gw-kengine", metav1.GetOptions{})
	if *dep.Spec.Replicas != 1 {
		t.Errorf("replicas = %d after the revert, want 1", *dep.Spec.Replicas)
	}
}

func TestSyncManagedGatewayWithInvalidParameters(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	gw.Spec.Infrastructure = &gatewayv1.GatewayInfrastructure{ParametersRef: &gatewayv1.LocalParametersReference{Kind: "ConfigMap", Name: "params"}}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "params"}, Data: map[string]string{"replicas": "many"}}
	f := managedFixture(t, []runtime.Object{cm}, []runtime.Object{testobj.Class(), gw})
	rec := &objectRecorder{}
	f.ctrl.events = newEventReporter(rec, time.Now)
	f.kube.ClearActions()
	for range 2 {
		if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
			t.Fatal(err)
		}
	}
	if got := applyActions(f); len(got) != 0 {
		t.Errorf("objects were created for invalid parameters: %v", got)
	}
	if len(rec.events) != 1 || rec.events[0].reason != EventInvalidParameters || rec.events[0].eventType != "Warning" ||
		rec.events[0].object != "Gateway infra/gw" || !strings.Contains(rec.events[0].message, "replicas") {
		t.Errorf("events %+v, want one InvalidParameters Warning on the Gateway naming the bad key", rec.events)
	}
	st := f.statusUpdates("gateways")[0].(*gatewayv1.Gateway).Status
	if c := meta.FindStatusCondition(st.Conditions, "Accepted"); c == nil || c.Reason != "InvalidParameters" || c.Status != metav1.ConditionFalse {
		t.Errorf("Accepted = %+v, want False/InvalidParameters", c)
	}
}

func TestSyncGatewayWithItsOwnKengineIsNotManaged(t *testing.T) {
	kube, gw := basicObjects()
	f := managedFixture(t, kube, gw)
	f.kube.ClearActions()
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if got := applyActions(f); len(got) != 0 {
		t.Errorf("a Gateway with a bring-your-own Service got generated objects: %v", got)
	}
	if len(f.pusher.pushes) != 1 {
		t.Errorf("pushes = %d, want 1", len(f.pusher.pushes))
	}
}

// cachesCurrent reports whether the informer caches hold the latest version of every
// generated object.
func cachesCurrent(f *fixture, ns, name string) bool {
	ctx := f.ctx
	inf := f.ctrl.informers
	d, err1 := f.kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	sa, err2 := f.kube.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	svc, err3 := f.kube.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	sec, err4 := f.kube.CoreV1().Secrets(ns).Get(ctx, name+"-admin", metav1.GetOptions{})
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return false
	}
	cd, err1 := inf.Managed.Deployments.Deployments(ns).Get(name)
	csa, err2 := inf.Managed.ServiceAccounts.ServiceAccounts(ns).Get(name)
	csvc, err3 := inf.Services.Services(ns).Get(name)
	csec, err4 := inf.Secrets.Secrets(ns).Get(name + "-admin")
	return err1 == nil && err2 == nil && err3 == nil && err4 == nil &&
		cd.ResourceVersion == d.ResourceVersion && csa.ResourceVersion == sa.ResourceVersion &&
		csvc.ResourceVersion == svc.ResourceVersion && csec.ResourceVersion == sec.ResourceVersion
}

// Bring-your-own Kengine with no admin flags gets the controller's own mutual TLS: the admin
// Secret for the user's pods, and the managed admin block in every push.
func TestSyncBringYourOwnKengineGetsControllerIssuedCredentials(t *testing.T) {
	kube, gw := basicObjects()
	f := managedFixture(t, kube, gw)
	f.ctrl.pusher = nil // no --kengine-admin-config, no --kengine-admin-insecure
	f.kube.ClearActions()
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if got := applyActions(f); got["secrets"] != 1 || got["deployments"] != 0 || got["services"] != 0 {
		t.Errorf("applied %v, want only the admin Secret", got)
	}
	if len(f.pusher.pushes) != 1 || !strings.Contains(string(f.pusher.pushes[0].config), `"remote"`) {
		t.Fatalf("the push must go through the mutual-TLS client with the remote admin block")
	}
}

// A managed Gateway's static addresses are asked of the Service's load balancer; one it left
// out makes Programmed False with AddressNotUsable, and once the Gateway asks only for what the
// load balancer gave, it is programmed with exactly that address (the steps of the conformance
// test GatewayStaticAddresses).
func TestSyncManagedGatewayStaticAddresses(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	gw.UID = "gw-uid"
	gw.Spec.Addresses = []gatewayv1.GatewaySpecAddress{{Value: "127.0.99.1"}, {Type: ptr.To(gatewayv1.IPAddressType), Value: "127.0.100.200"}}
	f := managedFixture(t, nil, []runtime.Object{testobj.Class(), gw})
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	svc, err := f.kube.CoreV1().Services("infra").Get(f.ctx, "gw-kengine", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Annotations[addresses.ServiceAnnotation]; got != "127.0.99.1,127.0.100.200" || svc.Spec.LoadBalancerIP != "" {
		t.Errorf("Service asks for %q (loadBalancerIP %q), want both addresses in the annotation and no single loadBalancerIP",
			got, svc.Spec.LoadBalancerIP)
	}

	// The load balancer gives one of the two; the pods come up.
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "127.0.100.200"}}
	if _, err := f.kube.CoreV1().Services("infra").UpdateStatus(f.ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "infra", Name: "gw-kengine-x", Labels: map[string]string{discoveryv1.LabelServiceName: "gw-kengine"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.10"},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "infra", Name: "kengine-a", UID: "uid-a"}}},
	}
	if _, err := f.kube.DiscoveryV1().EndpointSlices("infra").Create(f.ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		s, err := f.ctrl.informers.Services.Services("infra").Get("gw-kengine")
		_, serr := f.ctrl.informers.EndpointSlices.EndpointSlices("infra").Get("gw-kengine-x")
		return err == nil && serr == nil && len(s.Status.LoadBalancer.Ingress) == 1
	})
	f.gateway.ClearActions()
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	st := lastGatewayStatus(t, f)
	if c := meta.FindStatusCondition(st.Conditions, "Programmed"); c == nil || c.Status != metav1.ConditionFalse ||
		c.Reason != string(gatewayv1.GatewayReasonAddressNotUsable) || !strings.Contains(c.Message, "127.0.99.1") {
		t.Errorf("Programmed = %+v, want False/AddressNotUsable naming 127.0.99.1", c)
	}
	if c := meta.FindStatusCondition(st.Conditions, "Accepted"); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Accepted = %+v, want True", c)
	}

	// The Gateway drops the address the load balancer cannot give.
	gw = gw.DeepCopy()
	gw.Generation++
	gw.Spec.Addresses = gw.Spec.Addresses[1:]
	if err := f.gateway.Tracker().Update(gatewayv1.SchemeGroupVersion.WithResource("gateways"), gw, "infra"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		g, err := f.ctrl.informers.Gateways.Gateways("infra").Get("gw")
		return err == nil && g.Generation == gw.Generation
	})
	f.gateway.ClearActions()
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	svc, err = f.kube.CoreV1().Services("infra").Get(f.ctx, "gw-kengine", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Annotations[addresses.ServiceAnnotation]; got != "127.0.100.200" || svc.Spec.LoadBalancerIP != "127.0.100.200" {
		t.Errorf("Service asks for %q (loadBalancerIP %q), want 127.0.100.200 in both", got, svc.Spec.LoadBalancerIP)
	}
	st = lastGatewayStatus(t, f)
	if c := meta.FindStatusCondition(st.Conditions, "Programmed"); c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != gw.Generation {
		t.Errorf("Programmed = %+v, want True for generation %d", c, gw.Generation)
	}
	if len(st.Addresses) != 1 || st.Addresses[0].Value != "127.0.100.200" || st.Addresses[0].Type == nil || *st.Addresses[0].Type != gatewayv1.IPAddressType {
		t.Errorf("status.addresses = %+v, want exactly IPAddress 127.0.100.200", st.Addresses)
	}
}

// An address type the controller cannot ask a load balancer for leaves the Gateway unaccepted
// (UnsupportedAddress) and creates nothing.
func TestSyncManagedGatewayUnsupportedAddressType(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	gw.Spec.Addresses = []gatewayv1.GatewaySpecAddress{
		{Type: ptr.To(gatewayv1.AddressType("test/fake-invalid-type")), Value: "fake address teehee!"},
		{Value: "127.0.100.200"},
	}
	f := managedFixture(t, nil, []runtime.Object{testobj.Class(), gw})
	f.kube.ClearActions()
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if got := applyActions(f); len(got) != 0 {
		t.Errorf("objects were created for a Gateway that is not accepted: %v", got)
	}
	st := lastGatewayStatus(t, f)
	if c := meta.FindStatusCondition(st.Conditions, "Accepted"); c == nil || c.Status != metav1.ConditionFalse || c.Reason != string(gatewayv1.GatewayReasonUnsupportedAddress) {
		t.Errorf("Accepted = %+v, want False/UnsupportedAddress", c)
	}
}

// lastGatewayStatus is the last Gateway status the controller wrote.
func lastGatewayStatus(t *testing.T, f *fixture) gatewayv1.GatewayStatus {
	t.Helper()
	gws := f.statusUpdates("gateways")
	if len(gws) == 0 {
		t.Fatal("no Gateway status written")
	}
	return gws[len(gws)-1].(*gatewayv1.Gateway).Status
}

// Bring-your-own Kengine: the controller does not touch the user's Service, and the Gateway is
// programmed only when that Service's load balancer gave the addresses spec.addresses names.
func TestSyncBringYourOwnKengineChecksStaticAddresses(t *testing.T) {
	for _, tt := range []struct {
		requested  string
		wantReason gatewayv1.GatewayConditionReason
	}{
		{"127.0.100.1", gatewayv1.GatewayReasonProgrammed},
		{"127.0.100.9", gatewayv1.GatewayReasonAddressNotUsable},
	} {
		t.Run(tt.requested, func(t *testing.T) {
			kube, gwObjs := basicObjects()
			gwObjs[1].(*gatewayv1.Gateway).Spec.Addresses = []gatewayv1.GatewaySpecAddress{{Value: tt.requested}}
			f := managedFixture(t, kube, gwObjs)
			f.kube.ClearActions()
			if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
				t.Fatal(err)
			}
			if got := applyActions(f); len(got) != 0 {
				t.Errorf("the user's Kengine got generated objects: %v", got)
			}
			st := lastGatewayStatus(t, f)
			if c := meta.FindStatusCondition(st.Conditions, "Programmed"); c == nil || c.Reason != string(tt.wantReason) {
				t.Errorf("Programmed = %+v, want reason %s", c, tt.wantReason)
			}
			if len(st.Addresses) != 1 || st.Addresses[0].Value != "127.0.100.1" {
				t.Errorf("status.addresses = %+v, want what the Service got", st.Addresses)
			}
		})
	}
}
