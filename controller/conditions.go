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

// mergeConditions returns the desired conditions with their transition times (see
// withTransitionTimes), after the existing conditions of other types: a condition owned by
// someone else is never erased.
func mergeConditions(existing, desired []metav1.Condition, now metav1.Time) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(existing)+len(desired))
	for _, c := range existing {
		if meta.FindStatusCondition(desired, c.Type) == nil {
			out = append(out, c)
		}
	}
	return append(out, withTransitionTimes(existing, desired, now)...)
}

// withTransitionTimes returns a copy of desired whose LastTransitionTime is carried over from
// the old condition of the same type when its status did not change, and is now otherwise.
func withTransitionTimes(old, desired []metav1.Condition, now metav1.Time) []metav1.Condition {
	out := make([]metav1.Condition, len(desired))
	for i, d := range desired {
		if o := meta.FindStatusCondition(old, d.Type); o != nil && o.Status == d.Status {
			d.LastTransitionTime = o.LastTransitionTime
		} else {
			d.LastTransitionTime = now
		}
		out[i] = d
	}
	return out
}
