package conformance

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"
)

// MarshalReport renders report as the YAML we publish. The suite builds the profile list from a
// map, so it is sorted here: two runs with the same results differ only in their date.
func MarshalReport(report *confv1.ConformanceReport) ([]byte, error) {
	sorted := *report
	sorted.ProfileReports = slices.Clone(report.ProfileReports)
	slices.SortFunc(sorted.ProfileReports, func(a, b confv1.ProfileReport) int {
		return strings.Compare(a.Name, b.Name)
	})
	out, err := yaml.Marshal(sorted)
	if err != nil {
		return nil, fmt.Errorf("marshal conformance report: %w", err)
	}
	return out, nil
}

// WriteReport writes report to path, readable by all: the file is committed and published.
func WriteReport(path string, report *confv1.ConformanceReport) error {
	out, err := MarshalReport(report)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("write conformance report: %w", err)
	}
	return nil
}

// Tally counts what happened to the tests of one run, including those the report leaves out:
// the suite reports only tests that belong to a requested profile and whose features the
// GatewayClass lists.
type Tally struct {
	// Passed, Failed and Skipped count the tests that were meant to run, whatever their profile.
	Passed, Failed, Skipped int
	// NotSupported counts the tests not run because the GatewayClass does not list one of
	// their features.
	NotSupported int
}

// WriteSummary writes a short account of a run: per profile, the core and extended results with
// the names of failed and skipped tests, then the tally of every test the suite considered.
func WriteSummary(w io.Writer, report *confv1.ConformanceReport, tally Tally) error {
	var b strings.Builder
	version := report.Version
	if version == "" {
		version = "(no version)"
	}
	fmt.Fprintf(&b, "Conformance summary: %s %s, Gateway API %s (%s)\n",
		report.Project, version, report.GatewayAPIVersion, report.GatewayAPIChannel)
	sorted := slices.Clone(report.ProfileReports)
	slices.SortFunc(sorted, func(a, b confv1.ProfileReport) int { return strings.Compare(a.Name, b.Name) })
	for _, p := range sorted {
		fmt.Fprintf(&b, "  %s\n", p.Name)
		writeStatus(&b, "core", p.Core)
		if p.Extended != nil {
			writeStatus(&b, "extended", p.Extended.Status)
			if len(p.Extended.SupportedFeatures) > 0 {
				fmt.Fprintf(&b, "      features: %s\n", strings.Join(p.Extended.SupportedFeatures, ", "))
			}
			fmt.Fprintf(&b, "      features not supported: %d\n", len(p.Extended.UnsupportedFeatures))
		}
	}
	fmt.Fprintf(&b, "  all tests: %d passed, %d failed, %d skipped, %d not run (features not supported)\n",
		tally.Passed, tally.Failed, tally.Skipped, tally.NotSupported)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeStatus(b *strings.Builder, level string, s confv1.Status) {
	fmt.Fprintf(b, "    %-8s %-7s %d passed, %d failed, %d skipped\n", level, s.Result, s.Passed, s.Failed, s.Skipped)
	if len(s.FailedTests) > 0 {
		fmt.Fprintf(b, "      failed: %s\n", strings.Join(s.FailedTests, ", "))
	}
	if len(s.SkippedTests) > 0 {
		fmt.Fprintf(b, "      skipped: %s\n", strings.Join(s.SkippedTests, ", "))
	}
}
