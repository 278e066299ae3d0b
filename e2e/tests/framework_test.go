package tests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

const (
	// className is the GatewayClass the install manifests create.
	className = "kengine"
	// controllerName is the controller's GatewayClass controllerName.
	controllerName = "khulnasoft.com/kengine-gateway"
	// controllerNamespace is where the install manifests run the controller and its Lease.
	controllerNamespace = "kengine-gateway-system"
	// gatewayNameLabel selects a Gateway's Kengine Service (GEP-1762).
	gatewayNameLabel = "gateway.networking.k8s.io/gateway-name"
	// echoImage is the conformance echo server, which reports the pod that answered.
	echoImage = "registry.k8s.io/gateway-api/echo-basic:v1.5.1"
	// kengineImage runs the Kengine-compatible server here.
	kengineImage = "ghcr.io/khulnasoft/kengine:latest"
	// pollInterval is how often a wait re-checks its condition.
	pollInterval = 250 * time.Millisecond
)

// Deadlines of the waits, generous for a loaded 2-core machine.
const (
	waitShort = 30 * time.Second
	waitLong  = 2 * time.Minute
)

// ctxFor returns a context that ends with the test.
func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// eventually calls check until it returns nil, and fails the test with the last error once
// timeout has passed.
func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	if err := poll(timeout, check); err != nil {
		t.Fatalf("%s: not within %s: %v", what, timeout, err)
	}
}

func poll(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(pollInterval)
	}
}

// managedName is the name of a managed Gateway's generated objects (GEP-1762).
func managedName(gateway, class string) string { return gateway + "-" + class }

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// newNamespace creates a namespace for one test, named after it, and deletes it afterwards.
func newNamespace(t *testing.T) string {
	t.Helper()
	base := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 40 {
		base = base[:40]
	}
	name := "e2e-" + strings.Trim(base, "-") + "-" + randomSuffix()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"e2e.kengine-gateway/test": "true"}}}
	if _, err := kube.CoreV1().Namespaces().Create(ctxFor(t), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("E2E_KEEP_FAILED") != "" {
			t.Logf("keeping namespace %s of the failed test", name)
			return
		}
		if err := kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
	// Pods are refused until the namespace's default ServiceAccount exists.
	eventually(t, waitShort, "default ServiceAccount of "+name, func() error {
		_, err := kube.CoreV1().ServiceAccounts(name).Get(context.Background(), "default", metav1.GetOptions{})
		return err
	})
	return name
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// createEcho runs an echo backend: a Deployment of replicas pods and a Service on port 8080.
func createEcho(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	ctx := ctxFor(t)
	labels := map[string]string{"app": name}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](1),
					Containers: []corev1.Container{{
						Name:  "echo",
						Image: echoImage,
						Env: []corev1.EnvVar{
							{Name: "HTTP_PORT", Value: "3000"},
							{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
							{Name: "NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
						},
						Ports: []corev1.ContainerPort{{ContainerPort: 3000}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(3000)}},
							PeriodSeconds: 1,
						},
					}},
				},
			},
		},
	}
	if _, err := kube.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Deployment %s: %v", name, err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 8080, TargetPort: intstr.FromInt32(3000)}},
		},
	}
	if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Service %s: %v", name, err)
	}
}

// gatewayOption changes a Gateway built by newGateway.
type gatewayOption func(*gatewayv1.Gateway)

func withClass(class string) gatewayOption {
	return func(g *gatewayv1.Gateway) { g.Spec.GatewayClassName = gatewayv1.ObjectName(class) }
}

func withListener(name string, port int32) gatewayOption {
	return func(g *gatewayv1.Gateway) {
		g.Spec.Listeners = append(g.Spec.Listeners, gatewayv1.Listener{
			Name: gatewayv1.SectionName(name), Protocol: gatewayv1.HTTPProtocolType, Port: gatewayv1.PortNumber(port),
		})
	}
}

func withInfrastructure(labels, annotations map[string]string, parametersRef string) gatewayOption {
	return func(g *gatewayv1.Gateway) {
		infra := &gatewayv1.GatewayInfrastructure{}
		for k, v := range labels {
			if infra.Labels == nil {
				infra.Labels = map[gatewayv1.LabelKey]gatewayv1.LabelValue{}
			}
			infra.Labels[gatewayv1.LabelKey(k)] = gatewayv1.LabelValue(v)
		}
		for k, v := range annotations {
			if infra.Annotations == nil {
				infra.Annotations = map[gatewayv1.AnnotationKey]gatewayv1.AnnotationValue{}
			}
			infra.Annotations[gatewayv1.AnnotationKey(k)] = gatewayv1.AnnotationValue(v)
		}
		if parametersRef != "" {
			infra.ParametersRef = &gatewayv1.LocalParametersReference{Group: "", Kind: "ConfigMap", Name: parametersRef}
		}
		g.Spec.Infrastructure = infra
	}
}

// createGateway creates a Gateway of class kengine with one HTTP listener "http" on port 80
// unless options give listeners.
func createGateway(t *testing.T, ns, name string, opts ...gatewayOption) *gatewayv1.Gateway {
	t.Helper()
	g := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       gatewayv1.GatewaySpec{GatewayClassName: className},
	}
	for _, o := range opts {
		o(g)
	}
	if len(g.Spec.Listeners) == 0 {
		withListener("http", 80)(g)
	}
	out, err := gwc.GatewayV1().Gateways(ns).Create(ctxFor(t), g, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating Gateway %s: %v", name, err)
	}
	return out
}

// newRoute builds an HTTPRoute attached to gateway that sends hostnames (all when empty) to
// backend:8080.
func newRoute(ns, name, gateway string, hostnames []string, backend string) *gatewayv1.HTTPRoute {
	r := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: gatewayv1.ObjectName(gateway)}}},
		},
	}
	for _, h := range hostnames {
		r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(h))
	}
	setBackend(r, backend)
	return r
}

// setBackend makes the route's only rule send everything to backend:8080.
func setBackend(r *gatewayv1.HTTPRoute, backend string) {
	r.Spec.Rules = []gatewayv1.HTTPRouteRule{{
		BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(backend), Port: ptr.To(gatewayv1.PortNumber(8080))},
		}}},
	}}
}

func createRoute(t *testing.T, r *gatewayv1.HTTPRoute) *gatewayv1.HTTPRoute {
	t.Helper()
	out, err := gwc.GatewayV1().HTTPRoutes(r.Namespace).Create(ctxFor(t), r, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating HTTPRoute %s: %v", r.Name, err)
	}
	return out
}

// updateRoute applies change to the latest version of a route, retrying on conflicts.
func updateRoute(t *testing.T, ns, name string, change func(*gatewayv1.HTTPRoute)) *gatewayv1.HTTPRoute {
	t.Helper()
	var out *gatewayv1.HTTPRoute
	eventually(t, waitShort, "updating HTTPRoute "+name, func() error {
		r, err := gwc.GatewayV1().HTTPRoutes(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(r)
		out, err = gwc.GatewayV1().HTTPRoutes(ns).Update(context.Background(), r, metav1.UpdateOptions{})
		return err
	})
	return out
}

// waitProgrammed waits until the Gateway is Accepted and Programmed with an address, and
// returns it with the address.
func waitProgrammed(t *testing.T, ns, name string) (*gatewayv1.Gateway, string) {
	t.Helper()
	var gw *gatewayv1.Gateway
	eventually(t, waitLong, "Gateway "+ns+"/"+name+" Programmed", func() error {
		g, err := gwc.GatewayV1().Gateways(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, typ := range []gatewayv1.GatewayConditionType{gatewayv1.GatewayConditionAccepted, gatewayv1.GatewayConditionProgrammed} {
			c := meta.FindStatusCondition(g.Status.Conditions, string(typ))
			if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != g.Generation {
				return fmt.Errorf("condition %s is %+v", typ, c)
			}
		}
		if len(g.Status.Addresses) == 0 {
			return errors.New("no address")
		}
		gw = g
		return nil
	})
	return gw, gw.Status.Addresses[0].Value
}

// echoResponse is what the echo server answers.
type echoResponse struct {
	Path      string              `json:"path"`
	Host      string              `json:"host"`
	Namespace string              `json:"namespace"`
	Pod       string              `json:"pod"`
	Headers   map[string][]string `json:"headers"`
}

// response is one answer through a Gateway.
type response struct {
	status int
	echo   echoResponse
	body   string
}

// httpClient opens a new connection for every request, so each one goes through the load
// balancer's choice of Kengine pod again.
var httpClient = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// get sends GET http://addr/path with the Host header host.
func get(addr, host, path string) (response, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return response{}, err
	}
	if host != "" {
		req.Host = host
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	return readEcho(resp)
}

// readEcho reads a response and, when the echo server answered, what it reports.
func readEcho(resp *http.Response) (response, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return response{}, err
	}
	out := response{status: resp.StatusCode, body: string(body)}
	_ = json.Unmarshal(body, &out.echo)
	return out, nil
}

// expectBackend waits until a request answers 200 from a pod of backend (a Deployment name)
// in namespace ns, and returns the answer.
func expectBackend(t *testing.T, addr, host, path, ns, backend string) response {
	t.Helper()
	var got response
	eventually(t, waitLong, fmt.Sprintf("GET http://%s%s (Host %q) answered by %s/%s", addr, path, host, ns, backend), func() error {
		r, err := get(addr, host, path)
		if err != nil {
			return err
		}
		if r.status != http.StatusOK {
			return fmt.Errorf("status %d: %.200s", r.status, r.body)
		}
		if r.echo.Namespace != ns || !strings.HasPrefix(r.echo.Pod, backend+"-") {
			return fmt.Errorf("answered by %s/%s", r.echo.Namespace, r.echo.Pod)
		}
		got = r
		return nil
	})
	return got
}

// expectStatus waits until a request answers with the given status code.
func expectStatus(t *testing.T, addr, host, path string, status int) {
	t.Helper()
	eventually(t, waitLong, fmt.Sprintf("GET http://%s%s (Host %q) → %d", addr, path, host, status), func() error {
		r, err := get(addr, host, path)
		if err != nil {
			return err
		}
		if r.status != status {
			return fmt.Errorf("status %d: %.200s", r.status, r.body)
		}
		return nil
	})
}

// managedPods selects the pods of a managed Gateway (they carry the GEP-1762 label).
func managedPods(gateway string) string { return gatewayNameLabel + "=" + gateway }

// livePods lists the pods of a label selector that are not being deleted.
func livePods(t *testing.T, ns, selector string) []corev1.Pod {
	t.Helper()
	pods, err := kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("listing pods %s: %v", selector, err)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// podReady returns the pod's Ready condition, nil when it has none.
func podReady(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func isReady(p *corev1.Pod) bool {
	c := podReady(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// waitReadyPods waits until exactly n pods of the selector exist and are Ready.
func waitReadyPods(t *testing.T, ns, selector string, n int) []corev1.Pod {
	t.Helper()
	var ready []corev1.Pod
	eventually(t, waitLong, fmt.Sprintf("%d Ready pods %s in %s", n, selector, ns), func() error {
		pods := livePods(t, ns, selector)
		ready = ready[:0]
		for _, p := range pods {
			if isReady(&p) {
				ready = append(ready, p)
			}
		}
		if len(pods) != n || len(ready) != n {
			return fmt.Errorf("%d pods, %d Ready", len(pods), len(ready))
		}
		return nil
	})
	return ready
}

// podDir is where the node agent keeps a pod's volumes and container output.
func podDir(p *corev1.Pod) string {
	return filepath.Join(dev.Dev, "state", "nodeagent", "pods", fmt.Sprintf("%s_%s_%s", p.Namespace, p.Name, p.UID))
}

// containerPIDFile is the node agent's record of a running container's process.
func containerPIDFile(p *corev1.Pod, container string) string {
	return filepath.Join(dev.Dev, "pids", "pods", fmt.Sprintf("%s_%s.pid", p.UID, container))
}

// configLoads returns when Kengine in the pod accepted a POST /load, from its output.
func configLoads(t *testing.T, p *corev1.Pod) []time.Time {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(podDir(p), "containers", "kengine", "output.log"))
	if err != nil {
		t.Fatalf("reading Kengine output: %v", err)
	}
	var out []time.Time
	for line := range strings.Lines(string(data)) {
		var entry struct {
			TS     float64 `json:"ts"`
			Logger string  `json:"logger"`
			Msg    string  `json:"msg"`
			Method string  `json:"method"`
			URI    string  `json:"uri"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		if entry.Logger == "admin.api" && entry.Method == http.MethodPost && entry.URI == "/load" {
			out = append(out, time.Unix(0, int64(entry.TS*1e9)))
		}
	}
	return out
}

// dialRefused reports whether nothing accepts TCP connections at addr.
func dialRefused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

func conditionString(c *metav1.Condition) string {
	if c == nil {
		return "<missing>"
	}
	return fmt.Sprintf("%s=%s (%s: %s, generation %d)", c.Type, c.Status, c.Reason, c.Message, c.ObservedGeneration)
}

// expectCondition fails the test unless conds holds typ with status and reason.
func expectCondition(t *testing.T, what string, conds []metav1.Condition, typ string, status metav1.ConditionStatus, reason string, generation int64) {
	t.Helper()
	c := meta.FindStatusCondition(conds, typ)
	if c == nil || c.Status != status || c.Reason != reason || c.ObservedGeneration != generation {
		t.Errorf("%s: condition %s, want %s=%s reason %s at generation %d", what, conditionString(c), typ, status, reason, generation)
	}
}

// createBringYourOwnKengine runs a user's Kengine for gateway, as example/20-kengine-byo.yaml
// does: a Deployment "<gateway>-kengine-user" that boots from the admin Secret the controller
// publishes for the Gateway (mutual-TLS admin on :2021 only), behind a LoadBalancer Service
// labelled with the Gateway's name.
func createBringYourOwnKengine(t *testing.T, ns, gateway string) {
	t.Helper()
	ctx := ctxFor(t)
	name := gateway + "-kengine-user"
	adminSecret := gateway + "-" + className + "-admin"
	labels := map[string]string{"app": name}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](1),
					Containers: []corev1.Container{{
						Name:    "kengine",
						Image:   kengineImage,
						Command: []string{"kengine", "run", "--config", "/etc/kengine/admin/bootstrap.json", "--resume"},
						Env: []corev1.EnvVar{
							{Name: "XDG_CONFIG_HOME", Value: "/var/lib/kengine"},
							{Name: "XDG_DATA_HOME", Value: "/var/lib/kengine"},
						},
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}, {Name: "admin", ContainerPort: 2021}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/kengine-gateway/ready", Port: intstr.FromInt32(19080)}},
							PeriodSeconds: 1,
						},
						VolumeMounts: []corev1.VolumeMount{{Name: "admin", MountPath: "/etc/kengine/admin", ReadOnly: true}, {Name: "state", MountPath: "/var/lib/kengine"}},
					}},
					Volumes: []corev1.Volume{
						{Name: "admin", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: adminSecret, DefaultMode: ptr.To[int32](0o440)}}},
						{Name: "state", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
		},
	}
	if _, err := kube.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{gatewayNameLabel: gateway}},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(80)}},
		},
	}
	if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// servingGateway creates an echo backend, a managed Gateway named name and a route from it to
// the backend, and returns the Gateway's address once the backend answers through it.
func servingGateway(t *testing.T, ns, name string) (string, response) {
	t.Helper()
	createEcho(t, ns, "echo", 1)
	createGateway(t, ns, name)
	createRoute(t, newRoute(ns, name, name, nil, "echo"))
	_, addr := waitProgrammed(t, ns, name)
	return addr, expectBackend(t, addr+":80", "", "/", ns, "echo")
}
