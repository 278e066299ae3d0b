package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/khulnasoft/gateway/e2e/internal/proc"
)

// The controller runs in the environment the way users run it: the Deployment of
// manifests/20-deployment.yaml, under its ServiceAccount and RBAC, with in-cluster
// configuration (the node agent gives its pods a ServiceAccount token and
// KUBERNETES_SERVICE_HOST/PORT) and the admin PKI it creates itself: no insecure admin. The
// node agent maps the controller's image to .dev/bin/kengine-gateway, a copy of bin/ made
// by make dev (like loading an image into a cluster); a new binary rolls the Deployment.
//
// DEV_CONTROLLER=local runs bin/kengine-gateway out of cluster instead (controller.go), for
// a debugger or quick iteration; the in-cluster Deployment is then scaled to zero.

// ControllerDeployment is the controller's Deployment in the install manifests.
const ControllerDeployment = "kengine-gateway"

// controllerSelector selects the controller's pods (manifests/20-deployment.yaml).
const controllerSelector = "app.kubernetes.io/name=kengine-gateway"

// binaryDigestAnnotation on the Deployment's pod template names the digest of the binary
// its pods run, so that a rebuilt binary rolls them.
const binaryDigestAnnotation = "dev.kengine-gateway/binary-sha256"

// ControllerMode is how the environment runs the controller.
type ControllerMode string

const (
	// InCluster runs the install manifests' Deployment (the default).
	InCluster ControllerMode = "in-cluster"
	// OutOfCluster runs bin/kengine-gateway on this machine with --kubeconfig.
	OutOfCluster ControllerMode = "local"
)

func (e *Env) modeFile() string { return filepath.Join(e.stateDir(), "controller-mode") }

// Mode reports how the running environment runs the controller.
func (e *Env) Mode() ControllerMode {
	data, err := os.ReadFile(e.modeFile())
	if err == nil && ControllerMode(strings.TrimSpace(string(data))) == OutOfCluster {
		return OutOfCluster
	}
	return InCluster
}

func (e *Env) setMode(m ControllerMode) error {
	return os.WriteFile(e.modeFile(), []byte(m+"\n"), 0o644)
}

// upInClusterController makes the controller's Deployment run the freshly built binary and
// waits until it has rolled out. The manifests are applied already.
func (e *Env) upInClusterController(ctx context.Context) error {
	// A controller left running out of cluster by an earlier make dev would fight this one.
	if err := proc.Stop(e.pidFile(controllerName), 10*time.Second); err != nil {
		return err
	}
	digest, err := e.loadControllerImage()
	if err != nil {
		return err
	}
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, binaryDigestAnnotation, digest)
	if _, err := e.kubectl(ctx, "patch", "deployment", "-n", ControllerNamespace, ControllerDeployment, "--type=merge", "-p", patch); err != nil {
		return err
	}
	if err := e.setMode(InCluster); err != nil {
		return err
	}
	return e.waitControllerRollout(ctx)
}

// loadControllerImage copies bin/kengine-gateway to where the node agent finds the
// controller image's binary, unless it is there already, and returns its digest. The copy is
// renamed into place: running pods keep the binary they started with.
func (e *Env) loadControllerImage() (string, error) {
	digest, err := fileDigest(e.ControllerBinary())
	if err != nil {
		return "", err
	}
	dst := e.bin("kengine-gateway")
	if have, err := fileDigest(dst); err == nil && have == digest {
		return digest, nil
	}
	src, err := os.Open(e.ControllerBinary())
	if err != nil {
		return "", err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".kengine-gateway-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	e.printf("loaded %s as the controller image's binary (%s)", e.ControllerBinary(), digest[:12])
	return digest, nil
}

// waitControllerRollout waits until every replica of the controller's Deployment runs the
// current template and is Ready (a standby replica is Ready too: it is able to take over).
func (e *Env) waitControllerRollout(ctx context.Context) error {
	e.printf("waiting for the controller Deployment %s/%s to roll out", ControllerNamespace, ControllerDeployment)
	if _, err := e.kubectl(ctx, "rollout", "status", "deployment", "-n", ControllerNamespace, ControllerDeployment, "--timeout=180s"); err != nil {
		return fmt.Errorf("%w\n%s", err, e.controllerPodSummary(ctx))
	}
	return nil
}

// controllerPodSummary describes the controller's pods and the end of their logs, for errors.
func (e *Env) controllerPodSummary(ctx context.Context) string {
	pods, err := e.ControllerPods(ctx)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "pod %s (%s):\n%s\n", p.Name, p.Status.Phase, tail(e.PodLog(p, "controller"), 20))
	}
	return b.String()
}

// ControllerPods lists the controller's pods, oldest first.
func (e *Env) ControllerPods(ctx context.Context) ([]corev1.Pod, error) {
	c, err := e.client()
	if err != nil {
		return nil, err
	}
	list, err := c.CoreV1().Pods(ControllerNamespace).List(ctx, metav1.ListOptions{LabelSelector: controllerSelector})
	if err != nil {
		return nil, err
	}
	pods := list.Items
	sort.Slice(pods, func(i, j int) bool { return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp) })
	return pods, nil
}

// PodLog is the output of one container of a pod, as the node agent records it.
func (e *Env) PodLog(p corev1.Pod, container string) string {
	return filepath.Join(e.stateDir(), "nodeagent", "pods", fmt.Sprintf("%s_%s_%s", p.Namespace, p.Name, p.UID), "containers", container, "output.log")
}

// ControllerInstances identifies the running controller processes: pod UIDs with their
// restart counts in cluster, the PID out of cluster. It changes when a controller restarts.
func (e *Env) ControllerInstances(ctx context.Context) ([]string, error) {
	if e.Mode() == OutOfCluster {
		r, ok := proc.Running(e.pidFile(controllerName))
		if !ok {
			return nil, errors.New("the controller is not running")
		}
		return []string{fmt.Sprintf("pid %d", r.PID)}, nil
	}
	pods, err := e.ControllerPods(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		restarts := int32(0)
		for _, cs := range p.Status.ContainerStatuses {
			restarts += cs.RestartCount
		}
		out = append(out, fmt.Sprintf("pod %s uid %s restarts %d", p.Name, p.UID, restarts))
	}
	if len(out) == 0 {
		return nil, errors.New("no controller pod")
	}
	return out, nil
}

// ControllerLogs returns what the running controllers logged: every current controller pod's
// output in cluster, the log file out of cluster.
func (e *Env) ControllerLogs(ctx context.Context) (string, error) {
	if e.Mode() == OutOfCluster {
		data, err := os.ReadFile(e.logFile(controllerName))
		return string(data), err
	}
	pods, err := e.ControllerPods(ctx)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range pods {
		data, err := os.ReadFile(e.PodLog(p, "controller"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		fmt.Fprintf(&b, "==== pod %s\n%s", p.Name, data)
	}
	return b.String(), nil
}

// stopInClusterController scales the controller's Deployment to zero and waits until its
// pods are gone.
func (e *Env) stopInClusterController(ctx context.Context) error {
	if _, err := e.kubectl(ctx, "scale", "deployment", "-n", ControllerNamespace, ControllerDeployment, "--replicas=0"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for {
		pods, err := e.ControllerPods(ctx)
		if err == nil && len(pods) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the controller's pods did not go away: %d left (%v)", len(pods), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// startInClusterController applies the controller's Deployment again (restoring its replica
// count) and waits for the rollout.
func (e *Env) startInClusterController(ctx context.Context) error {
	if _, err := e.kubectl(ctx, "apply", "--server-side", "--force-conflicts", "--field-manager=kengine-dev",
		"-f", filepath.Join(e.Root, "manifests", "20-deployment.yaml")); err != nil {
		return err
	}
	return e.waitControllerRollout(ctx)
}

// controllerRunning reports whether the controller can be running: out of cluster its
// process, in cluster a Deployment that wants replicas.
func (e *Env) controllerRunning(ctx context.Context) error {
	if e.Mode() == OutOfCluster {
		if _, ok := proc.Running(e.pidFile(controllerName)); !ok {
			return fmt.Errorf("the controller exited; the end of %s:\n%s", e.logFile(controllerName), tail(e.logFile(controllerName), 20))
		}
		return nil
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	d, err := c.AppsV1().Deployments(ControllerNamespace).Get(ctx, ControllerDeployment, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if d.Spec.Replicas != nil && *d.Spec.Replicas == 0 {
		return fmt.Errorf("deployment %s has no replicas", types.NamespacedName{Namespace: d.Namespace, Name: d.Name})
	}
	return nil
}
