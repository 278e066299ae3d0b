package tests

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/e2e/internal/proc"
)

// generated is one object the controller creates for a managed Gateway.
type generated struct {
	kind string
	meta metav1.ObjectMeta
}

// generatedObjects returns the ServiceAccount, admin Secret, Deployment and Service of a
// managed Gateway, whichever exist.
func generatedObjects(t *testing.T, ns, gateway, class string) []generated {
	t.Helper()
	ctx := context.Background()
	name := managedName(gateway, class)
	var out []generated
	if o, err := kube.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
		out = append(out, generated{"ServiceAccount", o.ObjectMeta})
	} else if !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if o, err := kube.CoreV1().Secrets(ns).Get(ctx, name+"-admin", metav1.GetOptions{}); err == nil {
		out = append(out, generated{"Secret", o.ObjectMeta})
	} else if !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if o, err := kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
		out = append(out, generated{"Deployment", o.ObjectMeta})
	} else if !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if o, err := kube.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
		out = append(out, generated{"Service", o.ObjectMeta})
	} else if !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return out
}

// TestManagedGateway creates a Gateway alone: the controller must run a Kengine deployment
// for it that serves its routes, as the unprivileged user its pod asks for, with every
// generated object owned by the Gateway and carrying its infrastructure labels and
// annotations; listener changes reach the Service, and a hand edit is reverted.
func TestManagedGateway(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	ns := newNamespace(t)
	createEcho(t, ns, "echo", 1)
	gw := createGateway(t, ns, "gw", withInfrastructure(
		map[string]string{"e2e.kengine-gateway/team": "edge"},
		map[string]string{"e2e.kengine-gateway/note": "managed by the e2e test"}, ""))
	createRoute(t, newRoute(ns, "web", "gw", nil, "echo"))
	_, addr := waitProgrammed(t, ns, "gw")
	expectBackend(t, addr+":80", "", "/", ns, "echo")

	t.Run("generated objects", func(t *testing.T) {
		objs := generatedObjects(t, ns, "gw", className)
		if len(objs) != 4 {
			t.Fatalf("generated objects %v, want a ServiceAccount, a Secret, a Deployment and a Service", objs)
		}
		for _, o := range objs {
			if !metav1.IsControlledBy(&o.meta, gw) {
				t.Errorf("%s %s is not controlled by the Gateway: %+v", o.kind, o.meta.Name, o.meta.OwnerReferences)
			}
			for k, v := range map[string]string{gatewayNameLabel: "gw", "e2e.kengine-gateway/team": "edge"} {
				if o.meta.Labels[k] != v {
					t.Errorf("%s %s: label %s=%q, want %q", o.kind, o.meta.Name, k, o.meta.Labels[k], v)
				}
			}
			if o.meta.Annotations["e2e.kengine-gateway/note"] != "managed by the e2e test" {
				t.Errorf("%s %s: annotations %v lack the infrastructure annotation", o.kind, o.meta.Name, o.meta.Annotations)
			}
		}
		pod := waitReadyPods(t, ns, managedPods("gw"), 1)[0]
		if pod.Labels["e2e.kengine-gateway/team"] != "edge" || pod.Annotations["e2e.kengine-gateway/note"] == "" {
			t.Errorf("pod labels %v, annotations %v lack the infrastructure ones", pod.Labels, pod.Annotations)
		}
		svc, err := kube.CoreV1().Services(ns).Get(ctx, managedName("gw", className), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			t.Errorf("Service type %s, want LoadBalancer", svc.Spec.Type)
		}
	})

	t.Run("runs as the pod's user", func(t *testing.T) {
		pod := waitReadyPods(t, ns, managedPods("gw"), 1)[0]
		rec, ok := proc.Running(containerPIDFile(&pod, "kengine"))
		if !ok {
			t.Fatalf("no running Kengine process recorded for pod %s", pod.Name)
		}
		ids := processIDs(t, rec.PID)
		for _, k := range []string{"Uid", "Gid", "Groups"} {
			if !strings.HasPrefix(ids[k], "65532") {
				t.Errorf("Kengine process %d: %s %q, want 65532 (securityContext runAsUser/runAsGroup/fsGroup)", rec.PID, k, ids[k])
			}
		}
		// Port 80 answered above, bound by uid 65532: the pod's sysctl
		// net.ipv4.ip_unprivileged_port_start=0 took effect in its network namespace.
		st, err := os.Stat(filepath.Join(podDir(&pod), "volumes", "admin", "intermediate.key"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o440 || st.Sys().(*syscall.Stat_t).Gid != 65532 {
			t.Errorf("admin key mode %v group %d, want 0440 and group 65532 (defaultMode, fsGroup)", st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Gid)
		}
	})

	t.Run("listener changes reach the Service", func(t *testing.T) {
		eventually(t, waitShort, "adding a listener on port 8080", func() error {
			g, err := gwc.GatewayV1().Gateways(ns).Get(ctx, "gw", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(g.Spec.Listeners) == 1 {
				g.Spec.Listeners = append(g.Spec.Listeners, gatewayv1.Listener{Name: "alt", Protocol: gatewayv1.HTTPProtocolType, Port: 8080})
			}
			_, err = gwc.GatewayV1().Gateways(ns).Update(ctx, g, metav1.UpdateOptions{})
			return err
		})
		expectBackend(t, addr+":8080", "", "/", ns, "echo")
		waitProgrammed(t, ns, "gw")
	})

	t.Run("a hand edit is reverted", func(t *testing.T) {
		name := managedName("gw", className)
		scale, err := kube.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		scale.Spec.Replicas = 2
		if _, err := kube.AppsV1().Deployments(ns).UpdateScale(ctx, name, scale, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, waitShort, "the controller putting replicas back to 1", func() error {
			d, err := kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if *d.Spec.Replicas != 1 {
				return fmt.Errorf("replicas %d", *d.Spec.Replicas)
			}
			return nil
		})
		waitReadyPods(t, ns, managedPods("gw"), 1)
		expectBackend(t, addr+":80", "", "/", ns, "echo")
	})
}

// processIDs reads the Uid, Gid and Groups lines of a process's status, first values only
// for Uid and Gid (real, effective, saved and file ids are checked equal).
func processIDs(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for line := range strings.Lines(string(data)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "Uid" && k != "Gid" && k != "Groups") {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			out[k] = ""
			continue
		}
		if k != "Groups" {
			for _, x := range f {
				if x != f[0] {
					t.Errorf("process %d: %s ids differ: %v", pid, k, f)
				}
			}
		}
		out[k] = strings.Join(f, " ")
	}
	return out
}

// TestManagedParameters points a GatewayClass and a Gateway at parameters ConfigMaps: the
// Gateway's replicas (3) win over the class's (2), and every one of the 3 pods is programmed
// and serves.
func TestManagedParameters(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	ns := newNamespace(t)
	class := "e2e-params-" + randomSuffix()
	createConfigMap(t, ns, "class-params", map[string]string{"replicas": "2", "serviceType": "LoadBalancer", "resources": `{"requests": {"cpu": "10m"}}`})
	createConfigMap(t, ns, "gw-params", map[string]string{"replicas": "3"})
	createClass(t, class, &gatewayv1.ParametersReference{Group: "", Kind: "ConfigMap", Name: "class-params", Namespace: ptr.To(gatewayv1.Namespace(ns))})
	eventually(t, waitShort, "GatewayClass "+class+" Accepted", func() error {
		gc, err := gwc.GatewayV1().GatewayClasses().Get(ctx, class, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if c := meta.FindStatusCondition(gc.Status.Conditions, string(gatewayv1.GatewayClassConditionStatusAccepted)); c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("Accepted: %s", conditionString(c))
		}
		return nil
	})
	createEcho(t, ns, "echo", 1)
	createGateway(t, ns, "gw", withClass(class), withInfrastructure(nil, nil, "gw-params"))
	createRoute(t, newRoute(ns, "web", "gw", []string{"params.example"}, "echo"))

	_, addr := waitProgrammed(t, ns, "gw")
	pods := waitReadyPods(t, ns, managedPods("gw"), 3)
	dep, err := kube.AppsV1().Deployments(ns).Get(ctx, managedName("gw", class), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 3 {
		t.Errorf("Deployment replicas %d, want 3 (the Gateway's parameters win)", *dep.Spec.Replicas)
	}
	if cpu := dep.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String(); cpu != "10m" {
		t.Errorf("Kengine CPU request %s, want 10m from the class's parameters", cpu)
	}
	// Every pod is programmed: each answers the route on its own address.
	for _, p := range pods {
		expectBackend(t, net.JoinHostPort(p.Status.PodIP, "80"), "params.example", "/", ns, "echo")
		expectReadyAfterLoad(t, &p)
	}
	expectBackend(t, addr+":80", "params.example", "/", ns, "echo")
	eventually(t, waitShort, "Programmed counting 3 pods", func() error {
		g, err := gwc.GatewayV1().Gateways(ns).Get(ctx, "gw", metav1.GetOptions{})
		if err != nil {
			return err
		}
		c := meta.FindStatusCondition(g.Status.Conditions, string(gatewayv1.GatewayConditionProgrammed))
		if c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "3 Kengine pods") {
			return fmt.Errorf("Programmed: %s", conditionString(c))
		}
		return nil
	})
}

func createConfigMap(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data}
	if _, err := kube.CoreV1().ConfigMaps(ns).Create(ctxFor(t), cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ConfigMap %s: %v", name, err)
	}
}

// createClass creates a GatewayClass of this controller, deleted after the test.
func createClass(t *testing.T, name string, params *gatewayv1.ParametersReference) {
	t.Helper()
	gc := &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: controllerName, ParametersRef: params},
	}
	if _, err := gwc.GatewayV1().GatewayClasses().Create(ctxFor(t), gc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating GatewayClass %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := gwc.GatewayV1().GatewayClasses().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting GatewayClass %s: %v", name, err)
		}
	})
}

// TestManagedGatewayDeleted deletes a managed Gateway: the garbage collector must remove
// everything the controller created for it, down to the pods.
func TestManagedGatewayDeleted(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	ns := newNamespace(t)
	createGateway(t, ns, "gw")
	waitProgrammed(t, ns, "gw")
	waitReadyPods(t, ns, managedPods("gw"), 1)
	if objs := generatedObjects(t, ns, "gw", className); len(objs) != 4 {
		t.Fatalf("generated objects %v, want 4", objs)
	}
	if err := gwc.GatewayV1().Gateways(ns).Delete(ctx, "gw", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLong, "every generated object and pod gone", func() error {
		var left []string
		for _, o := range generatedObjects(t, ns, "gw", className) {
			left = append(left, o.kind+"/"+o.meta.Name)
		}
		rs, err := kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: managedPods("gw")})
		if err != nil {
			return err
		}
		for _, r := range rs.Items {
			left = append(left, "ReplicaSet/"+r.Name)
		}
		pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: managedPods("gw")})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			left = append(left, "Pod/"+p.Name)
		}
		if len(left) > 0 {
			return fmt.Errorf("still there: %v", left)
		}
		return nil
	})
}

// TestInvalidParameters gives Gateways and a GatewayClass bad parameters: each must be
// Accepted=False with reason InvalidParameters and get nothing created; fixing the
// parameters brings the Gateway up.
func TestInvalidParameters(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	ns := newNamespace(t)
	createConfigMap(t, ns, "unknown-key", map[string]string{"replica": "2"})
	createConfigMap(t, ns, "zero-replicas", map[string]string{"replicas": "0"})
	createConfigMap(t, ns, "bad-kind", map[string]string{"kind": "StatefulSet"})
	cases := map[string]string{"typo": "unknown-key", "zero": "zero-replicas", "kind": "bad-kind", "missing": "no-such-configmap"}
	for gw, cm := range cases {
		createGateway(t, ns, gw, withInfrastructure(nil, nil, cm))
	}
	for gw, cm := range cases {
		eventually(t, waitShort, "Gateway "+gw+" (ConfigMap "+cm+") Accepted=False InvalidParameters", func() error {
			g, err := gwc.GatewayV1().Gateways(ns).Get(ctx, gw, metav1.GetOptions{})
			if err != nil {
				return err
			}
			c := meta.FindStatusCondition(g.Status.Conditions, string(gatewayv1.GatewayConditionAccepted))
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != string(gatewayv1.GatewayReasonInvalidParameters) || c.ObservedGeneration != g.Generation {
				return fmt.Errorf("Accepted: %s", conditionString(c))
			}
			return nil
		})
	}
	// Status is written after the decision to create nothing; the objects would have come first.
	for gw := range cases {
		if objs := generatedObjects(t, ns, gw, className); len(objs) != 0 {
			t.Errorf("Gateway %s with invalid parameters got objects %v", gw, objs)
		}
	}
	pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 0 {
		t.Errorf("pods %d in a namespace of invalid Gateways only", len(pods.Items))
	}

	t.Run("fixing the parameters", func(t *testing.T) {
		eventually(t, waitShort, "fixing ConfigMap unknown-key", func() error {
			cm, err := kube.CoreV1().ConfigMaps(ns).Get(ctx, "unknown-key", metav1.GetOptions{})
			if err != nil {
				return err
			}
			cm.Data = map[string]string{"replicas": "1"}
			_, err = kube.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
			return err
		})
		waitProgrammed(t, ns, "typo")
		waitReadyPods(t, ns, managedPods("typo"), 1)
	})

	t.Run("GatewayClass", func(t *testing.T) {
		class := "e2e-invalid-" + randomSuffix()
		createClass(t, class, &gatewayv1.ParametersReference{Group: "", Kind: "ConfigMap", Name: "zero-replicas", Namespace: ptr.To(gatewayv1.Namespace(ns))})
		eventually(t, waitShort, "GatewayClass "+class+" Accepted=False InvalidParameters", func() error {
			gc, err := gwc.GatewayV1().GatewayClasses().Get(ctx, class, metav1.GetOptions{})
			if err != nil {
				return err
			}
			c := meta.FindStatusCondition(gc.Status.Conditions, string(gatewayv1.GatewayClassConditionStatusAccepted))
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != string(gatewayv1.GatewayClassReasonInvalidParameters) {
				return fmt.Errorf("Accepted: %s", conditionString(c))
			}
			return nil
		})
	})
}

// TestAdminPortRequiresClientCertificate talks to a managed pod's mutual-TLS admin port from
// the host: the pod proves the Gateway's admin identity, yet refuses a client without a
// certificate and one with a certificate it does not pin; the plain admin endpoint is not
// reachable from outside the pod.
func TestAdminPortRequiresClientCertificate(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	ns := newNamespace(t)
	createGateway(t, ns, "gw")
	waitProgrammed(t, ns, "gw")
	pod := waitReadyPods(t, ns, managedPods("gw"), 1)[0]
	secret, err := kube.CoreV1().Secrets(ns).Get(ctx, managedName("gw", className)+"-admin", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(secret.Data["root.crt"]) {
		t.Fatal("the admin Secret has no root certificate")
	}
	var boot struct {
		Admin struct {
			Identity struct {
				Identifiers []string `json:"identifiers"`
			} `json:"identity"`
		} `json:"admin"`
	}
	if err := json.Unmarshal(secret.Data["bootstrap.json"], &boot); err != nil || len(boot.Admin.Identity.Identifiers) == 0 {
		t.Fatalf("bootstrap.json without an admin identity: %v", err)
	}
	identity := boot.Admin.Identity.Identifiers[0]
	admin := net.JoinHostPort(pod.Status.PodIP, "2021")

	stranger := selfSignedClient(t)
	for name, certs := range map[string][]tls.Certificate{"no certificate": nil, "an unpinned certificate": {stranger}} {
		t.Run(name, func(t *testing.T) {
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
				RootCAs: roots, ServerName: identity, Certificates: certs, MinVersion: tls.VersionTLS12,
			}}}
			defer client.CloseIdleConnections()
			resp, err := client.Get("https://" + admin + "/config/")
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET /config/ answered %s, want a refused handshake", resp.Status)
			}
			var verr *tls.CertificateVerificationError
			if errors.As(err, &verr) {
				t.Fatalf("the pod's admin certificate did not verify as %s: %v", identity, err)
			}
			t.Logf("refused: %v", err)
		})
	}
	t.Run("plain HTTP", func(t *testing.T) {
		resp, err := httpClient.Get("http://" + admin + "/config/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatal("the admin port served its config over plain HTTP")
			}
		}
	})
	t.Run("local admin endpoint", func(t *testing.T) {
		if !dialRefused(net.JoinHostPort(pod.Status.PodIP, "2019")) {
			t.Error("port 2019 accepts connections on the pod's address; it must listen on the pod's loopback only")
		}
	})
}

// selfSignedClient is a client certificate no Kengine pod pins.
func selfSignedClient(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kengine-gateway"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestManagedDaemonSet runs Kengine as a DaemonSet (parameters key kind): one programmed pod
// per node serves the route, and no Deployment is left for the Gateway.
func TestManagedDaemonSet(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	ns := newNamespace(t)
	createConfigMap(t, ns, "ds-params", map[string]string{"kind": "DaemonSet"})
	createEcho(t, ns, "echo", 1)
	createGateway(t, ns, "gw", withInfrastructure(nil, nil, "ds-params"))
	createRoute(t, newRoute(ns, "web", "gw", nil, "echo"))
	_, addr := waitProgrammed(t, ns, "gw")
	waitReadyPods(t, ns, managedPods("gw"), 1)
	expectBackend(t, addr+":80", "", "/", ns, "echo")
	name := managedName("gw", "kengine")
	if _, err := kube.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
		t.Fatalf("DaemonSet %s: %v", name, err)
	}
	if _, err := kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
		t.Errorf("a Deployment %s exists next to the DaemonSet", name)
	}
}
