package nodeagent

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExpand(t *testing.T) {
	vals := map[string]string{"A": "x", "POD_IP": "10.244.0.2"}
	for in, want := range map[string]string{
		"plain":               "plain",
		"$(A)":                "x",
		"{$(POD_IP)}:80":      "{10.244.0.2}:80",
		"$(MISSING)":          "$(MISSING)",
		"$$(A)":               "$(A)",
		"cost $5":             "cost $5",
		"open $(A":            "open $(A",
		"$(A)$(A)-$(POD_IP)":  "xx-10.244.0.2",
		"{env.POD_IP}:$(A)$$": "{env.POD_IP}:x$",
	} {
		if got := expand(in, vals); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFieldValue(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: "p", Namespace: "ns", UID: "u",
		Labels:      map[string]string{"b": "2", "a": "1"},
		Annotations: map[string]string{"k": "v"},
	}}
	for path, want := range map[string]string{
		"metadata.name":               "p",
		"metadata.namespace":          "ns",
		"metadata.uid":                "u",
		"status.podIP":                "10.244.0.9",
		"status.hostIP":               "10.244.0.1",
		"metadata.labels":             "a=\"1\"\nb=\"2\"",
		"metadata.labels['b']":        "2",
		"metadata.annotations['k']":   "v",
		"metadata.annotations['nop']": "",
	} {
		got, err := fieldValue(pod, "10.244.0.9", "10.244.0.1", path)
		if err != nil || got != want {
			t.Errorf("fieldValue(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := fieldValue(pod, "", "", "spec.bogus"); err == nil {
		t.Error("an unknown field path must fail")
	}
}
