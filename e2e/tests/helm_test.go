package tests

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestHelmChartInstall installs a second controller from the Helm chart, rendered by the
// pinned helm of e2e/tools/helm with non-default values (its own release, namespace,
// controllerName and GatewayClass, one replica without leader election), and proves it serves
// a Gateway of its class under the chart's ServiceAccount and RBAC, next to the controller of
// manifests/ that ignores that class.
func TestHelmChartInstall(t *testing.T) {
	t.Parallel()
	const (
		release   = "helm"
		releaseNS = "kengine-helm-system"
		class     = "kengine-helm"
		fullname  = release + "-kengine-gateway"
	)
	ctx := ctxFor(t)
	rendered := helmTemplate(t, release, releaseNS,
		"replicas=1", "leaderElection.enabled=false", "logLevel=2",
		"controllerName=khulnasoft.com/kengine-gateway-helm", "gatewayClass.name="+class)
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releaseNS}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The release's cluster-scoped objects, then its namespace (the Gateway's namespace,
		// with its managed Kengine, goes with newNamespace's cleanup).
		_, _ = kubectl(context.Background(), rendered, "delete", "--ignore-not-found", "--wait=false", "-f", "-")
		_ = kube.CoreV1().Namespaces().Delete(context.Background(), releaseNS, metav1.DeleteOptions{})
	})
	if out, err := kubectl(ctx, rendered, "apply", "--server-side", "--field-manager=helm-e2e", "-f", "-"); err != nil {
		t.Fatalf("applying the rendered chart: %v\n%s", err, out)
	}
	eventually(t, waitLong, "the chart's controller Deployment available", func() error {
		d, err := kube.AppsV1().Deployments(releaseNS).Get(ctx, fullname, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.AvailableReplicas != 1 {
			return fmt.Errorf("%d of 1 replicas available", d.Status.AvailableReplicas)
		}
		return nil
	})
	pods, err := kube.CoreV1().Pods(releaseNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.ServiceAccountName != fullname {
			t.Errorf("pod %s runs as ServiceAccount %q, want the chart's %q", p.Name, p.Spec.ServiceAccountName, fullname)
		}
	}

	expectClassServes(t, class)
}

// expectClassServes creates a Gateway of class with a route to an echo backend in a new
// namespace and waits until the backend answers through it.
func expectClassServes(t *testing.T, class string) {
	t.Helper()
	ns := newNamespace(t)
	createEcho(t, ns, "echo", 1)
	createGateway(t, ns, "gw", withClass(class))
	createRoute(t, newRoute(ns, "route", "gw", nil, "echo"))
	_, addr := waitProgrammed(t, ns, "gw")
	expectBackend(t, addr+":80", "", "/", ns, "echo")
}

// helmTemplate renders the chart of manifests/chart with the pinned helm of e2e/tools/helm.
func helmTemplate(t *testing.T, release, namespace string, set ...string) []byte {
	t.Helper()
	args := []string{"tool", "helm", "template", release, filepath.Join(dev.Root, "manifests", "chart", "kengine-gateway"), "--namespace", namespace}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	cmd := exec.CommandContext(ctxFor(t), "go", args...)
	cmd.Dir = filepath.Join(dev.Root, "e2e", "tools", "helm")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr.String())
	}
	return out
}

// kubectl runs the environment's kubectl with stdin.
func kubectl(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(dev.Dev, "bin", "kubectl"), append([]string{"--kubeconfig=" + dev.Kubeconfig()}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}
