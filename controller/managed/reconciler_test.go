package managed

import (
	"context"
	"fmt"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/kengine"
)

// reconcilerFixture is a Reconciler over a fake clientset. Its listers read indexers that the
// test refreshes from the clientset (syncCaches), standing in for informers catching up.
type reconcilerFixture struct {
	t    *testing.T
	ctx  context.Context
	kube *kubefake.Clientset
	r    *Reconciler
	// indexers holds one cache per resource the Reconciler lists.
	indexers map[string]cache.Indexer
	// gatewayServices is what Listers.GatewayServices returns.
	gatewayServices []types.NamespacedName
	// built records the TLS settings of every admin client the Reconciler built.
	built []KengineTLS
}

type nopPusher struct{}

func (nopPusher) Push(_ context.Context, eps []kengine.Endpoint, _ []byte, _ string) []kengine.Result {
	return make([]kengine.Result, len(eps))
}

func (nopPusher) Forget(func(kengine.Endpoint) bool) {}

func newReconcilerFixture(t *testing.T, objs ...runtime.Object) *reconcilerFixture {
	t.Helper()
	f := &reconcilerFixture{t: t, ctx: context.Background(), kube: kubefake.NewClientset(objs...), indexers: map[string]cache.Indexer{}}
	stampResourceVersions(f.kube)
	for _, res := range []string{"services", "secrets", "configmaps", "serviceaccounts", "deployments", "daemonsets"} {
		f.indexers[res] = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	pki, err := LoadAdminPKI(f.ctx, kubefake.NewClientset(), AdminPKIOptions{Namespace: "sys", Name: "ca"})
	if err != nil {
		t.Fatal(err)
	}
	f.r = NewReconciler(f.kube, Listers{
		Services:        corelisters.NewServiceLister(f.indexers["services"]),
		Secrets:         corelisters.NewSecretLister(f.indexers["secrets"]),
		ConfigMaps:      corelisters.NewConfigMapLister(f.indexers["configmaps"]),
		ServiceAccounts: corelisters.NewServiceAccountLister(f.indexers["serviceaccounts"]),
		Deployments:     appslisters.NewDeploymentLister(f.indexers["deployments"]),
		DaemonSets:      appslisters.NewDaemonSetLister(f.indexers["daemonsets"]),
		GatewayServices: func(types.NamespacedName) ([]types.NamespacedName, error) { return f.gatewayServices, nil },
	}, Options{
		Enabled: true, Image: "kengine:test", AdminPort: 2021, HealthPort: testHealthPort, ReadyPath: testReadyPath, PKI: pki,
		NewPusher: func(tlsConfig *KengineTLS) (kengine.Pusher, error) {
			f.built = append(f.built, *tlsConfig)
			return nopPusher{}, nil
		},
	})
	f.syncCaches()
	return f
}

// stampResourceVersions gives every object the fake clientset writes a new resourceVersion,
// as the API server does; the tracker alone leaves it empty, and the Reconciler compares it.
func stampResourceVersions(kube *kubefake.Clientset) {
	var mu sync.Mutex
	rv := 0
	tracker := kube.Tracker()
	kube.PrependReactor("*", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if v := a.GetVerb(); v != "create" && v != "update" && v != "patch" {
			return false, nil, nil
		}
		handled, obj, err := clienttesting.ObjectReaction(tracker)(a)
		if err != nil || obj == nil {
			return handled, obj, err
		}
		acc, err := meta.Accessor(obj)
		if err != nil {
			return true, obj, nil
		}
		mu.Lock()
		rv++
		acc.SetResourceVersion(fmt.Sprint(rv))
		mu.Unlock()
		return true, obj, tracker.Update(a.GetResource(), obj, acc.GetNamespace())
	})
}

// syncCaches makes every indexer hold what the clientset holds.
func (f *reconcilerFixture) syncCaches() {
	f.t.Helper()
	ctx, core, apps := f.ctx, f.kube.CoreV1(), f.kube.AppsV1()
	lists := map[string]func() (runtime.Object, error){
		"services":        func() (runtime.Object, error) { return core.Services("").List(ctx, metav1.ListOptions{}) },
		"secrets":         func() (runtime.Object, error) { return core.Secrets("").List(ctx, metav1.ListOptions{}) },
		"configmaps":      func() (runtime.Object, error) { return core.ConfigMaps("").List(ctx, metav1.ListOptions{}) },
		"serviceaccounts": func() (runtime.Object, error) { return core.ServiceAccounts("").List(ctx, metav1.ListOptions{}) },
		"deployments":     func() (runtime.Object, error) { return apps.Deployments("").List(ctx, metav1.ListOptions{}) },
		"daemonsets":      func() (runtime.Object, error) { return apps.DaemonSets("").List(ctx, metav1.ListOptions{}) },
	}
	for res, list := range lists {
		l, err := list()
		if err != nil {
			f.t.Fatal(err)
		}
		items, err := meta.ExtractList(l)
		if err != nil {
			f.t.Fatal(err)
		}
		objs := make([]any, len(items))
		for i := range items {
			objs[i] = items[i]
		}
		if err := f.indexers[res].Replace(objs, ""); err != nil {
			f.t.Fatal(err)
		}
	}
	f.kube.ClearActions()
}

// writes counts the apply patches and deletes sent since the last syncCaches, by
// "verb resource".
func (f *reconcilerFixture) writes() map[string]int {
	out := map[string]int{}
	for _, a := range f.kube.Actions() {
		switch a := a.(type) {
		case clienttesting.PatchAction:
			if a.GetPatchType() == types.ApplyPatchType {
				out["apply "+a.GetResource().Resource]++
			}
		case clienttesting.DeleteAction:
			out["delete "+a.GetResource().Resource]++
		}
	}
	return out
}

func (f *reconcilerFixture) reconcile(gw *gatewayv1.Gateway, kind string) Access {
	f.t.Helper()
	params := Parameters{image: "kengine:test", replicas: 1, serviceType: corev1.ServiceTypeLoadBalancer, kind: kind}
	access, err := f.r.Reconcile(f.ctx, gw, &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "kengine"}}, params)
	if err != nil {
		f.t.Fatal(err)
	}
	return access
}

func equalCounts(got map[string]int, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if got[w] != 1 {
			return false
		}
	}
	return true
}

func TestReconcileAppliesOnlyWhatChanged(t *testing.T) {
	gw := managedGateway()
	f := newReconcilerFixture(t)
	access := f.reconcile(gw, "Deployment")
	if got := f.writes(); !equalCounts(got, "apply secrets", "apply serviceaccounts", "apply deployments", "apply services") {
		t.Errorf("first reconcile wrote %v, want one apply of each generated object", got)
	}
	if access.Admin == nil || !access.Admin.Disabled || access.Admin.Remote == nil || access.Admin.Remote.Listen != ":2021" {
		t.Errorf("admin = %+v, want the mutual-TLS endpoint only", access.Admin)
	}
	if access.PKI == nil || access.PKI.CertificateAuthorities[adminCAName] == nil || access.Pusher == nil {
		t.Errorf("access = %+v, want the pki app of the admin identity and a client", access)
	}
	want := KengineTLS{Identity: AdminIdentity("infra", "gw"), Port: 2021}
	if len(f.built) != 1 || f.built[0] != want {
		t.Errorf("built clients %+v, want one with %+v", f.built, want)
	}
	sec, err := f.kube.CoreV1().Secrets("infra").Get(f.ctx, "gw-kengine-admin", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Once the caches show what was applied, nothing is written and the client is reused.
	f.syncCaches()
	f.reconcile(gw, "Deployment")
	if got := f.writes(); len(got) != 0 {
		t.Errorf("an unchanged Gateway wrote %v", got)
	}
	if len(f.built) != 1 {
		t.Errorf("built %d clients, want the first one reused", len(f.built))
	}
	again, err := f.kube.CoreV1().Secrets("infra").Get(f.ctx, "gw-kengine-admin", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Data["intermediate.crt"]) != string(sec.Data["intermediate.crt"]) {
		t.Error("a valid intermediate must be kept")
	}

	// Another writer's edit is reverted.
	dep, err := f.kube.AppsV1().Deployments("infra").Get(f.ctx, "gw-kengine", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep = dep.DeepCopy()
	dep.Spec.Replicas = ptr.To(int32(7))
	if _, err := f.kube.AppsV1().Deployments("infra").Update(f.ctx, dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.syncCaches()
	f.reconcile(gw, "Deployment")
	if got := f.writes(); !equalCounts(got, "apply deployments") {
		t.Errorf("after a hand edit wrote %v, want the Deployment applied again", got)
	}

	// A forgotten Gateway starts over: every object is applied and a new client built.
	f.syncCaches()
	f.r.Forget(types.NamespacedName{Namespace: "infra", Name: "gw"})
	f.reconcile(gw, "Deployment")
	if got := f.writes(); len(got) != 4 || len(f.built) != 2 {
		t.Errorf("after Forget wrote %v and built %d clients, want 4 applies and a second client", got, len(f.built))
	}
}

// Switching kind replaces the workload: the one of the other kind is deleted, but only if the
// Gateway controls it.
func TestReconcileSwitchesKind(t *testing.T) {
	gw := managedGateway()
	f := newReconcilerFixture(t)
	f.reconcile(gw, "Deployment")
	f.syncCaches()
	f.reconcile(gw, "DaemonSet")
	if got := f.writes(); !equalCounts(got, "apply daemonsets", "delete deployments") {
		t.Errorf("switching to a DaemonSet wrote %v, want the DaemonSet applied and the Deployment deleted", got)
	}

	other := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw-kengine"}}
	if _, err := f.kube.AppsV1().Deployments("infra").Create(f.ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.syncCaches()
	f.reconcile(gw, "DaemonSet")
	if got := f.writes(); got["delete deployments"] != 0 {
		t.Errorf("a Deployment the Gateway does not control was deleted: %v", got)
	}
}

func TestBringsOwnKengine(t *testing.T) {
	gw := managedGateway()
	owned := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw-kengine", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: gatewayv1.GroupVersion.String(), Kind: "Gateway", Name: "gw", UID: gw.UID, Controller: ptr.To(true),
	}}}}
	users := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "my-kengine"}}
	f := newReconcilerFixture(t, owned, users)
	for _, tt := range []struct {
		name     string
		services []types.NamespacedName
		want     bool
	}{
		{"no labelled Service", nil, false},
		{"only the generated Service", []types.NamespacedName{{Namespace: "infra", Name: "gw-kengine"}}, false},
		{"a Service of the user's", []types.NamespacedName{{Namespace: "infra", Name: "gw-kengine"}, {Namespace: "infra", Name: "my-kengine"}}, true},
		{"a labelled Service not in the cache", []types.NamespacedName{{Namespace: "infra", Name: "gone"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f.gatewayServices = tt.services
			got, err := f.r.BringsOwnKengine(gw)
			if err != nil || got != tt.want {
				t.Errorf("BringsOwnKengine = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// ReconcileAdmin writes only the admin Secret: bring-your-own pods mount it.
func TestReconcileAdminWritesOnlyTheSecret(t *testing.T) {
	f := newReconcilerFixture(t)
	access, err := f.r.ReconcileAdmin(f.ctx, managedGateway(), &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "kengine"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.writes(); !equalCounts(got, "apply secrets") {
		t.Errorf("wrote %v, want the admin Secret only", got)
	}
	if access.Admin == nil || access.PKI == nil || access.Pusher == nil {
		t.Errorf("access = %+v, want admin, pki and client", access)
	}
}
