package tests

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestHTTPRoute follows one route through its life on a managed Gateway: it serves the right
// backend with the status the spec asks for, a change converges, an unresolvable backend shows
// in status and answers 500, and deleting the route gives 404.
func TestHTTPRoute(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	ns := newNamespace(t)
	createEcho(t, ns, "alpha", 1)
	createEcho(t, ns, "beta", 1)
	createGateway(t, ns, "gw")
	createRoute(t, newRoute(ns, "web", "gw", []string{"web.example"}, "alpha"))
	_, addr := waitProgrammed(t, ns, "gw")
	addr80 := addr + ":80"

	t.Run("serves the right backend", func(t *testing.T) {
		r := expectBackend(t, addr80, "web.example", "/hello", ns, "alpha")
		if r.echo.Path != "/hello" || r.echo.Host != "web.example" {
			t.Errorf("the backend saw path %q host %q, want /hello and web.example", r.echo.Path, r.echo.Host)
		}
		expectStatus(t, addr80, "other.example", "/", http.StatusNotFound)
	})

	t.Run("status", func(t *testing.T) {
		gw, err := gwc.GatewayV1().Gateways(ns).Get(ctx, "gw", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		expectCondition(t, "Gateway", gw.Status.Conditions, string(gatewayv1.GatewayConditionAccepted), metav1.ConditionTrue, string(gatewayv1.GatewayReasonAccepted), gw.Generation)
		expectCondition(t, "Gateway", gw.Status.Conditions, string(gatewayv1.GatewayConditionProgrammed), metav1.ConditionTrue, string(gatewayv1.GatewayReasonProgrammed), gw.Generation)
		svc, err := kube.CoreV1().Services(ns).Get(ctx, managedName("gw", className), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(svc.Status.LoadBalancer.Ingress) != 1 || len(gw.Status.Addresses) != 1 ||
			gw.Status.Addresses[0].Value != svc.Status.LoadBalancer.Ingress[0].IP ||
			gw.Status.Addresses[0].Type == nil || *gw.Status.Addresses[0].Type != gatewayv1.IPAddressType {
			t.Errorf("Gateway addresses %+v, want the IPAddress of the Service's load balancer %+v", gw.Status.Addresses, svc.Status.LoadBalancer.Ingress)
		}
		if len(gw.Status.Listeners) != 1 {
			t.Fatalf("listener status %+v, want one", gw.Status.Listeners)
		}
		l := gw.Status.Listeners[0]
		if l.Name != "http" || l.AttachedRoutes != 1 {
			t.Errorf("listener %s has %d attached routes, want http with 1", l.Name, l.AttachedRoutes)
		}
		for typ, reason := range map[gatewayv1.ListenerConditionType]gatewayv1.ListenerConditionReason{
			gatewayv1.ListenerConditionAccepted:     gatewayv1.ListenerReasonAccepted,
			gatewayv1.ListenerConditionResolvedRefs: gatewayv1.ListenerReasonResolvedRefs,
			gatewayv1.ListenerConditionProgrammed:   gatewayv1.ListenerReasonProgrammed,
		} {
			expectCondition(t, "listener http", l.Conditions, string(typ), metav1.ConditionTrue, string(reason), gw.Generation)
		}
		if len(l.SupportedKinds) == 0 || l.SupportedKinds[0].Kind != "HTTPRoute" {
			t.Errorf("listener supportedKinds %+v, want HTTPRoute", l.SupportedKinds)
		}
		expectRouteParent(t, ns, "web", "gw", metav1.ConditionTrue, string(gatewayv1.RouteReasonResolvedRefs))
	})

	t.Run("a change converges", func(t *testing.T) {
		updateRoute(t, ns, "web", func(r *gatewayv1.HTTPRoute) { setBackend(r, "beta") })
		expectBackend(t, addr80, "web.example", "/", ns, "beta")
		updateRoute(t, ns, "web", func(r *gatewayv1.HTTPRoute) { r.Spec.Hostnames = []gatewayv1.Hostname{"renamed.example"} })
		expectBackend(t, addr80, "renamed.example", "/", ns, "beta")
		expectStatus(t, addr80, "web.example", "/", http.StatusNotFound)
		expectRouteParent(t, ns, "web", "gw", metav1.ConditionTrue, string(gatewayv1.RouteReasonResolvedRefs))
	})

	t.Run("a missing backend shows in status and answers 500", func(t *testing.T) {
		updateRoute(t, ns, "web", func(r *gatewayv1.HTTPRoute) { setBackend(r, "missing") })
		expectRouteParent(t, ns, "web", "gw", metav1.ConditionFalse, string(gatewayv1.RouteReasonBackendNotFound))
		expectStatus(t, addr80, "renamed.example", "/", http.StatusInternalServerError)
	})

	t.Run("deleting the route gives 404", func(t *testing.T) {
		if err := gwc.GatewayV1().HTTPRoutes(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		expectStatus(t, addr80, "renamed.example", "/", http.StatusNotFound)
		eventually(t, waitShort, "attachedRoutes back to 0", func() error {
			gw, err := gwc.GatewayV1().Gateways(ns).Get(ctx, "gw", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if n := gw.Status.Listeners[0].AttachedRoutes; n != 0 {
				return fmt.Errorf("attachedRoutes %d", n)
			}
			return nil
		})
	})
}

// expectRouteParent waits until the route's status for its parent Gateway, written by this
// controller, is Accepted and has ResolvedRefs with the given status and reason, for the
// route's current generation.
func expectRouteParent(t *testing.T, ns, route, gateway string, resolved metav1.ConditionStatus, reason string) {
	t.Helper()
	eventually(t, waitShort, fmt.Sprintf("status of HTTPRoute %s for Gateway %s", route, gateway), func() error {
		r, err := gwc.GatewayV1().HTTPRoutes(ns).Get(context.Background(), route, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(r.Status.Parents) != 1 {
			return fmt.Errorf("parents %+v, want one", r.Status.Parents)
		}
		p := r.Status.Parents[0]
		if p.ControllerName != controllerName || string(p.ParentRef.Name) != gateway {
			return fmt.Errorf("parent %s by %s, want %s by %s", p.ParentRef.Name, p.ControllerName, gateway, controllerName)
		}
		acc := meta.FindStatusCondition(p.Conditions, string(gatewayv1.RouteConditionAccepted))
		if acc == nil || acc.Status != metav1.ConditionTrue || acc.Reason != string(gatewayv1.RouteReasonAccepted) || acc.ObservedGeneration != r.Generation {
			return fmt.Errorf("Accepted: %s", conditionString(acc))
		}
		rr := meta.FindStatusCondition(p.Conditions, string(gatewayv1.RouteConditionResolvedRefs))
		if rr == nil || rr.Status != resolved || rr.Reason != reason || rr.ObservedGeneration != r.Generation {
			return fmt.Errorf("ResolvedRefs: %s, want %s %s", conditionString(rr), resolved, reason)
		}
		return nil
	})
}

// TestBackendScaling scales a backend from one pod to three and expects traffic through the
// Gateway to reach all three.
func TestBackendScaling(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	ns := newNamespace(t)
	addr, first := servingGateway(t, ns, "gw")

	scale, err := kube.AppsV1().Deployments(ns).GetScale(ctx, "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 3
	if _, err := kube.AppsV1().Deployments(ns).UpdateScale(ctx, "echo", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	eventually(t, waitLong, "3 Ready echo pods", func() error {
		pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=echo"})
		if err != nil {
			return err
		}
		clear(want)
		for _, p := range pods.Items {
			if isReady(&p) && p.DeletionTimestamp == nil {
				want[p.Name] = true
			}
		}
		if len(want) != 3 {
			return fmt.Errorf("%d Ready", len(want))
		}
		return nil
	})
	if !want[first.echo.Pod] {
		t.Fatalf("the first pod %s is not among the Ready ones %v", first.echo.Pod, want)
	}
	seen := map[string]int{}
	eventually(t, waitLong, "every echo pod answering through the Gateway", func() error {
		r, err := get(addr+":80", "", "/")
		if err != nil {
			return err
		}
		if r.status != http.StatusOK {
			return fmt.Errorf("status %d", r.status)
		}
		seen[r.echo.Pod]++
		for p := range want {
			if seen[p] == 0 {
				return fmt.Errorf("answers so far %v, not yet from %s", seen, p)
			}
		}
		return nil
	})
	for p := range seen {
		if !want[p] {
			t.Errorf("answer from %s, which is not a Ready pod of the backend", p)
		}
	}
	t.Logf("answers per pod: %v", seen)
}

// TestKenginePodReplaced deletes the Kengine pod of a Gateway: the replacement must be
// programmed by the controller, become Ready only after that, and serve.
func TestKenginePodReplaced(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	ns := newNamespace(t)
	addr, _ := servingGateway(t, ns, "gw")
	old := waitReadyPods(t, ns, managedPods("gw"), 1)[0]

	if err := kube.CoreV1().Pods(ns).Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var replacement corev1.Pod
	eventually(t, waitLong, "a Ready replacement Kengine pod", func() error {
		for _, p := range livePods(t, ns, managedPods("gw")) {
			if p.UID != old.UID && isReady(&p) {
				replacement = p
				return nil
			}
		}
		return fmt.Errorf("no Ready pod other than %s", old.Name)
	})
	expectBackend(t, addr+":80", "", "/", ns, "echo")
	expectReadyAfterLoad(t, &replacement)
	eventually(t, waitLong, "the old pod gone", func() error {
		for _, p := range livePods(t, ns, managedPods("gw")) {
			if p.UID == old.UID {
				return fmt.Errorf("%s still there", p.Name)
			}
		}
		return nil
	})
}

// expectReadyAfterLoad checks that the pod turned Ready no earlier than Kengine accepted its
// first pushed config (the Ready condition has a resolution of one second).
func expectReadyAfterLoad(t *testing.T, p *corev1.Pod) {
	t.Helper()
	ready := podReady(p)
	loads := configLoads(t, p)
	if len(loads) == 0 {
		t.Fatalf("pod %s is Ready but its Kengine never received POST /load", p.Name)
	}
	if ready.LastTransitionTime.Time.Before(loads[0].Truncate(1e9)) {
		t.Errorf("pod %s turned Ready at %s, before its first config push at %s", p.Name, ready.LastTransitionTime.UTC(), loads[0].UTC())
	}
}

// TestTwoGateways runs two Gateways, each with its own Kengine deployment (one managed, one
// brought by the user), under one controller: each serves its own routes only, and changing
// one leaves the other serving.
func TestTwoGateways(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	ns := newNamespace(t)
	createEcho(t, ns, "one", 1)
	createEcho(t, ns, "two", 1)
	createGateway(t, ns, "managed")
	createBringYourOwnKengine(t, ns, "byo")
	createGateway(t, ns, "byo")
	createRoute(t, newRoute(ns, "one", "managed", []string{"one.example"}, "one"))
	createRoute(t, newRoute(ns, "two", "byo", []string{"two.example"}, "two"))
	_, addrManaged := waitProgrammed(t, ns, "managed")
	_, addrBYO := waitProgrammed(t, ns, "byo")
	if addrManaged == addrBYO {
		t.Fatalf("both Gateways have address %s", addrManaged)
	}
	expectBackend(t, addrManaged+":80", "one.example", "/", ns, "one")
	expectBackend(t, addrBYO+":80", "two.example", "/", ns, "two")
	expectStatus(t, addrManaged+":80", "two.example", "/", http.StatusNotFound)
	expectStatus(t, addrBYO+":80", "one.example", "/", http.StatusNotFound)

	// Each Gateway has its own pods.
	a, b := waitReadyPods(t, ns, managedPods("managed"), 1), waitReadyPods(t, ns, "app=byo-kengine-user", 1)
	if a[0].Name == b[0].Name {
		t.Fatalf("both Gateways are served by pod %s", a[0].Name)
	}
	deps, err := kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range deps.Items {
		names = append(names, d.Name)
	}
	sort.Strings(names)
	if got := strings.Join(names, ","); got != "byo-kengine-user,managed-kengine,one,two" {
		t.Errorf("Deployments %s, want the user's Kengine, the managed one and the two backends", got)
	}

	// Removing one Gateway's route changes nothing for the other.
	if err := gwc.GatewayV1().HTTPRoutes(ns).Delete(ctx, "one", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, addrManaged+":80", "one.example", "/", http.StatusNotFound)
	expectBackend(t, addrBYO+":80", "two.example", "/", ns, "two")
}
