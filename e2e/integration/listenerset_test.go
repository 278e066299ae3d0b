package integration

import (
	"net/http"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// onListenerSet makes a route's parent the ListenerSet gatewayNamespace/name (one of its
// listeners when section is set) instead of the Gateway.
func onListenerSet(name, section string) routeOption {
	return func(r *gatewayv1.HTTPRoute) {
		ref := gatewayv1.ParentReference{Group: ptr.To(gatewayv1.Group(gatewayv1.GroupName)), Kind: ptr.To(gatewayv1.Kind("ListenerSet")),
			Namespace: ptr.To(gatewayv1.Namespace(gatewayNamespace)), Name: gatewayv1.ObjectName(name)}
		if section != "" {
			ref.SectionName = ptr.To(gatewayv1.SectionName(section))
		}
		r.Spec.ParentRefs = []gatewayv1.ParentReference{ref}
	}
}

// A ListenerSet's listeners (allowed from the Gateway's namespace, their allowedRoutes All
// admitting the routes of appNamespace) are served next to the Gateway's, on the same port and on one of
// their own, and each route answers only on the listeners of the parent it names: a Gateway
// route never on a ListenerSet's listener, a ListenerSet's route never on the Gateway's, and a
// refused ListenerSet's listener not at all.
func TestListenerSetListenersServeTheirOwnRoutes(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "gateway", "shop", "api")
	port, apiPort, refusedPort := freePort(t), freePort(t), freePort(t)
	gw := gateway(httpListener("http", port, "gw.example.com"))
	gw.Spec.AllowedListeners = &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: ptr.To(gatewayv1.NamespacesFromSame)}}
	set := func(ns, name string, entries ...gatewayv1.ListenerEntry) *gatewayv1.ListenerSet {
		return &gatewayv1.ListenerSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1, CreationTimestamp: metav1.NewTime(routeEpoch)},
			Spec: gatewayv1.ListenerSetSpec{
				ParentRef: gatewayv1.ParentGatewayReference{Name: gatewayName, Namespace: ptr.To(gatewayv1.Namespace(gatewayNamespace))},
				Listeners: entries,
			},
		}
	}
	fromAll := &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}
	entry := func(name string, port int, hostname string) gatewayv1.ListenerEntry {
		return gatewayv1.ListenerEntry{Name: gatewayv1.SectionName(name), Protocol: gatewayv1.HTTPProtocolType, Port: gatewayv1.PortNumber(port),
			Hostname: ptr.To(gatewayv1.Hostname(hostname)), AllowedRoutes: fromAll}
	}
	shop := set(gatewayNamespace, "shop", entry("http", port, "shop.example.com"), entry("api", apiPort, "api.example.com"))
	refused := set(appNamespace, "refused", entry("http", refusedPort, ""))
	h.apply(snapshot(gw, shop, refused,
		route("gateway-route", withRules(rule(to("gateway")))),
		route("shop-route", onListenerSet("shop", ""), withRules(rule(matching(match(prefix("/shop"))), to("shop")))),
		route("api-route", onListenerSet("shop", "api"), withRules(rule(matching(match(prefix("/api"))), to("api")))),
		service("gateway", be["gateway"]), service("shop", be["shop"]), service("api", be["api"]),
	))
	expectReply(t, h.send(port, request{host: "gw.example.com", path: "/shop"}), http.StatusOK, "gateway")
	expectReply(t, h.send(port, request{host: "shop.example.com", path: "/shop"}), http.StatusOK, "shop")
	expectReply(t, h.send(port, request{host: "shop.example.com", path: "/"}), http.StatusNotFound, "")
	expectReply(t, h.send(port, request{host: "shop.example.com", path: "/api"}), http.StatusNotFound, "")
	// The route on the whole ListenerSet reaches its every listener; the one on "api" only it.
	expectReply(t, h.send(apiPort, request{host: "api.example.com", path: "/api"}), http.StatusOK, "api")
	expectReply(t, h.send(apiPort, request{host: "api.example.com", path: "/shop"}), http.StatusOK, "shop")
	expectReply(t, h.send(apiPort, request{host: "api.example.com", path: "/"}), http.StatusNotFound, "")
	// Nothing listens on the refused ListenerSet's port.
	if rep, err := h.do(h.http, "http", refusedPort, request{host: "any.example.com", path: "/"}); err == nil {
		t.Errorf("the refused ListenerSet's port answered: %v", rep)
	}
}
