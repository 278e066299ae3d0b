package informers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

var listenerSetsGVR = gatewayGVR("listenersets")

// listenerSet is a ListenerSet in ns whose parentRef names the Gateway infra/<parent>, with
// one HTTPS listener using the Secret cert of its own namespace.
func listenerSet(ns, name, parent string) *gatewayv1.ListenerSet {
	return &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1.ListenerSetSpec{
			ParentRef: gatewayv1.ParentGatewayReference{Name: gatewayv1.ObjectName(parent), Namespace: ptr.To(gatewayv1.Namespace("infra"))},
			Listeners: []gatewayv1.ListenerEntry{{Name: "https", Protocol: gatewayv1.HTTPSProtocolType, Port: 443,
				TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "cert"}}}}},
		},
	}
}

// A ListenerSet enqueues the Gateway its parentRef names (old and new parent when it moves);
// a route attached to a ListenerSet, a Secret a ListenerSet uses and a ReferenceGrant from
// its namespace enqueue that Gateway too, and the Gateway's route look-ups find the route.
func TestListenerSetEventsMapToParentGateway(t *testing.T) {
	e := newEnv(t)
	ls := listenerSet("team", "shop", "gw")
	if err := e.gw.Tracker().Create(listenerSetsGVR, ls, "team"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw")

	moved := ls.DeepCopy()
	moved.ResourceVersion = "2"
	moved.Spec.ParentRef.Name = "gw2"
	if err := e.gw.Tracker().Update(listenerSetsGVR, moved, "team"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw", "infra/gw2")

	// A route whose parentRef is the ListenerSet resyncs the ListenerSet's Gateway.
	r := route("team", "r", nil, "web")
	r.Spec.ParentRefs = []gatewayv1.ParentReference{{Group: ptr.To(gatewayv1.Group(gatewayv1.GroupName)), Kind: ptr.To(gatewayv1.Kind("ListenerSet")), Name: "shop"}}
	if err := e.gw.Tracker().Create(gatewayGVR("httproutes"), r, "team"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw2")
	e.waitFor(func() bool {
		rs, err := e.inf.HTTPRoutesForGateway(types.NamespacedName{Namespace: "infra", Name: "gw2"})
		return err == nil && len(rs) == 1 && rs[0].Name == "r"
	})
	sets, err := e.inf.ListenerSetsForGateway(types.NamespacedName{Namespace: "infra", Name: "gw2"})
	if err != nil || len(sets) != 1 || sets[0].Name != "shop" {
		t.Errorf("ListenerSetsForGateway = %v, %v; want team/shop", sets, err)
	}

	// The certificate Secret, relative to the ListenerSet's namespace.
	if _, err := e.kube.CoreV1().Secrets("team").Create(e.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "cert"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw2")

	// A grant from the ListenerSet's namespace (certificates) and from the route's.
	grant := &gatewayv1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: "g"}, Spec: gatewayv1.ReferenceGrantSpec{
		From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "ListenerSet", Namespace: "team"}},
		To:   []gatewayv1.ReferenceGrantTo{{Kind: "Secret"}},
	}}
	if err := e.gw.Tracker().Create(gatewayGVR("referencegrants"), grant, "certs"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw2")

	// Deleting the ListenerSet resyncs its Gateway, which then no longer finds the route.
	if err := e.gw.Tracker().Delete(listenerSetsGVR, "team", "shop"); err != nil {
		t.Fatal(err)
	}
	e.expect("infra/gw2")
	e.waitFor(func() bool {
		rs, err := e.inf.HTTPRoutesForGateway(types.NamespacedName{Namespace: "infra", Name: "gw2"})
		return err == nil && len(rs) == 0
	})
}

// Without the ListenerSet CRD there is no ListenerSet informer, lister or index, and a route
// naming a ListenerSet enqueues nothing.
func TestListenerSetNotServed(t *testing.T) {
	e := newEnv(t)
	inf, err := New(e.kube, e.gw, ServedKinds{KindGatewayClass: true, KindGateway: true, KindHTTPRoute: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if inf.ListenerSets != nil {
		t.Error("ListenerSets lister exists for a kind the cluster does not serve")
	}
	sets, err := inf.ListenerSetsForGateway(types.NamespacedName{Namespace: "infra", Name: "gw"})
	if err != nil || len(sets) != 0 {
		t.Errorf("ListenerSetsForGateway = %v, %v; want none", sets, err)
	}
	m := &mapper{i: inf, q: e.rec}
	r := route("team", "r", nil)
	r.Spec.ParentRefs = []gatewayv1.ParentReference{{Kind: ptr.To(gatewayv1.Kind("ListenerSet")), Name: "shop"}}
	m.onRoute(r)
	e.expect()
}
