package controller

import (
	"bufio"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/gateway-api/pkg/features"
)

// The README's feature table names every feature of the Gateway profiles once, and says "yes"
// exactly for the features the GatewayClass advertises: a feature claimed in status but not in
// the README (or the reverse) fails here.
func TestREADMEFeatureTable(t *testing.T) {
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]string{} // feature name → "yes" or "no"
	in := false
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.HasPrefix(line, "| feature | supported |") {
			in = true
			continue
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			t.Fatalf("README feature row %q has too few cells", line)
		}
		supported := strings.TrimSpace(cells[2])
		if supported != "yes" && supported != "no" {
			t.Errorf("README feature row %q: supported must be yes or no", line)
		}
		for _, name := range strings.Split(cells[1], ",") {
			name = strings.TrimSpace(name)
			if _, dup := rows[name]; dup {
				t.Errorf("README names feature %s twice", name)
			}
			rows[name] = supported
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}

	var wantNames []string
	for _, set := range []sets.Set[features.Feature]{
		features.GatewayCoreFeatures, features.GatewayExtendedFeatures, features.ReferenceGrantCoreFeatures,
		features.HTTPRouteCoreFeatures, features.HTTPRouteExtendedFeatures, features.GRPCRouteCoreFeatures,
		features.GRPCRouteExtendedFeatures, features.TLSRouteCoreFeatures, features.TLSRouteExtendedFeatures,
		features.TCPRouteExtendedFeatures, features.UDPRouteFeatures, features.BackendTLSPolicyCoreFeatures,
		features.BackendTLSPolicyExtendedFeatures,
	} {
		for feat := range set {
			wantNames = append(wantNames, string(feat.Name))
		}
	}
	sort.Strings(wantNames)
	var gotNames, yes []string
	for name, supported := range rows {
		gotNames = append(gotNames, name)
		if supported == "yes" {
			yes = append(yes, name)
		}
	}
	sort.Strings(gotNames)
	sort.Strings(yes)
	if d := cmp.Diff(wantNames, gotNames); d != "" {
		t.Errorf("README feature table: features of the Gateway profiles (-want +README):\n%s", d)
	}
	var claimed []string
	for _, f := range SupportedFeatures {
		claimed = append(claimed, string(f))
	}
	sort.Strings(claimed)
	if d := cmp.Diff(claimed, yes); d != "" {
		t.Errorf("README says yes for exactly the SupportedFeatures (-SupportedFeatures +README):\n%s", d)
	}
}
