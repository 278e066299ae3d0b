package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestOutOfClusterController runs bin/kengine-gateway on this machine with --kubeconfig, the
// developer's way (make dev DEV_CONTROLLER=local), next to the in-cluster controller: authorized
// as the controller's ServiceAccount (the kubeconfig impersonates it), with mutual-TLS admin,
// for its own controllerName and GatewayClass, it serves a Gateway of that class.
func TestOutOfClusterController(t *testing.T) {
	t.Parallel()
	const (
		class          = "kengine-local"
		controllerName = "khulnasoft.com/kengine-gateway-local"
	)
	ctx := ctxFor(t)
	if err := dev.WriteControllerKubeconfig(ctx); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "controller.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(dev.ControllerBinary(),
		"--kubeconfig="+dev.ControllerKubeconfig(),
		"--controller-name="+controllerName,
		"--namespace=kengine-gateway-system",
		"--metrics-bind-address=",
		"--health-probe-bind-address=",
		"--v=2")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			if data, err := os.ReadFile(logPath); err == nil {
				t.Logf("the out-of-cluster controller's log:\n%s", data)
			}
		}
	})

	gc := &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: class},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: controllerName},
	}
	if _, err := gwc.GatewayV1().GatewayClasses().Create(ctx, gc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = gwc.GatewayV1().GatewayClasses().Delete(context.Background(), class, metav1.DeleteOptions{})
	})

	expectClassServes(t, class)
}
