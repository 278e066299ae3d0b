package offline

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/kengine"
)

var update = flag.Bool("update", false, "rewrite testdata/out.yaml")

const controllerName = "khulnasoft.com/kengine-gateway"

// The objects of testdata/in.yaml give testdata/out.yaml: one config and the status for the
// Gateway of ours, nothing for the Gateway of another controller.
func TestTranslateGolden(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "in.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs := &Objects{}
	if err := objs.Load(f, "default"); err != nil {
		t.Fatal(err)
	}
	if objs.Skipped["Deployment"] != 1 {
		t.Errorf("skipped = %v, want the Deployment counted", objs.Skipped)
	}
	results := Translate(objs, controllerName, render.Options{Admin: &kengine.Admin{Disabled: true}, HealthPort: 19080})
	if len(results) != 1 || results[0].Gateway != "infra/gw" || results[0].Error != "" {
		t.Fatalf("results = %+v, want the config of infra/gw only", results)
	}
	data, err := json.Marshal(results)
	if err != nil {
		t.Fatal(err)
	}
	if data, err = yaml.JSONToYAML(data); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "out.yaml")
	if *update {
		if err := os.WriteFile(golden, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if d := cmp.Diff(string(want), string(data)); d != "" {
		t.Errorf("out.yaml differs (-want +got); rerun with -update and review:\n%s", d)
	}
}

// A misspelt field is an error, as the API server would make it, and names the kind.
func TestLoadIsStrict(t *testing.T) {
	objs := &Objects{}
	err := objs.Load(strings.NewReader("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {hostnamez: [a]}\n"), "default")
	if err == nil || !strings.Contains(err.Error(), "HTTPRoute") {
		t.Errorf("error = %v, want a strict decoding error naming HTTPRoute", err)
	}
	objs = &Objects{}
	if err := objs.Load(bytes.NewReader([]byte("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n")), "team-a"); err != nil {
		t.Fatal(err)
	}
	if got := objs.HTTPRoutes[0].Namespace; got != "team-a" {
		t.Errorf("namespace = %q, want the default namespace", got)
	}
}

// What `kubectl get -o yaml` prints is a List: its items are the objects.
func TestLoadList(t *testing.T) {
	objs := &Objects{}
	list := `apiVersion: v1
kind: List
items:
- apiVersion: gateway.networking.k8s.io/v1
  kind: HTTPRoute
  metadata: {namespace: apps, name: r}
- apiVersion: v1
  kind: Service
  metadata: {namespace: apps, name: web}
`
	if err := objs.Load(strings.NewReader(list), "default"); err != nil {
		t.Fatal(err)
	}
	if len(objs.HTTPRoutes) != 1 || len(objs.Services) != 1 {
		t.Errorf("loaded %d routes and %d Services from the List, want 1 and 1", len(objs.HTTPRoutes), len(objs.Services))
	}
}

// Every kind the controller translates is read: TLS, TCP and UDP routes reach their Gateway's
// snapshot, and a BackendTLSPolicy with its CA ConfigMap reaches the snapshot of the Gateway
// whose route uses the targeted Service.
func TestLoadEveryKind(t *testing.T) {
	in := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {namespace: infra, name: gw}
spec: {gatewayClassName: kengine, listeners: [{name: tcp, protocol: TCP, port: 9000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {namespace: infra, name: tcp}
spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{name: db, port: 5432}]}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: UDPRoute
metadata: {namespace: infra, name: udp}
spec: {parentRefs: [{name: other}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {namespace: infra, name: tls}
spec: {parentRefs: [{name: gw}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {namespace: infra, name: db-tls}
spec:
  targetRefs: [{group: "", kind: Service, name: db}]
  validation: {hostname: db.example.com, caCertificateRefs: [{group: "", kind: ConfigMap, name: db-ca}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {namespace: infra, name: db-ca}
data: {ca.crt: "not a certificate"}
`
	objs := &Objects{}
	if err := objs.Load(strings.NewReader(in), "default"); err != nil {
		t.Fatal(err)
	}
	s := objs.Snapshot(objs.Gateways[0])
	if len(s.TCPRoutes) != 1 || len(s.TLSRoutes) != 1 || len(s.UDPRoutes) != 0 {
		t.Errorf("snapshot routes: %d TCP, %d TLS, %d UDP; want 1, 1 and 0 (the UDPRoute names another Gateway)", len(s.TCPRoutes), len(s.TLSRoutes), len(s.UDPRoutes))
	}
	if len(s.BackendTLSPolicies) != 1 || s.ConfigMaps[types.NamespacedName{Namespace: "infra", Name: "db-ca"}] == nil {
		t.Errorf("snapshot policies %d, ConfigMaps %v; want the policy and its CA ConfigMap", len(s.BackendTLSPolicies), s.ConfigMaps)
	}
}
