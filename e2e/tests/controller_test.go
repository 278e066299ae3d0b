package tests

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The tests in this file stop or restart the controller, and one deletes cluster-wide CRDs
// (never run them against an environment where the conformance suite runs). They are serial
// (no t.Parallel): Go runs them before any parallel test starts.

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// removedCRDs are taken away by TestControllerWithoutOptionalCRDs: TCPRoute, which the
// controller does not implement yet, and ReferenceGrant, which it watches when it is served.
var removedCRDs = map[string]schema.GroupVersionResource{
	"tcproutes.gateway.networking.k8s.io":       {Group: "gateway.networking.k8s.io", Version: "v1", Resource: "tcproutes"},
	"referencegrants.gateway.networking.k8s.io": {Group: "gateway.networking.k8s.io", Version: "v1", Resource: "referencegrants"},
}

// controllerInstances identifies the running controller processes (pods with their restart
// counts in cluster, the PID out of cluster); it fails the test when none runs.
func controllerInstances(t *testing.T) []string {
	t.Helper()
	ids, err := dev.ControllerInstances(ctxFor(t))
	if err != nil {
		t.Fatalf("the controller is not running: %v", err)
	}
	return ids
}

// restartController stops the controller and starts it again, waiting until it is ready.
func restartController(t *testing.T) {
	t.Helper()
	if err := dev.StopController(ctxFor(t)); err != nil {
		t.Fatalf("stopping the controller: %v", err)
	}
	startController(t)
}

func startController(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := dev.StartController(ctx); err != nil {
		t.Fatalf("starting the controller: %v", err)
	}
}

// controllerLogs is what the running controllers logged (after a restart: only the new ones).
func controllerLogs(t *testing.T) string {
	t.Helper()
	logs, err := dev.ControllerLogs(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	return logs
}

// eventuallyLog waits until the running controllers have logged want, and returns their logs.
func eventuallyLog(t *testing.T, want string) string {
	t.Helper()
	var log string
	eventually(t, waitShort, fmt.Sprintf("the controller logging %q", want), func() error {
		log = controllerLogs(t)
		if !strings.Contains(log, want) {
			return fmt.Errorf("not logged yet; the logs:\n%s", log)
		}
		return nil
	})
	return log
}

// expectReferenceGrantFeature waits until the kengine GatewayClass does (or does not) list
// the ReferenceGrant feature, which the controller offers only when the cluster serves it.
func expectReferenceGrantFeature(t *testing.T, want bool) {
	t.Helper()
	eventually(t, waitShort, fmt.Sprintf("GatewayClass %s listing ReferenceGrant: %v", className, want), func() error {
		gc, err := gwc.GatewayV1().GatewayClasses().Get(context.Background(), className, metav1.GetOptions{})
		if err != nil {
			return err
		}
		has := false
		for _, f := range gc.Status.SupportedFeatures {
			has = has || f.Name == "ReferenceGrant"
		}
		if has != want {
			return fmt.Errorf("supportedFeatures %v", gc.Status.SupportedFeatures)
		}
		return nil
	})
}

// TestControllerWithoutOptionalCRDs removes the TCPRoute and ReferenceGrant CRDs: the running
// controller must survive it, a restarted controller must start without them, say so, stop
// offering ReferenceGrant, and still serve Gateways and HTTPRoutes. The CRDs are reinstalled
// and the controller restarted afterwards.
func TestControllerWithoutOptionalCRDs(t *testing.T) {
	ctx := ctxFor(t)
	crds := dyn.Resource(crdResource)
	expectReferenceGrantFeature(t, true)
	before := controllerInstances(t)
	var saved []*unstructured.Unstructured
	t.Cleanup(func() { reinstallCRDs(t, saved) })
	for name := range removedCRDs {
		crd, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the environment should serve %s: %v", name, err)
		}
		if err := crds.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		saved = append(saved, crd)
	}
	eventually(t, waitShort, "the CRDs gone", func() error {
		for name := range removedCRDs {
			if _, err := crds.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s still there (%v)", name, err)
			}
		}
		return nil
	})

	// The running controller keeps working while its ReferenceGrant informer loses its resource.
	ns := newNamespace(t)
	addr, _ := servingGateway(t, ns, "before")
	if now := controllerInstances(t); !slices.Equal(now, before) {
		t.Fatalf("the controller restarted after the CRDs went away: %v, was %v", now, before)
	}

	restartController(t)
	log := eventuallyLog(t, "not served")
	if !strings.Contains(log, "not served") || !strings.Contains(log, "TCPRoute") || !strings.Contains(log, "ReferenceGrant") {
		t.Errorf("the restarted controller did not report TCPRoute and ReferenceGrant as not served; its log:\n%s", log)
	}
	expectReferenceGrantFeature(t, false)
	createGateway(t, ns, "after")
	createRoute(t, newRoute(ns, "after", "after", nil, "echo"))
	_, addrAfter := waitProgrammed(t, ns, "after")
	expectBackend(t, addrAfter+":80", "", "/", ns, "echo")
	// The Gateway from before the restart is still served.
	expectBackend(t, addr+":80", "", "/", ns, "echo")
	controllerInstances(t)
}

// reinstallCRDs creates the saved CRDs again, waits until they are served, and restarts the
// controller so that it watches them again.
func reinstallCRDs(t *testing.T, saved []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	crds := dyn.Resource(crdResource)
	for _, crd := range saved {
		obj := crd.DeepCopy()
		unstructured.RemoveNestedField(obj.Object, "status")
		for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"} {
			unstructured.RemoveNestedField(obj.Object, "metadata", f)
		}
		// A deleted CRD lingers until its objects are gone: retry until it can be created.
		eventually(t, waitLong, "recreating CRD "+obj.GetName(), func() error {
			_, err := crds.Create(ctx, obj, metav1.CreateOptions{})
			if err == nil || apierrors.IsAlreadyExists(err) {
				live, gerr := crds.Get(ctx, obj.GetName(), metav1.GetOptions{})
				if gerr != nil {
					return gerr
				}
				if live.GetDeletionTimestamp() != nil {
					return fmt.Errorf("the old %s is still being deleted", obj.GetName())
				}
				return nil
			}
			return err
		})
	}
	eventually(t, waitLong, "the reinstalled kinds served", func() error {
		for _, gvr := range removedCRDs {
			if _, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	restartController(t)
	// The leader publishes the feature after discovery, which every replica runs at start.
	expectReferenceGrantFeature(t, true)
	if log := controllerLogs(t); strings.Contains(log, "not served") {
		t.Errorf("the controller still misses kinds after the CRDs came back:\n%s", log)
	}
}

// TestPodNotReadyUntilProgrammed takes the controller away and replaces a Gateway's Kengine
// pod: the new pod runs Kengine (its admin port answers) but stays unready and gets no
// traffic for as long as nobody programs it; once the controller is back, it is programmed
// and only then turns Ready and serves.
func TestPodNotReadyUntilProgrammed(t *testing.T) {
	ctx := ctxFor(t)
	ns := newNamespace(t)
	addr, _ := servingGateway(t, ns, "gw")
	old := waitReadyPods(t, ns, managedPods("gw"), 1)[0]

	if err := dev.StopController(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			startController(t)
		}
	})
	if err := kube.CoreV1().Pods(ns).Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var fresh corev1.Pod
	eventually(t, waitLong, "the replacement pod running Kengine with its admin port open", func() error {
		for _, p := range livePods(t, ns, managedPods("gw")) {
			if p.UID == old.UID || p.Status.PodIP == "" || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Running == nil {
				continue
			}
			if dialRefused(net.JoinHostPort(p.Status.PodIP, "2021")) {
				return fmt.Errorf("pod %s: admin port not open yet", p.Name)
			}
			fresh = p
			return nil
		}
		return fmt.Errorf("no running replacement of %s", old.Name)
	})

	// Watch it for several readiness periods (2 s each) after Kengine came up: never Ready,
	// the readiness route absent, and the Gateway's address without a ready pod behind it.
	health := "http://" + net.JoinHostPort(fresh.Status.PodIP, "19080") + "/kengine-gateway/ready"
	until := time.Now().Add(8 * time.Second)
	for time.Now().Before(until) {
		p, err := kube.CoreV1().Pods(ns).Get(ctx, fresh.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if isReady(p) {
			t.Fatalf("pod %s turned Ready while no controller runs", p.Name)
		}
		if resp, err := httpClient.Get(health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("the readiness route answers 200 before any config was pushed")
			}
		}
		if r, err := get(addr+":80", "", "/"); err == nil && r.status == http.StatusOK {
			t.Fatalf("the Gateway served a request with no programmed pod (answered by %s)", r.echo.Pod)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if loads := configLoads(t, &fresh); len(loads) != 0 {
		t.Fatalf("the new pod received a config with no controller running: %v", loads)
	}

	startController(t)
	restarted = true
	var ready corev1.Pod
	eventually(t, waitLong, "the replacement pod Ready", func() error {
		p, err := kube.CoreV1().Pods(ns).Get(ctx, fresh.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !isReady(p) {
			return fmt.Errorf("Ready: %+v", podReady(p))
		}
		ready = *p
		return nil
	})
	expectReadyAfterLoad(t, &ready)
	expectBackend(t, addr+":80", "", "/", ns, "echo")
}
