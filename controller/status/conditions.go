package status

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxMessage bounds condition messages (the API allows 32768 bytes).
const MaxMessage = 4096

// Condition builds a condition without LastTransitionTime; the writer supplies it.
func Condition[T ~string, R ~string](typ T, status bool, reason R, message string, generation int64) metav1.Condition {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: string(typ), Status: s, Reason: string(reason), Message: message, ObservedGeneration: generation}
}

// Truncate shortens a message to MaxMessage bytes.
func Truncate(s string) string {
	if len(s) <= MaxMessage {
		return s
	}
	return s[:MaxMessage-3] + "..."
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

// conditionsChanged reports whether writing desired would change existing, ignoring
// LastTransitionTime.
func conditionsChanged(existing, desired []metav1.Condition) bool {
	for _, d := range desired {
		found := false
		for _, e := range existing {
			if e.Type == d.Type {
				found = true
				if e.Status != d.Status || e.Reason != d.Reason || e.Message != d.Message || e.ObservedGeneration != d.ObservedGeneration {
					return true
				}
			}
		}
		if !found {
			return true
		}
	}
	return false
}
