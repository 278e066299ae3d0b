package nodeagent

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// The conformance suite's TLS backends (tls-backend in base/manifests.yaml, which every
// BackendTLSPolicy test sends to) mount their serving certificate from a Secret volume with
// items renaming tls.crt and tls.key to crt and key; echo-basic reads them from the mount
// path named in TLS_SERVER_CERT and TLS_SERVER_PRIVKEY. The volume holds exactly those two
// files, and a rotated Secret is rewritten on the next write.
func TestSecretVolumeItemsForTheConformanceTLSBackend(t *testing.T) {
	secrets := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	secret := &v1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gateway-conformance-infra", Name: "tls-checks-certificate"},
		Type:       v1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": []byte("CERT"), "tls.key": []byte("KEY"), "ca.crt": []byte("CA")},
	}
	if err := secrets.Add(secret); err != nil {
		t.Fatal(err)
	}
	w := volumeWriter{refs: refs{secrets: corelisters.NewSecretLister(secrets)}}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gateway-conformance-infra", Name: "tls-backend-0"},
		Spec: v1.PodSpec{Volumes: []v1.Volume{{Name: "secret-volume", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{
			SecretName: "tls-checks-certificate",
			Items:      []v1.KeyToPath{{Key: "tls.crt", Path: "crt"}, {Key: "tls.key", Path: "key"}},
		}}}}},
	}
	root := t.TempDir()
	paths, err := w.write(context.Background(), pod, "10.244.0.9", "10.244.0.1", root, true)
	if err != nil {
		t.Fatal(err)
	}
	dir := paths["secret-volume"]
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if read("crt") != "CERT" || read("key") != "KEY" {
		t.Errorf("crt=%q key=%q", read("crt"), read("key"))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("volume holds %d entries, want crt and key only", len(entries))
	}

	rotated := secret.DeepCopy()
	rotated.Data["tls.crt"] = []byte("CERT2")
	if err := secrets.Update(rotated); err != nil {
		t.Fatal(err)
	}
	if _, err := w.write(context.Background(), pod, "10.244.0.9", "10.244.0.1", root, false); err != nil {
		t.Fatal(err)
	}
	if read("crt") != "CERT2" {
		t.Errorf("after rotation crt=%q", read("crt"))
	}
}
