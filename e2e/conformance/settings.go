package conformance

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
)

// DefaultReportPath is where a full run writes its ConformanceReport, relative to this package's
// directory (go test runs there); it is the report the repository publishes.
const DefaultReportPath = "report.yaml"

// ErrNoCluster means KUBECONFIG is not set. The runner never falls back to ~/.kube/config, so it
// cannot create test namespaces in a cluster nobody named; TestConformance skips instead.
var ErrNoCluster = errors.New("KUBECONFIG is not set: name the cluster to test explicitly")

// Settings are the knobs of one conformance run, read from the environment so that run.sh and
// `make conformance` can pass them without flags. Every default runs the whole suite: nothing is
// skipped unless SKIP_TESTS or RUN_TEST says so.
type Settings struct {
	// Kubeconfig is the cluster to test ($KUBECONFIG, required).
	Kubeconfig string
	// GatewayClass is the GatewayClass the suite's Gateways use ($GATEWAY_CLASS).
	GatewayClass string
	// Profiles are the conformance profiles to report on ($PROFILES, comma-separated).
	Profiles []suite.ConformanceProfileName
	// ReportPath is where the ConformanceReport YAML goes ($REPORT); empty writes none.
	ReportPath string
	// Version is the implementation version written into the report ($VERSION, from
	// `git describe --tags --always --dirty` in run.sh).
	Version string
	// RunTest names the single test to run ($RUN_TEST); empty runs them all.
	RunTest string
	// SkipTests names tests not to run ($SKIP_TESTS, comma-separated). The report lists them as
	// skipped, so a run that skips core tests can never report core success.
	SkipTests []string
	// Debug makes the suite dump every request and response ($DEBUG); too much for CI.
	Debug bool
	// TimeoutOverrides are the suite's timeout overrides ($TIMEOUT_OVERRIDES, in the suite's
	// own syntax: "Name:seconds;Name:seconds", e.g. "NamespacesMustBeReady:600").
	TimeoutOverrides string
	// UsableAddresses are addresses a Gateway can ask for and get, for GatewayStaticAddresses
	// ($USABLE_ADDRESSES, comma-separated; DefaultUsableAddress).
	UsableAddresses []string
	// UnusableAddresses are addresses a Gateway can ask for but never gets
	// ($UNUSABLE_ADDRESSES, comma-separated; DefaultUnusableAddress).
	UnusableAddresses []string
}

// The addresses GatewayStaticAddresses asks for in the local environment, whose node agent
// gives each LoadBalancer Service one address of 127.0.100.0/24 (e2e/nodeagent/loadbalancer.go).
const (
	// DefaultUsableAddress lies in the upper quarter of that range, which the node agent hands
	// out only to a Service that asks for it: no other Gateway of the run can hold it.
	DefaultUsableAddress = "127.0.100.200"
	// DefaultUnusableAddress lies outside that range, so the node agent never assigns it. It is
	// only ever asked for, never connected to, and a loopback address in any case.
	DefaultUnusableAddress = "127.0.99.1"
)

// SettingsFromEnv reads the Settings from getenv (os.Getenv outside tests).
//
// A RUN_TEST run writes no report unless REPORT is set: a one-test report would overwrite the
// published one with a result that says nothing about the implementation.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{
		Kubeconfig:        strings.TrimSpace(getenv("KUBECONFIG")),
		GatewayClass:      strings.TrimSpace(getenv("GATEWAY_CLASS")),
		Version:           strings.TrimSpace(getenv("VERSION")),
		RunTest:           strings.TrimSpace(getenv("RUN_TEST")),
		SkipTests:         splitList(getenv("SKIP_TESTS")),
		TimeoutOverrides:  strings.TrimSpace(getenv("TIMEOUT_OVERRIDES")),
		UsableAddresses:   splitList(getenv("USABLE_ADDRESSES")),
		UnusableAddresses: splitList(getenv("UNUSABLE_ADDRESSES")),
	}
	if len(s.UsableAddresses) == 0 {
		s.UsableAddresses = []string{DefaultUsableAddress}
	}
	if len(s.UnusableAddresses) == 0 {
		s.UnusableAddresses = []string{DefaultUnusableAddress}
	}
	if s.Kubeconfig == "" {
		return Settings{}, ErrNoCluster
	}
	if s.GatewayClass == "" {
		s.GatewayClass = "kengine"
	}

	profiles := splitList(getenv("PROFILES"))
	if len(profiles) == 0 {
		profiles = []string{string(suite.GatewayHTTPConformanceProfileName)}
	}
	for _, p := range profiles {
		s.Profiles = append(s.Profiles, suite.ConformanceProfileName(p))
	}

	s.ReportPath = strings.TrimSpace(getenv("REPORT"))
	if s.ReportPath == "" && s.RunTest == "" {
		s.ReportPath = DefaultReportPath
	}
	if s.ReportPath != "" && s.Version == "" {
		return Settings{}, errors.New("VERSION is not set: the report needs the implementation version (run.sh sets it from git describe)")
	}

	if v := strings.TrimSpace(getenv("DEBUG")); v != "" {
		debug, err := strconv.ParseBool(v)
		if err != nil {
			return Settings{}, fmt.Errorf("DEBUG=%q: %w", v, err)
		}
		s.Debug = debug
	}
	return s, nil
}

// splitList splits a comma-separated value, dropping blanks so that "A, B," means [A B].
func splitList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// specAddresses turns addresses into Gateway spec addresses the way the suite's own
// --usable-address flag does: an IP address is an IPAddress, anything else a Hostname.
func specAddresses(values []string) []gatewayv1.GatewaySpecAddress {
	var out []gatewayv1.GatewaySpecAddress
	for _, v := range values {
		t := gatewayv1.HostnameAddressType
		if _, err := netip.ParseAddr(v); err == nil {
			t = gatewayv1.IPAddressType
		}
		out = append(out, gatewayv1.GatewaySpecAddress{Type: &t, Value: v})
	}
	return out
}
