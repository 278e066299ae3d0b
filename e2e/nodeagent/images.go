package nodeagent

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Image describes what a container image means on this node: the locally built binary that
// stands in for it, and what the image itself would contribute (entrypoint, default arguments,
// environment and writable directories), as its Dockerfile does for the real image.
type Image struct {
	// Binary is the absolute path of the local executable.
	Binary string
	// Names are the executable names a pod's command may use for Binary ("kengine",
	// "/usr/bin/kengine"); only the base name is compared.
	Names []string
	// Entrypoint is the image's ENTRYPOINT; empty means Binary alone.
	Entrypoint []string
	// Cmd is the image's CMD: the arguments used when the pod sets neither command nor args.
	Cmd []string
	// Env is the image's ENV, overridden by the container's own env.
	Env []string
	// ScratchDirs are directories the image provides empty and writable (for example Caddy's
	// /config and /data); each container instance gets fresh ones unless a volume is mounted there.
	ScratchDirs []string
}

// ImageTable maps image repositories (without tag or digest) to what runs for them.
type ImageTable map[string]Image

// DefaultImages is the table the local environment runs with, its binaries in binDir.
func DefaultImages(binDir string) ImageTable {
	kengine := Image{
		Binary: path.Join(binDir, "kengine"),
		Names:  []string{"kengine", "caddy"},
		// Like the Caddy image: the config and data dirs are XDG dirs at /config and /data.
		Entrypoint:  []string{"kengine"},
		Cmd:         []string{"run"},
		Env:         []string{"XDG_CONFIG_HOME=/config", "XDG_DATA_HOME=/data"},
		ScratchDirs: []string{"/config", "/data"},
	}
	echo := Image{
		Binary:     path.Join(binDir, "echo-basic"),
		Names:      []string{"echo-basic"},
		Entrypoint: []string{"echo-basic"},
	}
	// The CoreDNS image's ENTRYPOINT is /coredns with no CMD: a pod passes only flags (-conf).
	coredns := Image{
		Binary:     path.Join(binDir, "coredns"),
		Names:      []string{"coredns"},
		Entrypoint: []string{"/coredns"},
	}
	// The controller's image (make images): the static binary at /kengine-gateway.
	controller := Image{
		Binary:     path.Join(binDir, "kengine-gateway"),
		Names:      []string{"kengine-gateway"},
		Entrypoint: []string{"/kengine-gateway"},
	}
	return ImageTable{
		"ghcr.io/khulnasoft/kengine-gateway":        controller,
		"ghcr.io/khulnasoft/kengine":                kengine,
		"registry.k8s.io/gateway-api/echo-basic":    echo,
		"gcr.io/k8s-staging-gateway-api/echo-basic": echo,
		"registry.k8s.io/coredns/coredns":           coredns,
		"coredns/coredns":                           coredns,
	}
}

// Repository strips the tag and digest from an image reference, and the implicit docker.io
// registry, so that "ghcr.io/khulnasoft/kengine:v1@sha256:..." yields "ghcr.io/khulnasoft/kengine".
func Repository(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	// A colon after the last slash starts a tag; one before it belongs to a registry port.
	if i := strings.LastIndexByte(image, ':'); i >= 0 && i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	image = strings.TrimPrefix(image, "docker.io/")
	return image
}

// Lookup finds the entry for an image reference.
func (t ImageTable) Lookup(image string) (Image, bool) {
	img, ok := t[Repository(image)]
	return img, ok
}

// Known lists the repositories of the table, sorted, for error messages.
func (t ImageTable) Known() []string {
	var names []string
	for k := range t {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Argv resolves a container's command line the way a container runtime does: command replaces
// the entrypoint, args replace the image's CMD (and a command without args drops CMD), and
// the executable is then mapped to the local binary. It fails for an executable the image does
// not provide here.
func (img Image) Argv(command, args []string) ([]string, error) {
	var argv []string
	switch {
	case len(command) > 0:
		argv = append(append(argv, command...), args...)
	case len(args) > 0:
		argv = append(append(argv, img.entrypoint()...), args...)
	default:
		argv = append(append(argv, img.entrypoint()...), img.Cmd...)
	}
	exe := path.Base(argv[0])
	if exe == path.Base(img.Binary) {
		argv[0] = img.Binary
		return argv, nil
	}
	for _, n := range img.Names {
		if exe == path.Base(n) {
			argv[0] = img.Binary
			return argv, nil
		}
	}
	return nil, fmt.Errorf("executable %q is not available in this environment (the image runs %s)",
		argv[0], path.Base(img.Binary))
}

func (img Image) entrypoint() []string {
	if len(img.Entrypoint) > 0 {
		return img.Entrypoint
	}
	return []string{img.Binary}
}
