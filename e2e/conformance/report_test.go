package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
)

// sampleReport builds a report the way the suite does, profiles out of order.
func sampleReport() *confv1.ConformanceReport {
	report := &confv1.ConformanceReport{
		Implementation:    implementation,
		Date:              "2026-01-02T03:04:05Z",
		GatewayAPIVersion: "v1.6.3",
		GatewayAPIChannel: "experimental",
		Mode:              "default",
		ProfileReports: []confv1.ProfileReport{
			{
				Name:    "GATEWAY-HTTP",
				Summary: "Core tests failed with 1 test failures. Extended tests succeeded.",
				Core: confv1.Status{
					Result:      confv1.Failure,
					Statistics:  confv1.Statistics{Passed: 35, Failed: 1},
					FailedTests: []string{"HTTPRouteWeight"},
				},
				Extended: &confv1.ExtendedStatus{
					Status:              confv1.Status{Result: confv1.Success, Statistics: confv1.Statistics{Passed: 2}},
					SupportedFeatures:   []string{"HTTPRouteMethodMatching", "HTTPRouteQueryParamMatching"},
					UnsupportedFeatures: []string{"HTTPRouteCORS"},
				},
			},
			{
				Name: "GATEWAY-GRPC",
				Core: confv1.Status{
					Result:       confv1.Partial,
					Statistics:   confv1.Statistics{Passed: 10, Skipped: 1},
					SkippedTests: []string{"GRPCExactMethodMatching"},
				},
			},
		},
	}
	report.APIVersion, report.Kind = confv1.GroupVersion.String(), "ConformanceReport"
	report.Version = "v1.0.0"
	return report
}

func TestMarshalReportSortsProfiles(t *testing.T) {
	out, err := MarshalReport(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	grpc, http := strings.Index(text, "name: GATEWAY-GRPC"), strings.Index(text, "name: GATEWAY-HTTP")
	if grpc < 0 || http < 0 || grpc > http {
		t.Errorf("profiles not sorted by name:\n%s", text)
	}
	for _, want := range []string{
		"apiVersion: gateway.networking.k8s.io/v1", "kind: ConformanceReport", "organization: khulnasoft", "project: kengine-gateway",
		"url: https://github.com/khulnasoft/gateway", "version: v1.0.0", "- '@khulnasoft/gateway-maintainers'",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

func TestWriteReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.yaml")
	if err := WriteReport(path, sampleReport()); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o644 {
		t.Errorf("report mode = %v, want 0644", perm)
	}
}

func TestWriteSummary(t *testing.T) {
	var b strings.Builder
	if err := WriteSummary(&b, sampleReport(), Tally{Passed: 47, Failed: 1, Skipped: 1, NotSupported: 120}); err != nil {
		t.Fatal(err)
	}
	want := `Conformance summary: kengine-gateway v1.0.0, Gateway API v1.6.3 (experimental)
  GATEWAY-GRPC
    core     partial 10 passed, 0 failed, 1 skipped
      skipped: GRPCExactMethodMatching
  GATEWAY-HTTP
    core     failure 35 passed, 1 failed, 0 skipped
      failed: HTTPRouteWeight
    extended success 2 passed, 0 failed, 0 skipped
      features: HTTPRouteMethodMatching, HTTPRouteQueryParamMatching
      features not supported: 1
  all tests: 47 passed, 1 failed, 1 skipped, 120 not run (features not supported)
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("summary mismatch (-want +got):\n%s", diff)
	}
}
