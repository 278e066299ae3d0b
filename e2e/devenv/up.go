package devenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// UpOptions tunes Up.
type UpOptions struct {
	// SkipController brings up the cluster only: no manifests, example or controller.
	SkipController bool
	// Controller is how the controller runs: InCluster (the default, from manifests/) or
	// OutOfCluster (bin/kengine-gateway with --kubeconfig).
	Controller ControllerMode
	// ControllerArgs are the out-of-cluster controller's flags besides --kubeconfig.
	ControllerArgs []string
}

// Up starts whatever part of the environment is not running yet and waits for each piece to be
// ready; running it again is harmless.
func (e *Env) Up(ctx context.Context, opts UpOptions) error {
	if os.Geteuid() != 0 {
		return errors.New("the local environment needs root: the node agent creates network namespaces, veth pairs and a bridge (run as root, or with sudo)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("the ip command (Debian package iproute2) is required")
	}
	for _, d := range []string{"pids", "logs", "state"} {
		if err := os.MkdirAll(filepath.Join(e.Dev, d), 0o755); err != nil {
			return err
		}
	}
	e.rememberRunNetns()
	if err := e.ensurePKI(); err != nil {
		return fmt.Errorf("creating certificates: %w", err)
	}
	for _, c := range []component{e.etcd(), e.apiServer(), e.controllerManager(), e.nodeAgent()} {
		if err := e.start(ctx, c); err != nil {
			return err
		}
	}
	if err := e.installCRDs(ctx); err != nil {
		return err
	}
	// Pods are refused until their namespace's default ServiceAccount exists.
	if err := e.waitReady(ctx, component{name: "kube-controller-manager", ready: e.defaultServiceAccount, timeout: 60 * time.Second}); err != nil {
		return err
	}
	e.printf("control plane and node ready; kubeconfig %s", e.Kubeconfig())
	if opts.SkipController {
		e.printf("skipping the controller, manifests and example (asked to)")
		return nil
	}
	if _, err := os.Stat(e.ControllerBinary()); err != nil {
		e.printf("no controller at %s: skipping the controller, manifests and example", e.ControllerBinary())
		return nil
	}
	return e.upController(ctx, opts)
}

// runNetnsMarker records that /run/netns did not exist before the environment came up, so
// Down removes the directory (and the mount ip-netns puts there) again.
func (e *Env) runNetnsMarker() string { return filepath.Join(e.stateDir(), "created-run-netns") }

func (e *Env) rememberRunNetns() {
	if _, err := os.Stat("/run/netns"); errors.Is(err, os.ErrNotExist) {
		_ = os.WriteFile(e.runNetnsMarker(), nil, 0o644)
	}
}

// kubectl runs .dev/bin/kubectl against the environment.
func (e *Env) kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.bin("kubectl"), append([]string{"--kubeconfig=" + e.Kubeconfig()}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// GatewayAPIDir finds the Gateway API module in the module cache (downloading it if needed).
func GatewayAPIDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", "sigs.k8s.io/gateway-api@"+GatewayAPIVersion).Output()
	if err != nil {
		return "", fmt.Errorf("locating sigs.k8s.io/gateway-api@%s: %w", GatewayAPIVersion, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("locating sigs.k8s.io/gateway-api@%s: no directory in %q", GatewayAPIVersion, out)
	}
	return m.Dir, nil
}

// installCRDs applies the experimental-channel Gateway API CRDs server-side (the HTTPRoute CRD
// is too large for client-side apply's annotation) and waits until they are established.
func (e *Env) installCRDs(ctx context.Context) error {
	dir, err := GatewayAPIDir(ctx)
	if err != nil {
		return err
	}
	crds := filepath.Join(dir, "config", "crd", "experimental")
	if _, err := e.kubectl(ctx, "apply", "--server-side", "--force-conflicts", "--field-manager=kengine-dev", "-k", crds); err != nil {
		return fmt.Errorf("installing Gateway API CRDs: %w", err)
	}
	if _, err := e.kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"); err != nil {
		return err
	}
	e.printf("Gateway API %s experimental CRDs installed", GatewayAPIVersion)
	return nil
}

func (e *Env) client() (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", e.Kubeconfig())
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 10 * time.Second
	return kubernetes.NewForConfig(cfg)
}

// defaultServiceAccount reports nil once the default namespace's ServiceAccount exists.
func (e *Env) defaultServiceAccount(ctx context.Context) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	_, err = c.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
	return err
}

// nodeReady reports nil once the node agent's Node is Ready.
func (e *Env) nodeReady(ctx context.Context) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	n, err := c.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	for _, cond := range n.Status.Conditions {
		if cond.Type == v1.NodeReady && cond.Status == v1.ConditionTrue {
			return nil
		}
	}
	return fmt.Errorf("node %s is not Ready", NodeName)
}
