package helm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

const (
	chartDir     = "../../../manifests/chart/kengine-gateway"
	manifestsDir = "../../../manifests"
	rootMakefile = "../../../Makefile"
)

// manifestFiles are the plain manifests that the chart renders with default values.
// 00-namespace.yaml is not among them: helm creates the namespace (--create-namespace).
var manifestFiles = []string{"10-rbac.yaml", "20-deployment.yaml", "30-gatewayclass.yaml"}

// helmLabels are the labels a chart conventionally adds to tie an object to its release;
// the plain manifests do without them. They are the only difference allowed.
var helmLabels = []string{
	"helm.sh/chart",
	"app.kubernetes.io/managed-by",
	"app.kubernetes.io/instance",
	"app.kubernetes.io/version",
}

// labelPaths are where an object holds labels: its own, and a Deployment's selector and pod
// template (the chart's selector adds the release, as charts do).
var labelPaths = [][]string{
	{"metadata", "labels"},
	{"spec", "selector", "matchLabels"},
	{"spec", "template", "metadata", "labels"},
}

// helmBinary is the pinned helm that TestMain builds.
var helmBinary string

// TestMain builds the pinned helm once: `go tool -n helm` builds the tool of this module's
// go.mod into the build cache and prints its path instead of running it, which saves every
// later run the go command's staleness check of helm's few hundred packages.
func TestMain(m *testing.M) {
	out, err := exec.Command("go", "tool", "-n", "helm").Output()
	if err != nil {
		var stderr []byte
		if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
			stderr = exit.Stderr
		}
		fmt.Fprintf(os.Stderr, "building helm: %v\n%s", err, stderr)
		os.Exit(1)
	}
	helmBinary = strings.TrimSpace(string(out))
	os.Exit(m.Run())
}

// runHelm runs the pinned helm with its home directories in a temporary directory, so that
// no user configuration plays a part.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), helmBinary, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// render runs helm template with the values in valuesYAML (none when empty).
func render(t *testing.T, release, namespace, valuesYAML string) (string, error) {
	t.Helper()
	args := []string{"template", release, chartDir, "--namespace", namespace}
	if valuesYAML != "" {
		args = append(args, "--values", writeValues(t, valuesYAML))
	}
	return runHelm(t, args...)
}

// writeValues writes a values file and returns its path. Not under t.TempDir: that path
// holds the test name, and helm splits --values at commas.
func writeValues(t *testing.T, valuesYAML string) string {
	t.Helper()
	f, err := os.CreateTemp("", "kengine-gateway-values-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	if _, err := f.WriteString(valuesYAML); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// parseObjects parses a stream of YAML documents into generic objects keyed by objectKey.
// Documents holding only comments are skipped; two objects with one key fail the test.
func parseObjects(t *testing.T, source string, data []byte) map[string]map[string]any {
	t.Helper()
	objects := map[string]map[string]any{}
	for i, doc := range documentSeparator.Split(string(data), -1) {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("%s: document %d: %v", source, i, err)
		}
		if obj == nil {
			continue
		}
		key := objectKey(obj)
		if _, dup := objects[key]; dup {
			t.Fatalf("%s: %s appears twice", source, key)
		}
		objects[key] = obj
	}
	return objects
}

// objectKey names an object as "Kind namespace/name", or "Kind name" when cluster-scoped.
func objectKey(obj map[string]any) string {
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if ns, _ := meta["namespace"].(string); ns != "" {
		return kind + " " + ns + "/" + name
	}
	return kind + " " + name
}

// dropHelmLabels removes helmLabels from every label map of obj, and a map left empty.
func dropHelmLabels(obj map[string]any) {
	for _, path := range labelPaths {
		parent := obj
		for _, p := range path[:len(path)-1] {
			parent, _ = parent[p].(map[string]any)
		}
		last := path[len(path)-1]
		labels, ok := parent[last].(map[string]any)
		if !ok {
			continue
		}
		for _, l := range helmLabels {
			delete(labels, l)
		}
		if len(labels) == 0 {
			delete(parent, last)
		}
	}
}

// lookup returns the value at a dotted path; a number indexes a list.
func lookup(v any, path string) (any, bool) {
	for _, p := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = node[p]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func TestChartLint(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values string
	}{
		{name: "default values"},
		{name: "every value changed", values: everyValueChanged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir}
			if tc.values != "" {
				args = append(args, "--values", writeValues(t, tc.values))
			}
			if _, err := runHelm(t, args...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The chart installs the release the manifests install.
func TestChartAppVersionIsRelease(t *testing.T) {
	makefile, err := os.ReadFile(rootMakefile)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^RELEASE\s*:=\s*(\S+)`).FindSubmatch(makefile)
	if m == nil {
		t.Fatal("no RELEASE := line in the root Makefile")
	}
	data, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		t.Fatal(err)
	}
	if chart.AppVersion != string(m[1]) {
		t.Errorf("Chart.yaml appVersion is %q, the Makefile's RELEASE is %q", chart.AppVersion, m[1])
	}
}

// With default values and the release name kengine-gateway, the chart renders exactly the
// objects of the plain manifests, up to the labels helm adds.
func TestDefaultRenderEqualsManifests(t *testing.T) {
	want := map[string]map[string]any{}
	for _, f := range manifestFiles {
		data, err := os.ReadFile(filepath.Join(manifestsDir, f))
		if err != nil {
			t.Fatal(err)
		}
		for key, obj := range parseObjects(t, f, data) {
			if _, dup := want[key]; dup {
				t.Fatalf("%s: %s is also in another manifest", f, key)
			}
			want[key] = obj
		}
	}
	out, err := render(t, "kengine-gateway", "kengine-gateway-system", "")
	if err != nil {
		t.Fatal(err)
	}
	got := parseObjects(t, "helm template", []byte(out))

	for _, key := range sortedKeys(want) {
		if _, ok := got[key]; !ok {
			t.Errorf("%s is in manifests/ but the chart does not render it", key)
		}
	}
	for _, key := range sortedKeys(got) {
		w, ok := want[key]
		if !ok {
			t.Errorf("the chart renders %s, which manifests/ does not have", key)
			continue
		}
		dropHelmLabels(w)
		dropHelmLabels(got[key])
		if diff := cmp.Diff(w, got[key]); diff != "" {
			t.Errorf("%s differs (-manifests/ +chart):\n%s", key, diff)
		}
	}
}

func sortedKeys(m map[string]map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// everyValueChanged sets every value away from its default, under another release name and
// namespace (TestValues, "every value changed").
const everyValueChanged = `
image:
  repository: registry.example.com/kengine-gateway
  tag: v0.2.0
  pullPolicy: Always
replicas: 1
resources:
  requests:
    cpu: 10m
leaderElection:
  enabled: false
logLevel: 4
metrics:
  enabled: false
controllerName: example.com/edge-gateway
gatewayClass:
  name: edge
  description: "Edge Gateways: served by Kengine."
  parameters:
    create: true
    image: registry.example.com/kengine:v2
    replicas: 3
    serviceType: ClusterIP
    resources:
      requests:
        cpu: 100m
    kind: DaemonSet
    allowExternalNameBackends: true
kengineImage: registry.example.com/kengine:v1
extraArgs: [--workers=8]
nodeSelector:
  kubernetes.io/os: linux
tolerations:
  - key: dedicated
    operator: Exists
affinity:
  nodeAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 1
        preference:
          matchExpressions:
            - {key: example.com/edge, operator: Exists}
podAnnotations:
  example.com/team: edge
`

// releaseObjects are the objects of every render but the GatewayClass and its ConfigMap:
// RBAC and the Deployment, named after the release's full name, and with leaderElection the
// Lease Role and RoleBinding.
func releaseObjects(fullname, namespace string, leaderElection bool) []string {
	objects := []string{
		"ServiceAccount " + namespace + "/" + fullname,
		"ClusterRole " + fullname,
		"ClusterRoleBinding " + fullname,
		"ClusterRole " + fullname + "-managed",
		"ClusterRoleBinding " + fullname + "-managed",
		"Role " + namespace + "/" + fullname + "-admin-ca",
		"RoleBinding " + namespace + "/" + fullname + "-admin-ca",
		"Deployment " + namespace + "/" + fullname,
	}
	if leaderElection {
		objects = append(objects,
			"Role "+namespace+"/"+fullname+"-leader-election",
			"RoleBinding "+namespace+"/"+fullname+"-leader-election")
	}
	return objects
}

// check is one expectation on a rendered object.
type check struct {
	object string // objectKey of the object
	path   string // dotted path into it; a number indexes a list
	want   string // YAML of the value; empty when the path must not exist
}

func TestValues(t *testing.T) {
	const (
		deploy    = "Deployment edge-system/edge-kengine-gateway"
		container = "spec.template.spec.containers.0"
	)
	tests := []struct {
		name      string
		release   string
		namespace string
		values    string
		objects   []string // exactly the objects rendered
		checks    []check
	}{
		{
			name:      "every value changed",
			release:   "edge",
			namespace: "edge-system",
			values:    everyValueChanged,
			objects: append(releaseObjects("edge-kengine-gateway", "edge-system", false),
				"ConfigMap edge-system/edge-kengine-gateway-parameters",
				"GatewayClass edge"),
			checks: []check{
				{deploy, "spec.replicas", "1"},
				// No --leader-elect, and an empty metrics address turns /metrics off.
				{deploy, container + ".args", `
- --namespace=$(POD_NAMESPACE)
- --controller-name=example.com/edge-gateway
- --metrics-bind-address=
- --admin-ca-secret=edge-kengine-gateway-admin-ca
- --kengine-image=registry.example.com/kengine:v1
- --v=4
- --workers=8`},
				{deploy, container + ".ports", "[{name: probes, containerPort: 8081}]"},
				{deploy, container + ".image", "registry.example.com/kengine-gateway:v0.2.0"},
				{deploy, container + ".imagePullPolicy", "Always"},
				// Helm merges maps: the default requests.memory and limits stay.
				{deploy, container + ".resources", "{requests: {cpu: 10m, memory: 64Mi}, limits: {memory: 512Mi}}"},
				{deploy, "spec.selector.matchLabels", `
app.kubernetes.io/name: kengine-gateway
app.kubernetes.io/instance: edge`},
				{deploy, "spec.template.metadata.annotations", "{example.com/team: edge}"},
				{deploy, "spec.template.spec.serviceAccountName", "edge-kengine-gateway"},
				{deploy, "spec.template.spec.nodeSelector", "{kubernetes.io/os: linux}"},
				{deploy, "spec.template.spec.tolerations", "[{key: dedicated, operator: Exists}]"},
				{deploy, "spec.template.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.weight", "1"},
				{"ClusterRoleBinding edge-kengine-gateway", "subjects", "[{kind: ServiceAccount, name: edge-kengine-gateway, namespace: edge-system}]"},
				{"ClusterRoleBinding edge-kengine-gateway", "roleRef.name", "edge-kengine-gateway"},
				{"ClusterRoleBinding edge-kengine-gateway-managed", "subjects", "[{kind: ServiceAccount, name: edge-kengine-gateway, namespace: edge-system}]"},
				{"ClusterRoleBinding edge-kengine-gateway-managed", "roleRef.name", "edge-kengine-gateway-managed"},
				{"Role edge-system/edge-kengine-gateway-admin-ca", "rules.1.resourceNames", "[edge-kengine-gateway-admin-ca]"},
				{"RoleBinding edge-system/edge-kengine-gateway-admin-ca", "subjects", "[{kind: ServiceAccount, name: edge-kengine-gateway, namespace: edge-system}]"},
				{"ConfigMap edge-system/edge-kengine-gateway-parameters", "data", `
image: registry.example.com/kengine:v2
replicas: "3"
serviceType: ClusterIP
resources: '{"requests":{"cpu":"100m"}}'
kind: DaemonSet
allowExternalNameBackends: "true"`},
				{"GatewayClass edge", "spec", `
controllerName: example.com/edge-gateway
description: "Edge Gateways: served by Kengine."
parametersRef:
  group: ""
  kind: ConfigMap
  name: edge-kengine-gateway-parameters
  namespace: edge-system`},
			},
		},
		{
			name:      "another release keeps its own lease and admin CA",
			release:   "edge",
			namespace: "edge-system",
			values:    "metrics: {port: 9090}\nprobes: {port: 9091}\n",
			objects:   append(releaseObjects("edge-kengine-gateway", "edge-system", true), "GatewayClass kengine"),
			checks: []check{
				{deploy, "spec.replicas", "2"},
				{deploy, container + ".args", `
- --leader-elect
- --namespace=$(POD_NAMESPACE)
- --leader-election-id=edge-kengine-gateway
- --metrics-bind-address=:9090
- --health-probe-bind-address=:9091
- --admin-ca-secret=edge-kengine-gateway-admin-ca`},
				{deploy, container + ".ports", "[{name: metrics, containerPort: 9090}, {name: probes, containerPort: 9091}]"},
				{deploy, container + ".imagePullPolicy", ""},
				{deploy, "spec.template.metadata.annotations", ""},
				{deploy, "spec.template.spec.nodeSelector", ""},
				{"Role edge-system/edge-kengine-gateway-leader-election", "rules.1.resourceNames", "[edge-kengine-gateway]"},
				{"RoleBinding edge-system/edge-kengine-gateway-leader-election", "subjects", "[{kind: ServiceAccount, name: edge-kengine-gateway, namespace: edge-system}]"},
				{"GatewayClass kengine", "spec.parametersRef", ""},
			},
		},
		{
			name:      "lease name, no GatewayClass",
			release:   "kengine-gateway",
			namespace: "kengine-gateway-system",
			values:    "leaderElection: {leaseName: kengine-lease}\ngatewayClass: {create: false}\n",
			objects:   releaseObjects("kengine-gateway", "kengine-gateway-system", true),
			checks: []check{
				{"Deployment kengine-gateway-system/kengine-gateway", container + ".args", `
- --leader-elect
- --namespace=$(POD_NAMESPACE)
- --leader-election-id=kengine-lease`},
				{"Role kengine-gateway-system/kengine-gateway-leader-election", "rules.1.resourceNames", "[kengine-lease]"},
			},
		},
		{
			name:      "parameters with no keys set",
			release:   "kengine-gateway",
			namespace: "kengine-gateway-system",
			values:    "gatewayClass: {parameters: {create: true}}\n",
			objects: append(releaseObjects("kengine-gateway", "kengine-gateway-system", true),
				"ConfigMap kengine-gateway-system/kengine-gateway-parameters",
				"GatewayClass kengine"),
			checks: []check{
				{"ConfigMap kengine-gateway-system/kengine-gateway-parameters", "data", "{}"},
				{"GatewayClass kengine", "spec.parametersRef", "{group: '', kind: ConfigMap, name: kengine-gateway-parameters, namespace: kengine-gateway-system}"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := render(t, tc.release, tc.namespace, tc.values)
			if err != nil {
				t.Fatal(err)
			}
			objects := parseObjects(t, "helm template", []byte(out))
			wantKeys := slices.Sorted(slices.Values(tc.objects))
			if diff := cmp.Diff(wantKeys, sortedKeys(objects)); diff != "" {
				t.Errorf("rendered objects (-want +got):\n%s", diff)
			}
			for _, c := range tc.checks {
				obj, ok := objects[c.object]
				if !ok {
					t.Errorf("%s: not rendered", c.object)
					continue
				}
				got, found := lookup(obj, c.path)
				if c.want == "" {
					if found {
						t.Errorf("%s %s: want no value, got %v", c.object, c.path, got)
					}
					continue
				}
				var want any
				if err := yaml.Unmarshal([]byte(c.want), &want); err != nil {
					t.Fatalf("%s %s: bad want: %v", c.object, c.path, err)
				}
				if !found {
					t.Errorf("%s %s: missing, want %v", c.object, c.path, want)
					continue
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s %s (-want +got):\n%s", c.object, c.path, diff)
				}
			}
		})
	}
}

// Combinations that cannot work fail the render with a message instead of installing.
func TestValuesRejected(t *testing.T) {
	for _, tc := range []struct {
		name, values, wantErr string
	}{
		{
			name:    "replicas without leader election",
			values:  "replicas: 2\nleaderElection: {enabled: false}\n",
			wantErr: "replicas above 1 need leaderElection.enabled",
		},
		{
			name:    "parameters without a GatewayClass",
			values:  "gatewayClass: {create: false, parameters: {create: true}}\n",
			wantErr: "gatewayClass.parameters.create needs gatewayClass.create",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, "kengine-gateway", "kengine-gateway-system", tc.values)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
