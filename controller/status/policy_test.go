package status

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"
)

func ancestor(gwNamespace, gwName, controller string, accepted bool) gatewayv1.PolicyAncestorStatus {
	ns := gatewayv1.Namespace(gwNamespace)
	group := gatewayv1.Group(gatewayv1.GroupName)
	kind := gatewayv1.Kind("Gateway")
	return gatewayv1.PolicyAncestorStatus{
		AncestorRef:    gatewayv1.ParentReference{Group: &group, Kind: &kind, Namespace: &ns, Name: gatewayv1.ObjectName(gwName)},
		ControllerName: gatewayv1.GatewayController(controller),
		Conditions:     []metav1.Condition{Condition(gatewayv1.PolicyConditionAccepted, accepted, gatewayv1.PolicyReasonAccepted, "m", 1)},
	}
}

// The writer replaces only this controller's entry for the one Gateway in a policy's
// ancestors, writes nothing when that entry is unchanged, and removes it when the Gateway
// no longer uses the policy.
func TestWritePolicy(t *testing.T) {
	const ours = "example.com/ours"
	p := &gatewayv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "p"}}
	p.Status.Ancestors = []gatewayv1.PolicyAncestorStatus{
		ancestor("infra", "gw", ours, false),
		ancestor("infra", "other", ours, true),
		ancestor("infra", "gw", "example.com/theirs", true),
	}
	client := gatewayfake.NewSimpleClientset(p)
	w := NewWriter(client, ours, func() time.Time { return time.Unix(1000, 0) }, 0)
	ctx := context.Background()
	get := func() *gatewayv1.BackendTLSPolicy {
		t.Helper()
		got, err := client.GatewayV1().BackendTLSPolicies("apps").Get(ctx, "p", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	updates := func() int {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "update" && a.GetSubresource() == "status" {
				n++
			}
		}
		return n
	}

	desired := ancestor("infra", "gw", ours, true)
	if err := w.WritePolicy(ctx, "infra", "gw", PolicyResult{Policy: p, Ancestors: []gatewayv1.PolicyAncestorStatus{desired}}); err != nil {
		t.Fatal(err)
	}
	got := get()
	if len(got.Status.Ancestors) != 3 {
		t.Fatalf("ancestors = %+v, want 3", got.Status.Ancestors)
	}
	var mine *gatewayv1.PolicyAncestorStatus
	for i, a := range got.Status.Ancestors {
		if a.ControllerName == ours && a.AncestorRef.Name == "gw" {
			mine = &got.Status.Ancestors[i]
		}
		if a.ControllerName != ours && a.Conditions[0].Status != metav1.ConditionTrue {
			t.Errorf("another controller's entry changed: %+v", a)
		}
	}
	if mine == nil || mine.Conditions[0].Status != metav1.ConditionTrue || mine.Conditions[0].LastTransitionTime.IsZero() {
		t.Fatalf("our entry = %+v", mine)
	}

	// Unchanged: no write.
	before := updates()
	if err := w.WritePolicy(ctx, "infra", "gw", PolicyResult{Policy: got, Ancestors: []gatewayv1.PolicyAncestorStatus{desired}}); err != nil {
		t.Fatal(err)
	}
	if updates() != before {
		t.Error("an unchanged entry was written again")
	}

	// The Gateway stopped using the policy: its entry goes, the others stay.
	if err := w.WritePolicy(ctx, "infra", "gw", PolicyResult{Policy: got}); err != nil {
		t.Fatal(err)
	}
	got = get()
	if len(got.Status.Ancestors) != 2 {
		t.Fatalf("ancestors = %+v, want the other Gateway's and the other controller's", got.Status.Ancestors)
	}
	for _, a := range got.Status.Ancestors {
		if a.ControllerName == ours && a.AncestorRef.Name == "gw" {
			t.Errorf("stale entry kept: %+v", a)
		}
	}
}

// A full ancestors list (16, the API's limit) is never overflowed: a new Gateway's entry is
// left out rather than another Gateway's removed.
func TestWritePolicyFullAncestors(t *testing.T) {
	const ours = "example.com/ours"
	p := &gatewayv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "p"}}
	for i := 0; i < maxPolicyAncestors; i++ {
		p.Status.Ancestors = append(p.Status.Ancestors, ancestor("infra", "gw-"+string(rune('a'+i)), "example.com/theirs", true))
	}
	w := NewWriter(nil, ours, time.Now, 0)
	out, _ := w.mergeAncestors(p.Status.Ancestors, "infra", "new", []gatewayv1.PolicyAncestorStatus{ancestor("infra", "new", ours, true)})
	if len(out) != maxPolicyAncestors {
		t.Errorf("ancestors = %d, want %d", len(out), maxPolicyAncestors)
	}
}
