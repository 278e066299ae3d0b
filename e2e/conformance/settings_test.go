package conformance

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
)

func TestSettingsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Settings
		wantErr error
	}{
		{
			name: "defaults run everything and write the published report",
			env:  map[string]string{"KUBECONFIG": "/k", "VERSION": "v1.0.0"},
			want: Settings{
				Kubeconfig:        "/k",
				GatewayClass:      "kengine",
				Profiles:          []suite.ConformanceProfileName{"GATEWAY-HTTP"},
				ReportPath:        "report.yaml",
				Version:           "v1.0.0",
				UsableAddresses:   []string{DefaultUsableAddress},
				UnusableAddresses: []string{DefaultUnusableAddress},
			},
		},
		{
			name: "every knob set",
			env: map[string]string{
				"KUBECONFIG":         "/k",
				"VERSION":            "v1.0.0-3-gabcdef-dirty",
				"GATEWAY_CLASS":      "other",
				"PROFILES":           "GATEWAY-HTTP, GATEWAY-GRPC,",
				"REPORT":             "/tmp/r.yaml",
				"SKIP_TESTS":         "A,,B ",
				"DEBUG":              "true",
				"TIMEOUT_OVERRIDES":  "NamespacesMustBeReady:600",
				"USABLE_ADDRESSES":   "127.0.100.250, 127.0.100.251",
				"UNUSABLE_ADDRESSES": "gw.invalid",
			},
			want: Settings{
				Kubeconfig:        "/k",
				GatewayClass:      "other",
				Profiles:          []suite.ConformanceProfileName{"GATEWAY-HTTP", "GATEWAY-GRPC"},
				ReportPath:        "/tmp/r.yaml",
				Version:           "v1.0.0-3-gabcdef-dirty",
				SkipTests:         []string{"A", "B"},
				Debug:             true,
				TimeoutOverrides:  "NamespacesMustBeReady:600",
				UsableAddresses:   []string{"127.0.100.250", "127.0.100.251"},
				UnusableAddresses: []string{"gw.invalid"},
			},
		},
		{
			name: "a single test writes no report and needs no version",
			env:  map[string]string{"KUBECONFIG": "/k", "RUN_TEST": "HTTPRouteSimpleSameNamespace"},
			want: Settings{
				Kubeconfig:        "/k",
				GatewayClass:      "kengine",
				Profiles:          []suite.ConformanceProfileName{"GATEWAY-HTTP"},
				RunTest:           "HTTPRouteSimpleSameNamespace",
				UsableAddresses:   []string{DefaultUsableAddress},
				UnusableAddresses: []string{DefaultUnusableAddress},
			},
		},
		{
			name: "a single test writes a report only when asked",
			env:  map[string]string{"KUBECONFIG": "/k", "RUN_TEST": "X", "REPORT": "x.yaml", "VERSION": "v1"},
			want: Settings{
				Kubeconfig:        "/k",
				GatewayClass:      "kengine",
				Profiles:          []suite.ConformanceProfileName{"GATEWAY-HTTP"},
				RunTest:           "X",
				ReportPath:        "x.yaml",
				Version:           "v1",
				UsableAddresses:   []string{DefaultUsableAddress},
				UnusableAddresses: []string{DefaultUnusableAddress},
			},
		},
		{
			name:    "no cluster",
			env:     map[string]string{"VERSION": "v1"},
			wantErr: ErrNoCluster,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SettingsFromEnv(func(k string) string { return tt.env[k] })
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("settings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSettingsFromEnvRejects(t *testing.T) {
	tests := map[string]map[string]string{
		"a report without a version": {"KUBECONFIG": "/k"},
		"a DEBUG that is not a bool": {"KUBECONFIG": "/k", "VERSION": "v1", "DEBUG": "loud"},
	}
	for name, env := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := SettingsFromEnv(func(k string) string { return env[k] }); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestSpecAddresses(t *testing.T) {
	ip, hostname := gatewayv1.IPAddressType, gatewayv1.HostnameAddressType
	got := specAddresses([]string{"127.0.100.200", "::1", "gw.invalid"})
	want := []gatewayv1.GatewaySpecAddress{
		{Type: &ip, Value: "127.0.100.200"},
		{Type: &ip, Value: "::1"},
		{Type: &hostname, Value: "gw.invalid"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("specAddresses mismatch (-want +got):\n%s", diff)
	}
}
