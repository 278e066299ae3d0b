package translate_test

import (
	"bytes"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/offline"
	"github.com/khulnasoft/gateway/controller/translate"
)

// update rewrites the golden files instead of comparing with them.
var update = flag.Bool("update", false, "rewrite ir.yaml and status.yaml of the golden cases")

// goldenDir holds one directory per feature: in.yaml (the objects) → ir.yaml + status.yaml
// (translate, here), and ir.yaml → kengine.json (render, in controller/render).
const goldenDir = "../testdata/golden"

// goldenOptions is an optional options.yaml of a golden case: what the snapshot and the
// options hold besides Kubernetes objects.
type goldenOptions struct {
	// AllowExternalNameBackends is translate.Options.AllowExternalNameBackends.
	AllowExternalNameBackends bool `json:"allowExternalNameBackends"`
	// ProxyAddresses are the Gateway's own Kengine pod addresses.
	ProxyAddresses []string `json:"proxyAddresses"`
	// ExternalNames maps an ExternalName to the addresses it resolves to, or to
	// ["error: <message>"] when it does not resolve.
	ExternalNames map[string][]string `json:"externalNames"`
	// Excluded lists objects Kengine refused, as "Kind namespace/name" or "Listener name",
	// with the message.
	Excluded []struct {
		Kind      string `json:"kind"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Message   string `json:"message"`
	} `json:"excluded"`
}

// goldenStatus is status.yaml: the status translate decided, without transition times.
type goldenStatus struct {
	Gateway struct {
		Conditions []metav1.Condition             `json:"conditions"`
		Listeners  []gatewayv1.ListenerStatus     `json:"listeners"`
		Served     map[gatewayv1.SectionName]bool `json:"served"`
		// AttachedListenerSets appears only in cases with ListenerSets.
		AttachedListenerSets int32 `json:"attachedListenerSets,omitempty"`
	} `json:"gateway"`
	// ListenerSets appear only in cases with ListenerSets.
	ListenerSets []goldenListenerSetStatus `json:"listenerSets,omitempty"`
	Routes       []goldenRouteStatus       `json:"routes"`
	// Policies appear only in cases with BackendTLSPolicies.
	Policies []goldenPolicyStatus `json:"policies,omitempty"`
}

type goldenPolicyStatus struct {
	Policy    string                           `json:"policy"`
	Ancestors []gatewayv1.PolicyAncestorStatus `json:"ancestors"`
}

type goldenListenerSetStatus struct {
	ListenerSet string                         `json:"listenerSet"`
	Conditions  []metav1.Condition             `json:"conditions"`
	Listeners   []gatewayv1.ListenerStatus     `json:"listeners,omitempty"`
	Served      map[gatewayv1.SectionName]bool `json:"served,omitempty"`
}

type goldenRouteStatus struct {
	Route   string                        `json:"route"`
	Parents []gatewayv1.RouteParentStatus `json:"parents"`
}

// TestGolden translates every golden case's in.yaml and compares the model and the status
// with ir.yaml and status.yaml. Run with -update to regenerate them, and read the diff.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(goldenDir, "*", "in.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases found")
	}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			s, opts := loadGoldenCase(t, dir)
			res := translate.Translate(s, opts)
			irYAML, err := yaml.Marshal(res.Gateway)
			if err != nil {
				t.Fatal(err)
			}
			var st goldenStatus
			st.Gateway.Conditions = res.Status.Gateway.Conditions
			st.Gateway.Listeners = res.Status.Gateway.Listeners
			st.Gateway.Served = res.Status.Gateway.Served
			st.Gateway.AttachedListenerSets = res.Status.Gateway.AttachedListenerSets
			for _, ls := range res.Status.ListenerSets {
				st.ListenerSets = append(st.ListenerSets, goldenListenerSetStatus{
					ListenerSet: ls.ListenerSet.Namespace + "/" + ls.ListenerSet.Name,
					Conditions:  ls.Conditions, Listeners: ls.Listeners, Served: ls.Served,
				})
			}
			for _, r := range res.Status.Routes {
				st.Routes = append(st.Routes, goldenRouteStatus{Route: r.Route.GetNamespace() + "/" + r.Route.GetName(), Parents: r.Parents})
			}
			for _, p := range res.Status.Policies {
				st.Policies = append(st.Policies, goldenPolicyStatus{Policy: p.Policy.Namespace + "/" + p.Policy.Name, Ancestors: p.Ancestors})
			}
			statusYAML, err := yaml.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join(dir, "ir.yaml"), irYAML)
			compareGolden(t, filepath.Join(dir, "status.yaml"), statusYAML)
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update and review the new file)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got); if the change is intended, rerun with -update and review the diff:\n%s", path, d)
	}
}

// loadGoldenCase reads in.yaml (and options.yaml) into a snapshot: the one Gateway, and every
// other object by kind.
func loadGoldenCase(t *testing.T, dir string) (*translate.Snapshot, translate.Options) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "in.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The objects are read as `kengine-gateway translate` reads them; every route goes into the
	// snapshot, as the controller's holds those that still name the Gateway in their status.
	objs := &offline.Objects{}
	if err := objs.Load(bytes.NewReader(data), ""); err != nil {
		t.Fatalf("in.yaml: %v", err)
	}
	if len(objs.Skipped) > 0 {
		t.Fatalf("in.yaml: unexpected kinds %v", objs.Skipped)
	}
	if len(objs.Gateways) != 1 {
		t.Fatalf("in.yaml holds %d Gateways, want one", len(objs.Gateways))
	}
	s := &translate.Snapshot{
		Gateway: objs.Gateways[0], ListenerSets: objs.ListenerSets,
		HTTPRoutes: objs.HTTPRoutes, GRPCRoutes: objs.GRPCRoutes,
		TLSRoutes: objs.TLSRoutes, TCPRoutes: objs.TCPRoutes, UDPRoutes: objs.UDPRoutes,
		Services: objs.Services, EndpointSlices: objs.EndpointSlices, Secrets: objs.Secrets,
		Namespaces: objs.Namespaces, ReferenceGrants: objs.ReferenceGrants,
		BackendTLSPolicies: objs.BackendTLSPolicies, ConfigMaps: objs.ConfigMaps,
	}
	for _, c := range objs.Classes {
		s.Class = c
	}
	opts := translate.Options{ControllerName: testobj.ControllerName, ReservedPorts: []int{2019, 2021, 19080, 19081, 19082}}
	if data, err := os.ReadFile(filepath.Join(dir, "options.yaml")); err == nil {
		var o goldenOptions
		if err := yaml.UnmarshalStrict(data, &o); err != nil {
			t.Fatalf("options.yaml: %v", err)
		}
		opts.AllowExternalNameBackends = o.AllowExternalNameBackends
		s.ProxyAddresses = o.ProxyAddresses
		s.ExternalNames = map[string]translate.ResolvedName{}
		for name, addrs := range o.ExternalNames {
			var res translate.ResolvedName
			for _, a := range addrs {
				if msg, ok := strings.CutPrefix(a, "error: "); ok {
					res.Err = errors.New(msg)
					continue
				}
				res.Addrs = append(res.Addrs, netip.MustParseAddr(a))
			}
			s.ExternalNames[name] = res
		}
		if len(o.Excluded) > 0 {
			s.Excluded = map[translate.ObjectRef]string{}
		}
		for _, e := range o.Excluded {
			s.Excluded[translate.ObjectRef{Kind: e.Kind, Namespace: e.Namespace, Name: e.Name}] = e.Message
		}
	} else if !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return s, opts
}
