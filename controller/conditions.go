package controller

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// condition builds a condition without LastTransitionTime; mergeConditions supplies it.
func condition[T ~string, R ~string](typ T, status bool, reason R, message string, generation int64) metav1.Condition {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: string(typ), Status: s, Reason: string(reason), Message: message, ObservedGeneration: generation}
}

// mergeConditions returns the desired conditions with LastTransitionTime carried over from the
// existing ones whose status did not change, and set to now otherwise. Conditions of other
// types that already exist are kept, so a field owned by someone else is never erased.
func mergeConditions(existing, desired []metav1.Condition, now metav1.Time) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(existing)+len(desired))
	for _, c := range existing {
		if meta.FindStatusCondition(desired, c.Type) == nil {
			out = append(out, c)
		}
	}
	for _, d := range desired {
		if old := meta.FindStatusCondition(existing, d.Type); old != nil && old.Status == d.Status {
			d.LastTransitionTime = old.LastTransitionTime
		} else {
			d.LastTransitionTime = now
		}
		out = append(out, d)
	}
	return out
}
