package controller

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
)

// A Gateway sync takes the listeners of an allowed ListenerSet into the pushed config, serves
// the route attached to the ListenerSet on them, and writes the ListenerSet's status, the
// Gateway's attachedListenerSets and the route's entry naming the ListenerSet; a ListenerSet
// the Gateway does not allow is told so.
func TestSyncGatewayWithListenerSets(t *testing.T) {
	kube, objs := basicObjects()
	gw := objs[1].(*gatewayv1.Gateway)
	gw.Spec.AllowedListeners = &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: ptr.To(gatewayv1.NamespacesFromSame)}}
	lsKind := ptr.To(gatewayv1.Kind("ListenerSet"))
	allowed := &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "shop", Generation: 4},
		Spec: gatewayv1.ListenerSetSpec{
			ParentRef: gatewayv1.ParentGatewayReference{Name: "gw"},
			Listeners: []gatewayv1.ListenerEntry{{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80, Hostname: ptr.To(gatewayv1.Hostname("shop.example.com"))}},
		},
	}
	refused := allowed.DeepCopy()
	refused.Namespace = "elsewhere"
	refused.Spec.ParentRef.Namespace = ptr.To(gatewayv1.Namespace("infra"))
	route := testobj.Route("infra", "shop-route", testobj.Rule(nil, nil, testobj.Backend("", "web", 80, 1)))
	route.Spec.ParentRefs = []gatewayv1.ParentReference{{Kind: lsKind, Name: "shop"}}
	objs = append(objs, allowed, refused, route)
	f := newFixture(t, kube, objs)
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if len(f.pusher.pushes) != 1 || !strings.Contains(string(f.pusher.pushes[0].config), "shop.example.com") {
		t.Fatalf("the pushed config does not serve the ListenerSet's listener")
	}

	byName := map[string]gatewayv1.ListenerSetStatus{}
	for _, o := range f.statusUpdates("listenersets") {
		ls := o.(*gatewayv1.ListenerSet)
		byName[ls.Namespace+"/"+ls.Name] = ls.Status
	}
	want := map[string]string{"infra/shop": "True/Programmed", "elsewhere/shop": "False/NotAllowed"}
	for key, programmed := range want {
		st, ok := byName[key]
		if !ok {
			t.Errorf("no status written for ListenerSet %s", key)
			continue
		}
		c := meta.FindStatusCondition(st.Conditions, string(gatewayv1.ListenerSetConditionProgrammed))
		if c == nil || string(c.Status)+"/"+c.Reason != programmed || c.ObservedGeneration != 4 {
			t.Errorf("ListenerSet %s Programmed = %+v, want %s", key, c, programmed)
		}
	}
	if l := byName["infra/shop"].Listeners; len(l) != 1 || l[0].AttachedRoutes != 1 || !meta.IsStatusConditionTrue(l[0].Conditions, "Programmed") {
		t.Errorf("ListenerSet listeners = %+v, want one programmed with one route", l)
	}

	gws := f.statusUpdates("gateways")
	if len(gws) != 1 {
		t.Fatalf("gateway status updates = %d, want 1", len(gws))
	}
	if n := gws[0].(*gatewayv1.Gateway).Status.AttachedListenerSets; n == nil || *n != 1 {
		t.Errorf("attachedListenerSets = %v, want 1", n)
	}
	var parents []string
	for _, o := range f.statusUpdates("httproutes") {
		r := o.(*gatewayv1.HTTPRoute)
		for _, p := range r.Status.Parents {
			kind := "Gateway"
			if p.ParentRef.Kind != nil {
				kind = string(*p.ParentRef.Kind)
			}
			parents = append(parents, r.Name+"→"+kind+"/"+string(p.ParentRef.Name)+"="+string(p.Conditions[0].Status))
		}
	}
	if got := strings.Join(parents, ","); !strings.Contains(got, "shop-route→ListenerSet/shop=True") || !strings.Contains(got, "r→Gateway/gw=True") {
		t.Errorf("route parents = %s", got)
	}
}

// The ListenerSet feature is offered only where the cluster serves the ListenerSet CRD.
func TestListenerSetFeatureNeedsTheCRD(t *testing.T) {
	f := newFixture(t, nil, []runtime.Object{testobj.Class()})
	has := func() bool {
		for _, feat := range f.ctrl.supportedFeatures() {
			if feat.Name == "ListenerSet" {
				return true
			}
		}
		return false
	}
	if !has() {
		t.Error("ListenerSet not offered although the CRD is served")
	}
	delete(f.ctrl.informers.Served, "ListenerSet")
	if has() {
		t.Error("ListenerSet offered without the CRD")
	}
}
