package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The archive holds the controller built from this repository, runs it as a non-root user,
// carries its labels, gives the same digest when built twice, and its entrypoint runs.
func TestImageArchive(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "kengine-gateway")
	gobuild := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	gobuild.Dir = "../../.."
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := gobuild.CombinedOutput(); err != nil {
		t.Fatalf("building the controller: %v\n%s", err, out)
	}
	o := options{binary: bin, tag: "registry.example/kengine-gateway:1.2.3", version: "1.2.3", revision: "abc",
		source: "https://github.com/khulnasoft/gateway", created: time.Unix(1700000000, 0).UTC(), arch: "amd64"}
	o.out = filepath.Join(dir, "one.tar")
	first, err := build(o)
	if err != nil {
		t.Fatal(err)
	}
	o.out = filepath.Join(dir, "two.tar")
	second, err := build(o)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Errorf("two builds of the same binary gave %s and %s: not reproducible", first, second)
	}

	tag, _ := name.NewTag(o.tag)
	img, err := tarball.ImageFromPath(o.out, &tag)
	if err != nil {
		t.Fatalf("reading the archive back: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != nonRoot || strings.HasPrefix(cfg.Config.User, "0") {
		t.Errorf("user = %q, want the non-root %s", cfg.Config.User, nonRoot)
	}
	if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != binaryPath {
		t.Errorf("entrypoint = %v", cfg.Config.Entrypoint)
	}
	if cfg.Config.Labels["org.opencontainers.image.version"] != "1.2.3" || cfg.Config.Labels["org.opencontainers.image.source"] == "" {
		t.Errorf("labels = %v", cfg.Config.Labels)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want the binary's one", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	extracted := filepath.Join(dir, "rootfs", binaryPath)
	found := false
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if "/"+hdr.Name != binaryPath {
			t.Errorf("unexpected file %s in the layer", hdr.Name)
			continue
		}
		found = true
		if err := os.MkdirAll(filepath.Dir(extracted), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(extracted, os.O_CREATE|os.O_WRONLY, os.FileMode(hdr.Mode))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if !found {
		t.Fatal("the layer has no controller binary")
	}
	// The entrypoint, as a container runtime would start it, with --help.
	out, err := exec.Command(extracted, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-kubeconfig") {
		t.Errorf("%s --help: %v\n%s", binaryPath, err, out)
	}
}
