package informers

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"
)

// recorder is an Enqueuer that remembers every key.
type recorder struct {
	mu       sync.Mutex
	gateways map[string]bool
	classes  map[string]bool
}

func (r *recorder) EnqueueGateway(k types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gateways[k.String()] = true
}

func (r *recorder) EnqueueGatewayClass(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.classes[name] = true
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gateways, r.classes = map[string]bool{}, map[string]bool{}
}

func (r *recorder) gatewayKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k := range r.gateways {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type env struct {
	t    *testing.T
	kube *kubefake.Clientset
	gw   *gatewayfake.Clientset
	rec  *recorder
	ctx  context.Context
	inf  *Informers
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, kube: kubefake.NewClientset(), gw: gatewayfake.NewSimpleClientset(), rec: &recorder{}}
	e.rec.reset()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.ctx = ctx
	inf, err := New(e.kube, e.gw, ServedKinds{KindGatewayClass: true, KindGateway: true, KindHTTPRoute: true, KindGRPCRoute: true,
		KindTLSRoute: true, KindTCPRoute: true, KindUDPRoute: true, KindReferenceGrant: true, KindBackendTLSPolicy: true, KindListenerSet: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := inf.AddEventHandlers(e.rec); err != nil {
		t.Fatal(err)
	}
	inf.Start(ctx.Done())
	e.waitFor(inf.HasSynced)
	e.inf = inf
	return e
}

func (e *env) waitFor(cond func() bool) {
	e.t.Helper()
	if err := wait.PollUntilContextTimeout(e.ctx, 2*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		e.t.Fatal("condition not met")
	}
}

// expect waits until exactly the given Gateway keys were enqueued since the last reset.
func (e *env) expect(keys ...string) {
	e.t.Helper()
	sort.Strings(keys)
	e.waitFor(func() bool {
		got := e.rec.gatewayKeys()
		if len(got) != len(keys) {
			return false
		}
		for i := range got {
			if got[i] != keys[i] {
				return false
			}
		}
		return true
	})
	// Nothing else may arrive shortly after.
	time.Sleep(20 * time.Millisecond)
	if got := e.rec.gatewayKeys(); len(got) != len(keys) {
		e.t.Fatalf("enqueued %v, want %v", got, keys)
	}
	e.rec.reset()
}

func route(ns, name string, parents []string, backends ...string) *gatewayv1.HTTPRoute {
	r := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, p := range parents {
		r.Spec.ParentRefs = append(r.Spec.ParentRefs, gatewayv1.ParentReference{Namespace: ptr.To(gatewayv1.Namespace("infra")), Name: gatewayv1.ObjectName(p)})
	}
	rule := gatewayv1.HTTPRouteRule{}
	for _, b := range backends {
		rule.BackendRefs = append(rule.BackendRefs, gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(b), Port: ptr.To(gatewayv1.PortNumber(80))}}})
	}
	r.Spec.Rules = []gatewayv1.HTTPRouteRule{rule}
	return r
}

func TestEventsMapToAffectedGateways(t *testing.T) {
	e := newEnv(t)
	gvr := func(r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: gatewayv1.GroupName, Version: "v1", Resource: r}
	}

	// A Gateway enqueues itself; a class enqueues its Gateways.
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"}, Spec: gatewayv1.GatewaySpec{
		GatewayClassName: "kengine",
		Listeners: []gatewayv1.Listener{{Name: "https", Protocol: gatewayv1.HTTPSProtocolType, Port: 443,
			TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "cert"}}}}},
		TLS: &gatewayv1.GatewayTLSConfig{
			Backend: &gatewayv1.GatewayBackendTLS{ClientCertificateRef: &gatewayv1.SecretObjectReference{Name: "client-cert"}},
			Frontend: &gatewayv1.FrontendTLSConfig{
				Default: gatewayv1.TLSConfig{Validation: &gatewayv1.FrontendTLSValidation{CACertificateRefs: []gatewayv1.ObjectReference{{Kind: "ConfigMap", Name: "clients-ca"}}}},
				PerPort: []gatewayv1.TLSPortConfig{{Port: 8443, TLS: gatewayv1.TLSConfig{Validation: &gatewayv1.FrontendTLSValidation{
					CACertificateRefs: []gatewayv1.ObjectReference{{Kind: "ConfigMap", Name: "partners-ca", Namespace: ptr.To(gatewayv1.Namespace("partners"))}}}}}},
			},
		},
	}}
	if err := e.gw.Tracker().Create(gvr("gateways"), gw, "infra"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")
	if err := e.gw.Tracker().Create(gvr("gatewayclasses"), &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "kengine"}}, ""); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")

	// Routes enqueue their parents, old and new.
	r := route("apps", "r", []string{"gw"}, "web")
	if err := e.gw.Tracker().Create(gvr("httproutes"), r, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")
	moved := r.DeepCopy()
	moved.ResourceVersion = "2"
	moved.Spec.ParentRefs[0].Name = "gw2"
	if err := e.gw.Tracker().Update(gvr("httproutes"), moved, "apps"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw", "infra/gw2")

	// A backend Service and its slices enqueue the Gateways of the routes that use it.
	if _, err := e.kube.CoreV1().Services("apps").Create(e.ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw2")
	slice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}}, AddressType: discoveryv1.AddressTypeIPv4}
	if _, err := e.kube.DiscoveryV1().EndpointSlices("apps").Create(e.ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw2")

	// The Kengine Service (labelled with the Gateway name) and its slices enqueue that Gateway.
	kengineSvc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "kengine", Labels: map[string]string{GatewayNameLabel: "gw"}}}
	if _, err := e.kube.CoreV1().Services("infra").Create(e.ctx, kengineSvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")
	kslice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "kengine-1", Labels: map[string]string{discoveryv1.LabelServiceName: "kengine"}}, AddressType: discoveryv1.AddressTypeIPv4}
	if _, err := e.kube.DiscoveryV1().EndpointSlices("infra").Create(e.ctx, kslice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")

	// A certificate Secret enqueues the Gateways that reference it; another Secret nothing.
	if _, err := e.kube.CoreV1().Secrets("infra").Create(e.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "cert"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")
	if _, err := e.kube.CoreV1().Secrets("infra").Create(e.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "unrelated"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect()

	// The backend client certificate Secret and the client validation CA ConfigMaps (default
	// and per port, in any namespace) enqueue the Gateway; another ConfigMap nothing.
	if _, err := e.kube.CoreV1().Secrets("infra").Create(e.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "client-cert"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")
	for _, nn := range [][2]string{{"infra", "clients-ca"}, {"partners", "partners-ca"}} {
		if _, err := e.kube.CoreV1().ConfigMaps(nn[0]).Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: nn[0], Name: nn[1]}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.expect("infra/gw")
	}
	if _, err := e.kube.CoreV1().ConfigMaps("infra").Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "unrelated"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect()

	// A ReferenceGrant enqueues the parents of routes in its "from" namespaces.
	grant := &gatewayv1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: "backends", Name: "g"}, Spec: gatewayv1.ReferenceGrantSpec{
		From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: "apps"}},
		To:   []gatewayv1.ReferenceGrantTo{{Kind: "Service"}},
	}}
	if err := e.gw.Tracker().Create(gvr("referencegrants"), grant, "backends"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw2")

	// Deleting a route enqueues its last parents.
	if err := e.gw.Tracker().Delete(gvr("httproutes"), "apps", "r"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw2")
}

// adminSecret is a Gateway's admin Secret as the controller generates it: named and labelled
// after "<gateway>-<class>", controlled by the Gateway.
func adminSecret(ns, gw, class string, opts ...func(*corev1.Secret)) *corev1.Secret {
	instance := gw + "-" + class
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: instance + AdminSecretSuffix,
			Labels: map[string]string{
				ManagedByLabel: ManagedByValue, GatewayNameLabel: gw,
				"app.kubernetes.io/name": "kengine", InstanceLabel: instance,
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: gatewayv1.GroupVersion.String(), Kind: "Gateway", Name: gw, UID: "gw-uid", Controller: ptr.To(true),
			}},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"intermediate.crt": []byte("cert"), "intermediate.key": []byte("key")},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func TestAdminSecretEventsEnqueueTheirGateway(t *testing.T) {
	e := newEnv(t)
	secrets := e.kube.CoreV1().Secrets("infra")

	// Created, edited and deleted, the admin Secret resyncs its Gateway.
	sec := adminSecret("infra", "gw", "kengine")
	if _, err := secrets.Create(e.ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")
	edited := sec.DeepCopy()
	edited.ResourceVersion = "2"
	edited.Data["intermediate.key"] = []byte("tampered")
	if _, err := secrets.Update(e.ctx, edited, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")
	// An edit that strips the labels still resyncs the Gateway, through the old object.
	unlabelled := edited.DeepCopy()
	unlabelled.ResourceVersion = "3"
	unlabelled.Labels = nil
	if _, err := secrets.Update(e.ctx, unlabelled, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")
	if err := secrets.Delete(e.ctx, sec.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect() // the deleted object carried no labels any more
	if _, err := secrets.Create(e.ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")
	if err := secrets.Delete(e.ctx, sec.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")

	// Look-alikes enqueue nothing; a real one elsewhere enqueues only its own namespace's Gateway.
	for _, tc := range []struct {
		name string
		sec  *corev1.Secret
		want []string
	}{
		{"another namespace", adminSecret("apps", "gw", "kengine"), []string{"apps/gw"}},
		{"long names shortened with a hash", adminSecret("infra", "gw", "kengine", func(s *corev1.Secret) {
			s.Labels[InstanceLabel] = "gw-kengine-0a1b2c3d"
			s.Name = "gw-kengine-0a1b2c3d-admin"
		}), []string{"infra/gw"}},
		{"managed-by overridden by infrastructure labels", adminSecret("infra", "gw2", "kengine", func(s *corev1.Secret) {
			s.Labels[ManagedByLabel] = "someone-else"
		}), []string{"infra/gw2"}},
		{"no gateway-name label", adminSecret("infra", "gw3", "kengine", func(s *corev1.Secret) { delete(s.Labels, GatewayNameLabel) }), nil},
		{"no instance label", adminSecret("infra", "gw4", "kengine", func(s *corev1.Secret) { delete(s.Labels, InstanceLabel) }), nil},
		{"name without the suffix", adminSecret("infra", "gw5", "kengine", func(s *corev1.Secret) { s.Name = "gw5-kengine" }), nil},
		{"name of another instance", adminSecret("infra", "gw6", "kengine", func(s *corev1.Secret) { s.Name = "other-admin" }), nil},
		{"no controller", adminSecret("infra", "gw7", "kengine", func(s *corev1.Secret) { s.OwnerReferences = nil }), nil},
		{"controlled by another Gateway", adminSecret("infra", "gw8", "kengine", func(s *corev1.Secret) { s.OwnerReferences[0].Name = "other" }), nil},
		{"controlled by another kind", adminSecret("infra", "gw9", "kengine", func(s *corev1.Secret) {
			s.OwnerReferences[0].APIVersion, s.OwnerReferences[0].Kind = "apps/v1", "Deployment"
		}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.kube.CoreV1().Secrets(tc.sec.Namespace).Create(e.ctx, tc.sec, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			outer := e.t
			e.t = t
			defer func() { e.t = outer }()
			e.expect(tc.want...)
		})
	}
}

func TestHandlerSkipsResyncAndUnwrapsTombstones(t *testing.T) {
	var seen []any
	h := handlerFor(func(obj any) { seen = append(seen, obj) })
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "7"}}
	h.OnUpdate(svc, svc.DeepCopy())
	if len(seen) != 0 {
		t.Fatalf("a resync (same resourceVersion) was handled: %v", seen)
	}
	newer := svc.DeepCopy()
	newer.ResourceVersion = "8"
	h.OnUpdate(svc, newer)
	if len(seen) != 2 {
		t.Fatalf("an update must be handled for the new and the old object, got %d calls", len(seen))
	}
	seen = nil
	h.OnDelete(cache.DeletedFinalStateUnknown{Key: "a", Obj: svc})
	if len(seen) != 1 || seen[0] != svc {
		t.Fatalf("tombstone not unwrapped: %v", seen)
	}
}

func TestDiscoverServedKinds(t *testing.T) {
	kube := kubefake.NewClientset()
	kube.Resources = []*metav1.APIResourceList{{
		GroupVersion: gatewayv1.GroupVersion.String(),
		APIResources: []metav1.APIResource{{Kind: "GatewayClass"}, {Kind: "Gateway"}, {Kind: "HTTPRoute"}, {Kind: "ReferenceGrant"}},
	}}
	served, err := DiscoverServedKinds(kube.Discovery())
	if err != nil {
		t.Fatal(err)
	}
	if !served.Has(KindReferenceGrant) || served.Has(KindTCPRoute) {
		t.Errorf("served = %v", served)
	}
	if m := served.Missing(); len(m) != 6 || m[0] != KindGRPCRoute {
		t.Errorf("missing = %v", m)
	}
	kube.Resources[0].APIResources = kube.Resources[0].APIResources[:1]
	if _, err := DiscoverServedKinds(kube.Discovery()); err == nil {
		t.Error("a cluster without Gateways must be refused")
	}
}
