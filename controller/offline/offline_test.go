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
