package tests

import (
	"context"
	"net/http"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestProgrammedMeansServed does what a new user does: create a managed Gateway and its route,
// wait for Programmed (as `kubectl wait --for=condition=Programmed` would, polling tightly),
// and send one request at once. Programmed=True must mean a pod running the config is ready
// behind the Gateway's address, so that very first request is answered by the backend.
func TestProgrammedMeansServed(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	createEcho(t, ns, "echo", 1)
	waitReadyPods(t, ns, "app=echo", 1)
	createRoute(t, newRoute(ns, "web", "gw", nil, "echo"))
	createGateway(t, ns, "gw")

	// Watch, as kubectl wait does, so the request follows the condition within milliseconds.
	ctx, cancel := context.WithTimeout(ctxFor(t), waitLong)
	defer cancel()
	w, err := gwc.GatewayV1().Gateways(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=gw"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	var addr string
	for addr == "" {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch ended before the Gateway was Programmed (after %s)", time.Since(start))
			}
			g, isGateway := ev.Object.(*gatewayv1.Gateway)
			if !isGateway {
				continue
			}
			c := meta.FindStatusCondition(g.Status.Conditions, string(gatewayv1.GatewayConditionProgrammed))
			if c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == g.Generation {
				if len(g.Status.Addresses) == 0 {
					t.Fatal("Programmed without an address")
				}
				addr = g.Status.Addresses[0].Value
			}
		case <-ctx.Done():
			t.Fatalf("Gateway not Programmed within %s", waitLong)
		}
	}
	t.Logf("Programmed after %s", time.Since(start).Round(time.Millisecond))
	r, err := get(addr+":80", "", "/")
	if err != nil {
		t.Fatalf("first request right after Programmed failed: %v", err)
	}
	if r.status != http.StatusOK || r.echo.Namespace != ns {
		t.Fatalf("first request right after Programmed: status %d from %s/%s: %.200s", r.status, r.echo.Namespace, r.echo.Pod, r.body)
	}
}
