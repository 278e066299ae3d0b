// Command images writes the controller's container image as an archive that `docker load`,
// `podman load` and `crane push` accept: the static binary alone on an empty base, run as a
// non-root user, labelled with its version and source. The same binary and flags always give
// the same image digest: every timestamp is the commit's, and the layer is written in a fixed
// order with fixed owners and modes.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// nonRoot is the user the controller runs as: the conventional "nonroot" of distroless images.
const nonRoot = "65532:65532"

// binaryPath is where the controller sits in the image.
const binaryPath = "/kengine-gateway"

// options are the command's flags.
type options struct {
	binary   string
	out      string
	tag      string
	version  string
	revision string
	source   string
	created  time.Time
	arch     string
}

func main() {
	var o options
	var epoch int64
	flag.StringVar(&o.binary, "binary", "bin/kengine-gateway", "the static controller binary")
	flag.StringVar(&o.out, "out", "bin/kengine-gateway-image.tar", "the image archive to write")
	flag.StringVar(&o.tag, "tag", "ghcr.io/khulnasoft/kengine-gateway:dev", "the image's name and tag in the archive")
	flag.StringVar(&o.version, "version", "dev", "org.opencontainers.image.version")
	flag.StringVar(&o.revision, "revision", "", "org.opencontainers.image.revision (the commit)")
	flag.StringVar(&o.source, "source", "https://github.com/khulnasoft/gateway", "org.opencontainers.image.source")
	flag.Int64Var(&epoch, "created", 0, "creation time, seconds since the epoch (the commit time, for a reproducible digest)")
	flag.StringVar(&o.arch, "arch", "amd64", "the binary's architecture")
	flag.Parse()
	o.created = time.Unix(epoch, 0).UTC()
	digest, err := build(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%s, %s)\n", o.out, o.tag, digest)
}

// build writes the archive and returns the image digest.
func build(o options) (v1.Hash, error) {
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return v1.Hash{}, err
	}
	layerTar, err := layerArchive(bin, o.created)
	if err != nil {
		return v1.Hash{}, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: o.created}, CreatedBy: "make images", Comment: "the static kengine-gateway binary"},
	})
	if err != nil {
		return v1.Hash{}, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return v1.Hash{}, err
	}
	cfg = cfg.DeepCopy()
	cfg.Created = v1.Time{Time: o.created}
	cfg.OS, cfg.Architecture = "linux", o.arch
	cfg.Config.Entrypoint = []string{binaryPath}
	cfg.Config.User = nonRoot
	cfg.Config.WorkingDir = "/"
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    "kengine-gateway",
		"org.opencontainers.image.version":  o.version,
		"org.opencontainers.image.revision": o.revision,
		"org.opencontainers.image.source":   o.source,
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.created":  o.created.Format(time.RFC3339),
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return v1.Hash{}, err
	}
	img = mutate.MediaType(img, "application/vnd.docker.distribution.manifest.v2+json")
	ref, err := name.NewTag(o.tag)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := tarball.WriteToFile(o.out, ref, img); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

// layerArchive is the image's only layer: the binary, owned by root and executable by all, at
// binaryPath, with every timestamp at created.
func layerArchive(bin []byte, created time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     binaryPath[1:],
		Mode:     0o755,
		Size:     int64(len(bin)),
		ModTime:  created,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
