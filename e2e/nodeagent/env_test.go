package nodeagent

import (
	"net/netip"
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

// TestContainerEnvInClusterAPI: every container learns where the API server is, as kubelet
// tells it through the kubernetes Service's variables, and its own env still wins.
func TestContainerEnvInClusterAPI(t *testing.T) {
	a := &Agent{apiRelay: netip.MustParseAddrPort("10.244.0.1:6443")}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	c := &v1.Container{Name: "c", Env: []v1.EnvVar{{Name: "KUBERNETES_SERVICE_PORT", Value: "8443"}}}
	env, err := containerEnv(pod, c, Image{Env: []string{"IMG=1"}}, refs{}, a.apiServerEnv(), "10.244.0.9", "10.244.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := envMap(env)
	for k, want := range map[string]string{
		"KUBERNETES_SERVICE_HOST":       "10.244.0.1",
		"KUBERNETES_SERVICE_PORT":       "8443",
		"KUBERNETES_SERVICE_PORT_HTTPS": "6443",
		"IMG":                           "1",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q (env %v)", k, got[k], want, env)
		}
	}
	if env := (&Agent{}).apiServerEnv(); env != nil {
		t.Errorf("without a relay the agent must not announce an API server: %v", env)
	}
}
