package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/khulnasoft/gateway/e2e/internal/proc"
	"github.com/khulnasoft/gateway/e2e/nodeagent"
)

// Down stops every process the environment started (by the PIDs it recorded, never by name),
// removes the pod network, and deletes the cluster's state. Binaries and logs stay.
func (e *Env) Down(ctx context.Context) error {
	var errs []error
	// Most dependent first: the controller, then the node agent (which stops its pods and
	// removes their namespaces), then the control plane.
	for _, s := range []struct {
		name  string
		grace time.Duration
	}{
		{"kengine-gateway", 10 * time.Second},
		{"nodeagent", 30 * time.Second},
		{"kube-controller-manager", 10 * time.Second},
		{"kube-apiserver", 15 * time.Second},
		{"etcd", 10 * time.Second},
	} {
		if r, ok := proc.Running(e.pidFile(s.name)); ok {
			e.printf("stopping %s (pid %d)", s.name, r.PID)
		}
		if err := proc.Stop(e.pidFile(s.name), s.grace); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", s.name, err))
		}
	}
	// Whatever the node agent could not stop (it crashed, or was killed) goes now.
	nodeagent.KillLeftoverContainers(e.podPIDDir())
	if err := nodeagent.CleanupNetwork(ctx, NamePrefix, Bridge); err != nil {
		errs = append(errs, err)
	}
	if err := e.restoreRunNetns(); err != nil {
		errs = append(errs, err)
	}
	for _, d := range []string{e.stateDir(), e.pkiDir(), filepath.Join(e.Dev, "pids")} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range []string{e.Kubeconfig(), filepath.Join(e.Dev, "try")} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	e.printf("environment stopped and removed")
	return nil
}

// restoreRunNetns removes /run/netns again when it did not exist before the environment came up.
func (e *Env) restoreRunNetns() error {
	if _, err := os.Stat(e.runNetnsMarker()); err != nil {
		return nil
	}
	return nodeagent.RemoveRunNetns()
}
