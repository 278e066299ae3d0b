package nodeagent

import (
	"slices"
	"strings"
	"testing"
)

func TestRepository(t *testing.T) {
	for in, want := range map[string]string{
		"ghcr.io/khulnasoft/kengine":                        "ghcr.io/khulnasoft/kengine",
		"ghcr.io/khulnasoft/kengine:v1.2":                   "ghcr.io/khulnasoft/kengine",
		"ghcr.io/khulnasoft/kengine:v1@sha256:abcd":         "ghcr.io/khulnasoft/kengine",
		"registry.local:5000/echo-basic:dev":                "registry.local:5000/echo-basic",
		"registry.local:5000/echo-basic":                    "registry.local:5000/echo-basic",
		"docker.io/library/nginx:1.27":                      "library/nginx",
		"registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev": "registry.k8s.io/gateway-api/echo-basic",
	} {
		if got := Repository(in); got != want {
			t.Errorf("Repository(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestImageArgv(t *testing.T) {
	img := Image{Binary: "/bin-dir/kengine", Names: []string{"kengine", "caddy"}, Entrypoint: []string{"kengine"}, Cmd: []string{"run"}}
	tests := []struct {
		name          string
		command, args []string
		want          []string
		wantErr       string
	}{
		{name: "image defaults", want: []string{"/bin-dir/kengine", "run"}},
		{name: "args replace cmd", args: []string{"run", "--resume"}, want: []string{"/bin-dir/kengine", "run", "--resume"}},
		{name: "command drops cmd", command: []string{"kengine"}, want: []string{"/bin-dir/kengine"}},
		{name: "command by path", command: []string{"/usr/bin/caddy", "run"}, args: []string{"--config", "x"}, want: []string{"/bin-dir/kengine", "run", "--config", "x"}},
		{name: "unknown executable", command: []string{"sh", "-c", "true"}, wantErr: `executable "sh" is not available`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := img.Argv(tt.command, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Argv() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Argv() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDefaultImagesLookup(t *testing.T) {
	table := DefaultImages("/b")
	if img, ok := table.Lookup("ghcr.io/khulnasoft/kengine:anything"); !ok || img.Binary != "/b/kengine" {
		t.Errorf("kengine image maps to %+v, %v", img, ok)
	}
	// Every echo-basic tag the conformance suite v1.6.3 uses, in its base and test manifests.
	for _, ref := range []string{
		"registry.k8s.io/gateway-api/echo-basic:v1.5.1",
		"registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev.2",
		"registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev.3",
		"gcr.io/k8s-staging-gateway-api/echo-basic:v20240412-v1.0.0-394-g40c666fd",
	} {
		if img, ok := table.Lookup(ref); !ok || img.Binary != "/b/echo-basic" {
			t.Errorf("%s maps to %+v, %v", ref, img, ok)
		}
	}
	for _, ref := range []string{"registry.k8s.io/coredns/coredns:v1.12.2", "docker.io/coredns/coredns:1.11.1"} {
		img, ok := table.Lookup(ref)
		if !ok || img.Binary != "/b/coredns" {
			t.Errorf("%s maps to %+v, %v", ref, img, ok)
			continue
		}
		// The conformance pod sets only args, which follow the image's entrypoint.
		argv, err := img.Argv(nil, []string{"-conf", "/root/Corefile"})
		if want := []string{"/b/coredns", "-conf", "/root/Corefile"}; err != nil || !slices.Equal(argv, want) {
			t.Errorf("%s: Argv() = %q, %v; want %q", ref, argv, err, want)
		}
	}
	if _, ok := table.Lookup("nginx"); ok {
		t.Error("nginx must not map to anything")
	}
}
