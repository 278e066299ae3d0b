// Command devenv brings the local environment up and down (see package devenv). make dev,
// make dev-down and make e2e call it.
//
//	devenv up [--skip-controller]
//	devenv down
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/khulnasoft/gateway/e2e/devenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "devenv: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("devenv", flag.ExitOnError)
	root := fs.String("root", "", "repository root (default: the parent of the e2e directory this runs in)")
	controller := fs.String("controller", envOr("DEV_CONTROLLER", string(devenv.InCluster)), "how the controller runs: in-cluster (the manifests' Deployment) or local (bin/kengine-gateway out of cluster with --kubeconfig); also DEV_CONTROLLER")
	skipController := fs.Bool("skip-controller", os.Getenv("DEV_SKIP_CONTROLLER") != "", "bring up the cluster only (also DEV_SKIP_CONTROLLER=1)")
	if len(os.Args) < 2 {
		return fmt.Errorf("usage: devenv up|down [flags]")
	}
	cmd := os.Args[1]
	if err := fs.Parse(os.Args[2:]); err != nil {
		return err
	}
	if *root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		*root = filepath.Dir(wd)
		if filepath.Base(wd) != "e2e" {
			*root = wd
		}
	}
	env := devenv.NewEnv(*root)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "up":
		mode := devenv.ControllerMode(*controller)
		if mode != devenv.InCluster && mode != devenv.OutOfCluster {
			return fmt.Errorf("--controller %q: want %s or %s", mode, devenv.InCluster, devenv.OutOfCluster)
		}
		return env.Up(ctx, devenv.UpOptions{SkipController: *skipController, Controller: mode})
	case "down":
		return env.Down(ctx)
	}
	return fmt.Errorf("unknown command %q (want up or down)", cmd)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
