// Package tests holds the end-to-end tests: each runs against the real processes of the local
// environment (kube-apiserver, kube-controller-manager, the node agent, the controller and
// Kengine pods) and sends real traffic through Gateway addresses. `make e2e` brings the
// environment up, runs them with KUBECONFIG set, and tears it down.
//
// Tests that stop or restart the controller are serial; every other test is parallel and
// works in its own namespace. Go runs the serial ones first, so no parallel test ever sees
// the controller away.
package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/khulnasoft/gateway/e2e/devenv"
)

// The clients and the environment every test uses, set up once by TestMain.
var (
	kube kubernetes.Interface
	gwc  gatewayclient.Interface
	dyn  dynamic.Interface
	dev  *devenv.Env
)

func TestMain(m *testing.M) {
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		// Passing without a cluster would pass without testing anything.
		fmt.Fprintln(os.Stderr, "the end-to-end tests need a cluster: KUBECONFIG is not set (make e2e sets it)")
		os.Exit(1)
	}
	if err := setup(kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func setup(kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 50, 100
	if kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	if gwc, err = gatewayclient.NewForConfig(cfg); err != nil {
		return err
	}
	if dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return err
	}
	// The tests run in e2e/tests; the environment's files are in the repository's .dev.
	root := os.Getenv("DEV_ROOT")
	if root == "" {
		root = filepath.Join("..", "..")
	}
	if root, err = filepath.Abs(root); err != nil {
		return err
	}
	dev = devenv.NewEnv(root)
	return nil
}
