package status

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"
)

func TestUpdate(t *testing.T) {
	gr := schema.GroupResource{Resource: "things"}
	conflict := apierrors.NewConflict(gr, "x", errors.New("stale"))
	tests := []struct {
		name       string
		current    int
		updateErrs []error // answers of successive updates
		fresh      int     // what a read after a conflict returns
		freshErr   error   // the error of that read
		wantWrites []int   // the values written, in order
		wantErr    bool
	}{
		{name: "unchanged: nothing written", current: 5},
		{name: "changed: written once", current: 1, updateErrs: []error{nil}, wantWrites: []int{2}},
		{name: "conflict: recomputed from the fresh copy", current: 1, updateErrs: []error{conflict, nil}, fresh: 3, wantWrites: []int{2, 4}},
		{name: "deleted meanwhile: nothing to report", current: 1, updateErrs: []error{apierrors.NewNotFound(gr, "x")}, wantWrites: []int{2}},
		{name: "other errors are returned", current: 1, updateErrs: []error{errors.New("boom")}, wantWrites: []int{2}, wantErr: true},
		{name: "a failed read after a conflict is returned, not retried with the stale copy", current: 1, updateErrs: []error{conflict}, freshErr: errors.New("timeout"), wantWrites: []int{2}, wantErr: true},
		{name: "deleted before the read after a conflict", current: 1, updateErrs: []error{conflict}, freshErr: apierrors.NewNotFound(gr, "x"), wantWrites: []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var writes []int
			err := update(context.Background(), time.Minute, tt.current,
				func(cur int) (int, bool) { return cur + 1, cur != 5 },
				func(ctx context.Context, v int) error {
					if _, ok := ctx.Deadline(); !ok {
						t.Error("write without a deadline")
					}
					writes = append(writes, v)
					return tt.updateErrs[len(writes)-1]
				},
				func(ctx context.Context) (int, error) {
					if _, ok := ctx.Deadline(); !ok {
						t.Error("read without a deadline")
					}
					return tt.fresh, tt.freshErr
				})
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if len(writes) != len(tt.wantWrites) {
				t.Fatalf("writes %v, want %v", writes, tt.wantWrites)
			}
			for i := range writes {
				if writes[i] != tt.wantWrites[i] {
					t.Errorf("writes %v, want %v", writes, tt.wantWrites)
				}
			}
		})
	}
}

// TestWriteRouteKinds writes this controller's entry into the status of each route kind through
// the one generic writer, keeping other controllers' entries, and writes nothing when the
// entry is current.
func TestWriteRouteKinds(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	foreign := gatewayv1.RouteParentStatus{
		ParentRef: gatewayv1.ParentReference{Name: "other"}, ControllerName: "example.com/other",
		Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.NewTime(now)}},
	}
	ours := []gatewayv1.RouteParentStatus{{
		ParentRef: gatewayv1.ParentReference{Name: "gw"}, ControllerName: "example.com/kengine",
		Conditions: []metav1.Condition{Condition(gatewayv1.RouteConditionAccepted, true, gatewayv1.RouteReasonAccepted, "route accepted", 1)},
	}}
	meta := metav1.ObjectMeta{Namespace: "apps", Name: "r", Generation: 1}
	httpRoute := &gatewayv1.HTTPRoute{ObjectMeta: meta}
	httpRoute.Status.Parents = []gatewayv1.RouteParentStatus{foreign}
	grpcRoute := &gatewayv1.GRPCRoute{ObjectMeta: meta}
	grpcRoute.Status.Parents = []gatewayv1.RouteParentStatus{foreign}

	tlsRoute := &gatewayv1.TLSRoute{ObjectMeta: meta}
	tlsRoute.Status.Parents = []gatewayv1.RouteParentStatus{foreign}
	tcpRoute := &gatewayv1.TCPRoute{ObjectMeta: meta}
	tcpRoute.Status.Parents = []gatewayv1.RouteParentStatus{foreign}
	udpRoute := &gatewayv1.UDPRoute{ObjectMeta: meta}
	udpRoute.Status.Parents = []gatewayv1.RouteParentStatus{foreign}

	client := gatewayfake.NewSimpleClientset(httpRoute, grpcRoute, tlsRoute, tcpRoute, udpRoute)
	w := NewWriter(client, "example.com/kengine", func() time.Time { return now }, 0)
	ctx := context.Background()
	for _, r := range []metav1.Object{httpRoute, grpcRoute, tlsRoute, tcpRoute, udpRoute} {
		if err := w.WriteRoute(ctx, "apps", "gw", RouteResult{Route: r, Parents: ours}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := client.GatewayV1().HTTPRoutes("apps").Get(ctx, "r", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := client.GatewayV1().GRPCRoutes("apps").Get(ctx, "r", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := client.GatewayV1().TLSRoutes("apps").Get(ctx, "r", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := client.GatewayV1().TCPRoutes("apps").Get(ctx, "r", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := client.GatewayV1().UDPRoutes("apps").Get(ctx, "r", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for kind, parents := range map[string][]gatewayv1.RouteParentStatus{"HTTPRoute": h.Status.Parents, "GRPCRoute": g.Status.Parents,
		"TLSRoute": tl.Status.Parents, "TCPRoute": tc.Status.Parents, "UDPRoute": u.Status.Parents} {
		if len(parents) != 2 || parents[0].ControllerName != "example.com/other" || parents[1].ControllerName != "example.com/kengine" {
			t.Errorf("%s parents = %+v, want the other controller's entry and ours", kind, parents)
		}
	}

	// The entries are current: another write changes nothing.
	client.ClearActions()
	if err := w.WriteRoute(ctx, "apps", "gw", RouteResult{Route: g, Parents: ours}); err != nil {
		t.Fatal(err)
	}
	if n := len(client.Actions()); n != 0 {
		t.Errorf("a current status was written again: %v", client.Actions())
	}
	// Clearing removes only our entry.
	if err := w.ClearRoutes(ctx, "apps", "gw", []metav1.Object{g}); err != nil {
		t.Fatal(err)
	}
	if g, err = client.GatewayV1().GRPCRoutes("apps").Get(ctx, "r", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(g.Status.Parents) != 1 || g.Status.Parents[0].ControllerName != "example.com/other" {
		t.Errorf("after clearing, parents = %+v", g.Status.Parents)
	}
	if err := w.WriteRoute(ctx, "apps", "gw", RouteResult{Route: &gatewayv1.Gateway{ObjectMeta: meta}}); err == nil {
		t.Error("a kind the writer does not know was accepted")
	}
}
