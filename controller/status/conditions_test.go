package status

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestMergeConditionsKeepsTransitionTimesAndForeignTypes(t *testing.T) {
	then, now := metav1.NewTime(testTime), metav1.NewTime(testTime.Add(time.Hour))
	existing := []metav1.Condition{
		{Type: "Accepted", Status: metav1.ConditionTrue, LastTransitionTime: then},
		{Type: "Programmed", Status: metav1.ConditionFalse, LastTransitionTime: then},
		{Type: "example.com/Other", Status: metav1.ConditionTrue, LastTransitionTime: then},
	}
	desired := []metav1.Condition{
		{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted"},
		{Type: "Programmed", Status: metav1.ConditionTrue, Reason: "Programmed"},
		{Type: "ResolvedRefs", Status: metav1.ConditionTrue},
	}
	got := mergeConditions(existing, desired, now)
	want := map[string]metav1.Time{"example.com/Other": then, "Accepted": then, "Programmed": now, "ResolvedRefs": now}
	if len(got) != len(want) {
		t.Fatalf("got %d conditions, want %d: %+v", len(got), len(want), got)
	}
	for _, c := range got {
		if !c.LastTransitionTime.Equal(&[]metav1.Time{want[c.Type]}[0]) {
			t.Errorf("%s: lastTransitionTime %v, want %v", c.Type, c.LastTransitionTime, want[c.Type])
		}
	}
	if desired[1].LastTransitionTime.IsZero() == false {
		t.Error("the desired conditions must not be modified")
	}
	if only := withTransitionTimes(existing, desired, now); len(only) != len(desired) {
		t.Errorf("withTransitionTimes must return exactly the desired conditions, got %d", len(only))
	}
}

// A Gateway condition the controller sets only in some states goes once it is no longer
// desired, and its going alone is a change to write; foreign types stay.
func TestStaleGatewayConditionsAreRemoved(t *testing.T) {
	existing := gatewayv1.GatewayStatus{Conditions: []metav1.Condition{
		{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted"},
		{Type: "InsecureFrontendValidationMode", Status: metav1.ConditionTrue, Reason: "ConfigurationChanged"},
		{Type: "example.com/Other", Status: metav1.ConditionTrue},
	}}
	desired := gatewayv1.GatewayStatus{Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted"}}}
	if !gatewayStatusChanged(existing, desired) {
		t.Error("dropping InsecureFrontendValidationMode must count as a change")
	}
	got := withoutStaleConditions(existing.Conditions, desired.Conditions)
	if len(got) != 2 || got[0].Type != "Accepted" || got[1].Type != "example.com/Other" {
		t.Errorf("got %+v, want Accepted and the foreign condition", got)
	}
	desired.Conditions = append(desired.Conditions, existing.Conditions[1])
	if gatewayStatusChanged(existing, desired) {
		t.Error("an unchanged occasional condition is no change")
	}
}
