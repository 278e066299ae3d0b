package status

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"
)

// listenerStatus is a listener's status before the push, with Accepted as given.
func listenerStatus(name string, accepted bool, reason gatewayv1.ListenerConditionReason) gatewayv1.ListenerStatus {
	return gatewayv1.ListenerStatus{Name: gatewayv1.SectionName(name), Conditions: []metav1.Condition{
		Condition(gatewayv1.ListenerConditionAccepted, accepted, reason, "why", 2),
	}}
}

// A ListenerSet's Programmed condition follows its Accepted condition and the Gateway's push;
// a listener left out of the config says why with its Accepted reason.
func TestListenerSetStatus(t *testing.T) {
	ls := &gatewayv1.ListenerSet{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "shop", Generation: 2}}
	programmed := gatewayv1.GatewayStatus{Conditions: []metav1.Condition{
		Condition(gatewayv1.GatewayConditionProgrammed, true, gatewayv1.GatewayReasonProgrammed, "ok", 1)}}
	pending := gatewayv1.GatewayStatus{Conditions: []metav1.Condition{
		Condition(gatewayv1.GatewayConditionProgrammed, false, gatewayv1.GatewayReasonPending, "waiting", 1)}}
	accepted := []metav1.Condition{Condition(gatewayv1.ListenerSetConditionAccepted, true, gatewayv1.ListenerSetReasonListenersNotValid, "some", 2)}
	tests := []struct {
		name       string
		res        ListenerSetResult
		gw         gatewayv1.GatewayStatus
		want       string            // Programmed status/reason
		wantListen map[string]string // listener → Programmed status/reason
	}{
		{
			name: "not allowed",
			res: ListenerSetResult{Conditions: []metav1.Condition{
				Condition(gatewayv1.ListenerSetConditionAccepted, false, gatewayv1.ListenerSetReasonNotAllowed, "no", 2)}},
			gw: programmed, want: "False/NotAllowed", wantListen: map[string]string{},
		},
		{
			name: "accepted and pushed",
			res: ListenerSetResult{Conditions: accepted,
				Listeners: []gatewayv1.ListenerStatus{listenerStatus("ok", true, gatewayv1.ListenerReasonAccepted), listenerStatus("lost", false, gatewayv1.ListenerReasonHostnameConflict)},
				Served:    map[gatewayv1.SectionName]bool{"ok": true}},
			gw: programmed, want: "True/Programmed",
			wantListen: map[string]string{"ok": "True/Programmed", "lost": "False/HostnameConflict"},
		},
		{
			name: "accepted, Gateway not programmed",
			res: ListenerSetResult{Conditions: accepted,
				Listeners: []gatewayv1.ListenerStatus{listenerStatus("ok", true, gatewayv1.ListenerReasonAccepted)},
				Served:    map[gatewayv1.SectionName]bool{"ok": true}},
			gw: pending, want: "False/ParentNotProgrammed", wantListen: map[string]string{"ok": "False/Pending"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.res.ListenerSet = ls
			st := ListenerSetStatus(&tt.res, tt.gw)
			c := meta.FindStatusCondition(st.Conditions, string(gatewayv1.ListenerSetConditionProgrammed))
			if c == nil || string(c.Status)+"/"+c.Reason != tt.want || c.ObservedGeneration != 2 {
				t.Errorf("Programmed = %+v, want %s at generation 2", c, tt.want)
			}
			got := map[string]string{}
			for _, l := range st.Listeners {
				p := meta.FindStatusCondition(l.Conditions, string(gatewayv1.ListenerConditionProgrammed))
				got[string(l.Name)] = string(p.Status) + "/" + p.Reason
			}
			if d := cmp.Diff(tt.wantListen, got); d != "" {
				t.Errorf("listener Programmed (-want +got):\n%s", d)
			}
		})
	}
}

// The writer writes a ListenerSet's status once, not again when it is current, and replaces a
// route's entries for the Gateway and its ListenerSets while keeping the entry for another
// ListenerSet.
func TestWriteListenerSetAndRouteParents(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ls := &gatewayv1.ListenerSet{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "shop", Generation: 1}}
	lsKind := ptr.To(gatewayv1.Kind("ListenerSet"))
	ours := gatewayv1.ParentReference{Kind: lsKind, Name: "shop"}
	theirs := gatewayv1.ParentReference{Kind: lsKind, Name: "elsewhere"}
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "r"}}
	route.Status.Parents = []gatewayv1.RouteParentStatus{
		{ParentRef: ours, ControllerName: "example.com/kengine", Conditions: []metav1.Condition{Condition(gatewayv1.RouteConditionAccepted, false, gatewayv1.RouteReasonPending, "old", 1)}},
		{ParentRef: theirs, ControllerName: "example.com/kengine", Conditions: []metav1.Condition{Condition(gatewayv1.RouteConditionAccepted, true, gatewayv1.RouteReasonAccepted, "other Gateway", 1)}},
	}
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"}}
	client := gatewayfake.NewSimpleClientset(ls, route)
	// The fake's guess of a Gateway's resource name is "gatewaies": create it by its name.
	if err := client.Tracker().Create(gatewayv1.SchemeGroupVersion.WithResource("gateways"), gw, "infra"); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(client, "example.com/kengine", func() time.Time { return now }, 0)
	res := &Result{
		Gateway: GatewayResult{Conditions: []metav1.Condition{Condition(gatewayv1.GatewayConditionAccepted, true, gatewayv1.GatewayReasonAccepted, "ok", 0)}, AttachedListenerSets: 1},
		ListenerSets: []ListenerSetResult{{ListenerSet: ls, Conditions: []metav1.Condition{
			Condition(gatewayv1.ListenerSetConditionAccepted, true, gatewayv1.ListenerSetReasonAccepted, "ok", 1)}}},
		Routes: []RouteResult{{Route: route, ListenerSets: map[types.NamespacedName]bool{{Namespace: "team", Name: "shop"}: true}, Parents: []gatewayv1.RouteParentStatus{
			{ParentRef: ours, ControllerName: "example.com/kengine", Conditions: []metav1.Condition{Condition(gatewayv1.RouteConditionAccepted, true, gatewayv1.RouteReasonAccepted, "route accepted", 1)}},
		}}},
	}
	ctx := context.Background()
	if err := w.Write(ctx, gw, res, DataPlane{HasService: true, Pods: 1, Ready: 1, Addresses: []gatewayv1.GatewayStatusAddress{{Value: "10.0.0.9"}}}); err != nil {
		t.Fatal(err)
	}
	got, err := client.GatewayV1().ListenerSets("team").Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !meta.IsStatusConditionTrue(got.Status.Conditions, string(gatewayv1.ListenerSetConditionAccepted)) ||
		!meta.IsStatusConditionTrue(got.Status.Conditions, string(gatewayv1.ListenerSetConditionProgrammed)) {
		t.Errorf("ListenerSet conditions = %+v, want Accepted and Programmed", got.Status.Conditions)
	}
	gotGW, err := client.GatewayV1().Gateways("infra").Get(ctx, "gw", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if gotGW.Status.AttachedListenerSets == nil || *gotGW.Status.AttachedListenerSets != 1 {
		t.Errorf("attachedListenerSets = %v, want 1", gotGW.Status.AttachedListenerSets)
	}
	gotRoute, err := client.GatewayV1().HTTPRoutes("team").Get(ctx, "r", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var parents []string
	for _, p := range gotRoute.Status.Parents {
		parents = append(parents, string(p.ParentRef.Name)+"="+p.Conditions[0].Message)
	}
	if d := cmp.Diff([]string{"elsewhere=other Gateway", "shop=route accepted"}, parents); d != "" {
		t.Errorf("route parents (-want +got):\n%s", d)
	}

	// Current: nothing more is written.
	client.ClearActions()
	if err := w.Write(ctx, gotGW, &Result{Gateway: res.Gateway, ListenerSets: []ListenerSetResult{{ListenerSet: got, Conditions: res.ListenerSets[0].Conditions}}},
		DataPlane{HasService: true, Pods: 1, Ready: 1, Addresses: []gatewayv1.GatewayStatusAddress{{Value: "10.0.0.9"}}}); err != nil {
		t.Fatal(err)
	}
	for _, a := range client.Actions() {
		if a.GetVerb() == "update" {
			t.Errorf("unexpected write %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
}
