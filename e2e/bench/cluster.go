package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"golang.org/x/sync/errgroup"
)

// clusterOptions say where the local environment is.
type clusterOptions struct {
	kubeconfig          string
	class               string
	controllerNamespace string
	controllerSelector  string
	metricsURL          string
	workers             int
	keep                bool
}

// echoImage is the conformance echo server, which the node agent runs from .dev/bin.
const echoImage = "registry.k8s.io/gateway-api/echo-basic:v1.5.1"

// cluster is the environment part of the suite: one namespace holding an echo backend, the
// Services behind the routes, and the bench and burst Gateways.
type cluster struct {
	o    clusterOptions
	kube kubernetes.Interface
	gwc  gatewayclient.Interface
	ns   string

	// port is the bench Gateways' listener port (listenerPort; tests change it).
	port int
	// memorySettle is the pause between convergence and reading the controller's memory;
	// pushSettle the pause after a burst is served before its pushes are counted.
	memorySettle, pushSettle time.Duration

	services int // Services svc-0000 .. created so far
	routes   int // bench routes r-00000 .. on the bench Gateway
	addr     string

	baseline    *memoryPoint
	baselineErr error
	rampDone    bool
	propagation []propagationPoint
	memory      []memoryPoint
}

// newCluster connects to the environment, checks that the GatewayClass is accepted, reads
// the controller's memory before anything is created, and creates the bench namespace with
// its echo backend.
func newCluster(ctx context.Context, o clusterOptions) (*cluster, error) {
	if o.kubeconfig == "" {
		return nil, errors.New("KUBECONFIG is not set (the local environment writes .dev/kubeconfig)")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return nil, err
	}
	// The suite creates thousands of routes; the client's own limiter must not be what is
	// measured.
	cfg.QPS, cfg.Burst = 500, 1000
	cfg.Timeout = 30 * time.Second
	c := &cluster{o: o, port: listenerPort, memorySettle: 5 * time.Second, pushSettle: 2 * time.Second}
	if c.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.gwc, err = gatewayclient.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if _, err := c.kube.Discovery().ServerVersion(); err != nil {
		return nil, fmt.Errorf("API server of %s: %w", o.kubeconfig, err)
	}
	gc, err := c.gwc.GatewayV1().GatewayClasses().Get(ctx, o.class, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("GatewayClass %s: %w", o.class, err)
	}
	if !meta.IsStatusConditionTrue(gc.Status.Conditions, string(gatewayv1.GatewayClassConditionStatusAccepted)) {
		return nil, fmt.Errorf("GatewayClass %s is not Accepted: is the controller running?", o.class)
	}
	c.baseline, c.baselineErr = c.readMemory(ctx, 0)

	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	c.ns = "kengine-bench-" + hex.EncodeToString(suffix)
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.ns}}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating namespace: %w", err)
	}
	fmt.Printf("environment: namespace %s\n", c.ns)
	if err := c.createEcho(ctx); err != nil {
		c.cleanup()
		return nil, err
	}
	return c, nil
}

// cleanup deletes the bench namespace and everything in it, unless -keep.
func (c *cluster) cleanup() {
	if c.o.keep {
		fmt.Printf("keeping namespace %s\n", c.ns)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.kube.CoreV1().Namespaces().Delete(ctx, c.ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		fmt.Printf("deleting namespace %s: %v\n", c.ns, err)
	}
}

// measure runs one environment figure.
func (c *cluster) measure(ctx context.Context, name string, o options, floor loadFloor, res *Results) error {
	switch name {
	case figBurst:
		raw, err := c.measureBurst(ctx, o.burstRoutes, floor)
		if err != nil {
			return err
		}
		recordBurst(res.Burst, raw)
	case figPropagation:
		if err := c.ramp(ctx, o, floor, true); err != nil {
			return err
		}
		recordPropagation(res.Propagation, c.propagation)
	case figMemory:
		if c.baselineErr != nil {
			return fmt.Errorf("reading the controller's memory: %w", c.baselineErr)
		}
		if !c.rampDone {
			if err := c.ramp(ctx, o, floor, false); err != nil {
				return err
			}
		}
		recordMemory(res.ControllerMemory, memoryRaw{Source: c.memorySource(), Baseline: *c.baseline, Points: c.memory})
	default:
		return fmt.Errorf("%s is not an environment figure", name)
	}
	return nil
}

// ramp grows the bench Gateway through the route counts: at each it waits until every route
// is served, reads the controller's memory where asked, and, with timed set, times new routes.
func (c *cluster) ramp(ctx context.Context, o options, floor loadFloor, timed bool) error {
	if c.addr == "" {
		addr, err := c.createGateway(ctx, benchGateway)
		if err != nil {
			return err
		}
		c.addr = addr
	}
	for _, n := range o.routeCounts {
		start := time.Now()
		if err := c.grow(ctx, n); err != nil {
			return err
		}
		fmt.Printf("  %d routes on the bench Gateway, all served after %.1f s\n", n, time.Since(start).Seconds())
		if o.figures[figMemory] && containsInt(o.memoryAtRoutes, n) {
			// Give the controller's status writes and GC a moment after convergence.
			time.Sleep(c.memorySettle)
			m, err := c.readMemory(ctx, n)
			if err != nil {
				return fmt.Errorf("reading the controller's memory: %w", err)
			}
			c.memory = append(c.memory, *m)
			fmt.Printf("  controller at %d routes: RSS %.0f MiB, heap in use %.0f MiB\n", n, m.RSSMiB, m.HeapInUseMi)
		}
		if !timed {
			continue
		}
		fl, ok := floor[n]
		if !ok {
			return fmt.Errorf("no /load floor measured at %d routes", n)
		}
		p, err := c.timeNewRoutes(ctx, n, o.propSamples, fl)
		if err != nil {
			return err
		}
		c.propagation = append(c.propagation, p)
		fmt.Printf("  propagation at %d routes: p50 %.0f ms, p99 %.0f ms (floor p50 %.0f ms, ratio %.2f)\n",
			n, p.Propagation.P50, p.Propagation.P99, fl.P50, p.Ratio)
	}
	c.rampDone = true
	return nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// grow creates bench routes up to n (and the Services they use) and waits until each is
// served through the Gateway.
func (c *cluster) grow(ctx context.Context, n int) error {
	if err := c.ensureServices(ctx, servicesFor(n)); err != nil {
		return err
	}
	if err := c.createRoutes(ctx, benchGateway, benchPrefix, c.routes, n); err != nil {
		return err
	}
	c.routes = max(c.routes, n)
	return c.waitServed(ctx, c.addr, benchPrefix, 0, n, 10*time.Minute)
}

// timeNewRoutes creates samples new routes one at a time on the bench Gateway of n routes
// and times each from the API write to the first 200 through the Gateway's address. The
// new routes stay: the last sample runs with n+samples-1 routes.
func (c *cluster) timeNewRoutes(ctx context.Context, n, samples int, floor Summary) (propagationPoint, error) {
	prefix := "p" + strconv.Itoa(n)
	client := newKeepAliveClient()
	defer client.CloseIdleConnections()
	// The sync after a push (status writes) must not overlap the next sample.
	settle := 250*time.Millisecond + 2*time.Duration(floor.P50*float64(time.Millisecond))
	var prop, write []time.Duration
	for i := range samples {
		r := benchRoute(c.ns, benchGateway, prefix, i)
		host := routeHost(prefix, i)
		start := time.Now()
		if _, err := c.gwc.GatewayV1().HTTPRoutes(c.ns).Create(ctx, r, metav1.CreateOptions{}); err != nil {
			return propagationPoint{}, fmt.Errorf("creating %s: %w", r.Name, err)
		}
		written := time.Since(start)
		if err := pollUntilOK(ctx, client, c.target(c.addr), host, time.Minute); err != nil {
			return propagationPoint{}, err
		}
		prop = append(prop, time.Since(start))
		write = append(write, written)
		time.Sleep(settle)
	}
	p := propagationPoint{Routes: n, Propagation: summarizeDurations(prop), APIWrite: summarizeDurations(write), LoadFloor: floor}
	p.Ratio = ratio(p.Propagation.P50, floor.P50)
	return p, nil
}

// target is the URL of a Gateway's listener at addr.
func (c *cluster) target(addr string) string {
	return "http://" + net.JoinHostPort(addr, strconv.Itoa(c.port)) + "/"
}

// pollUntilOK asks for host at target in a tight loop until it answers 200. A failed
// connection (a listener being replaced) is asked again soon.
//
// The pause after each answer is as long as the answer took (2 ms at least): Kengine's cost
// per request grows with the routes of the Gateway, and a poll that never paused would take a
// whole CPU of this 2-CPU machine from the controller and Kengine it is timing.
func pollUntilOK(ctx context.Context, client *http.Client, target, host string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		start := time.Now()
		_, err := getOK(ctx, client, target, host)
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not served within %s: %v", host, timeout, last)
		case <-time.After(max(2*time.Millisecond, time.Since(start))):
		}
	}
}

// measureBurst creates a Gateway without routes, then burstRoutes routes at once, and times
// until every one is served, counting the pushes the controller made meanwhile.
func (c *cluster) measureBurst(ctx context.Context, routes int, floor loadFloor) (burstRaw, error) {
	raw := burstRaw{Routes: routes}
	fl, ok := floor[routes]
	if !ok {
		return raw, fmt.Errorf("no /load floor measured at %d routes (add it to -routes)", routes)
	}
	raw.FloorP50 = fl.P50
	raw.Budget = goalBurstLoads*fl.P50 + goalBurstExtraMs
	const gateway, prefix = "burst", "b"
	if err := c.ensureServices(ctx, servicesFor(routes)); err != nil {
		return raw, err
	}
	addr, err := c.createGateway(ctx, gateway)
	if err != nil {
		return raw, err
	}
	before, err := c.scrape(ctx)
	if err != nil {
		return raw, err
	}
	match := map[string]string{"namespace": c.ns, "gateway": gateway}
	start := time.Now()
	if err := c.createRoutes(ctx, gateway, prefix, 0, routes); err != nil {
		return raw, err
	}
	lastWrite := time.Now()
	raw.CreateMillis = millis(lastWrite.Sub(start))
	if err := c.waitServed(ctx, addr, prefix, 0, routes, 5*time.Minute); err != nil {
		return raw, err
	}
	served := time.Now()
	raw.ServedAfterFirst, raw.ServedAfterLast = millis(served.Sub(start)), millis(served.Sub(lastWrite))
	// Pushes still in flight when the last route answered belong to the burst too.
	time.Sleep(c.pushSettle)
	after, err := c.scrape(ctx)
	if err != nil {
		return raw, err
	}
	okBefore, _ := sumMetric(before, "kengine_gateway_pushes_total", withResult(match, "ok"))
	okAfter, _ := sumMetric(after, "kengine_gateway_pushes_total", withResult(match, "ok"))
	unBefore, _ := sumMetric(before, "kengine_gateway_pushes_total", withResult(match, "unchanged"))
	unAfter, _ := sumMetric(after, "kengine_gateway_pushes_total", withResult(match, "unchanged"))
	raw.Pushes, raw.PushesUnchanged = okAfter-okBefore, unAfter-unBefore
	fmt.Printf("  burst of %d routes: created in %.0f ms, all served %.0f ms after the last write, %.0f pushes\n",
		routes, raw.CreateMillis, raw.ServedAfterLast, raw.Pushes)

	// The burst Gateway's routes would cost every later figure their syncs: remove them.
	if err := c.gwc.GatewayV1().HTTPRoutes(c.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: gatewayLabel + "=" + gateway}); err != nil {
		return raw, fmt.Errorf("deleting the burst routes: %w", err)
	}
	if err := c.gwc.GatewayV1().Gateways(c.ns).Delete(ctx, gateway, metav1.DeleteOptions{}); err != nil {
		return raw, fmt.Errorf("deleting the burst Gateway: %w", err)
	}
	return raw, nil
}

func withResult(m map[string]string, result string) map[string]string {
	out := map[string]string{"result": result}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// createEcho runs the echo backend: one pod every bench Service selects.
func (c *cluster) createEcho(ctx context.Context) error {
	labels := map[string]string{"app": "echo"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "echo", Namespace: c.ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
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
	if _, err := c.kube.AppsV1().Deployments(c.ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the echo Deployment: %w", err)
	}
	return nil
}

// ensureServices creates the Services svc-0000 .. up to n, all selecting the echo pod.
func (c *cluster) ensureServices(ctx context.Context, n int) error {
	if n <= c.services {
		return nil
	}
	err := c.parallel(ctx, c.services, n, func(ctx context.Context, i int) error {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: serviceName(i * routesPerService), Namespace: c.ns},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": "echo"},
				Ports:    []corev1.ServicePort{{Name: "http", Port: servicePort, TargetPort: intstr.FromInt32(3000)}},
			},
		}
		_, err := c.kube.CoreV1().Services(c.ns).Create(ctx, svc, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("creating Services: %w", err)
	}
	c.services = n
	return nil
}

// createRoutes creates the routes [from, to) with a prefix on a Gateway, with a bounded
// number of API writes in flight.
func (c *cluster) createRoutes(ctx context.Context, gateway, prefix string, from, to int) error {
	err := c.parallel(ctx, from, to, func(ctx context.Context, i int) error {
		_, err := c.gwc.GatewayV1().HTTPRoutes(c.ns).Create(ctx, benchRoute(c.ns, gateway, prefix, i), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("creating HTTPRoutes: %w", err)
	}
	return nil
}

// parallel calls f for every i in [from, to), c.o.workers at a time, and stops at the first
// error.
func (c *cluster) parallel(ctx context.Context, from, to int, f func(context.Context, int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(c.o.workers, 1))
	for i := from; i < to; i++ {
		g.Go(func() error { return f(ctx, i) })
	}
	return g.Wait()
}

// createGateway creates a Gateway with one HTTP listener on port 80, waits until it is
// Programmed with an address, and returns the address, which must be on loopback.
func (c *cluster) createGateway(ctx context.Context, name string) (string, error) {
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.ns},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: gatewayv1.ObjectName(c.o.class),
			Listeners:        []gatewayv1.Listener{{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: gatewayPort(c.port)}},
		},
	}
	if _, err := c.gwc.GatewayV1().Gateways(c.ns).Create(ctx, gw, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("creating Gateway %s: %w", name, err)
	}
	var addr string
	err := waitFor(ctx, 3*time.Minute, func() error {
		g, err := c.gwc.GatewayV1().Gateways(c.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, typ := range []gatewayv1.GatewayConditionType{gatewayv1.GatewayConditionAccepted, gatewayv1.GatewayConditionProgrammed} {
			cond := meta.FindStatusCondition(g.Status.Conditions, string(typ))
			if cond == nil || cond.Status != metav1.ConditionTrue || cond.ObservedGeneration != g.Generation {
				return fmt.Errorf("condition %s is %+v", typ, cond)
			}
		}
		if len(g.Status.Addresses) == 0 {
			return errors.New("no address")
		}
		addr = g.Status.Addresses[0].Value
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("Gateway %s not Programmed: %w", name, err)
	}
	if ip := net.ParseIP(addr); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("Gateway %s has the address %s; the suite sends traffic to loopback only", name, addr)
	}
	return addr, nil
}

// waitServed waits until the routes [from, to) with a prefix each answer 200 through addr,
// asking several at a time.
func (c *cluster) waitServed(ctx context.Context, addr, prefix string, from, to int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	var clients sync.Pool
	clients.New = func() any { return newKeepAliveClient() }
	for i := from; i < to; i++ {
		g.Go(func() error {
			client := clients.Get().(*http.Client)
			defer clients.Put(client)
			return pollUntilOKEvery(ctx, client, c.target(addr), routeHost(prefix, i), 50*time.Millisecond)
		})
	}
	return g.Wait()
}

// pollUntilOKEvery is pollUntilOK at a gentler pace and without its own deadline, for
// convergence waits where latency is not measured.
func pollUntilOKEvery(ctx context.Context, client *http.Client, target, host string, every time.Duration) error {
	var last error
	for {
		_, err := getOK(ctx, client, target, host)
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not served: %v", host, last)
		case <-time.After(every):
		}
	}
}

// waitFor calls check until it returns nil or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// scrape reads the controller's metrics: from -controller-metrics-url, or from the leader
// pod through the API server's pod proxy.
func (c *cluster) scrape(ctx context.Context) ([]metricSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if c.o.metricsURL != "" {
		u, err := url.Parse(c.o.metricsURL)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("-controller-metrics-url %s: the suite talks to loopback only", c.o.metricsURL)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.o.metricsURL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
		if err != nil {
			return nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", c.o.metricsURL, resp.Status)
		}
		var b []byte
		if b, err = readAllLimited(resp); err != nil {
			return nil, err
		}
		return parseMetrics(string(b))
	}
	pods, err := c.kube.CoreV1().Pods(c.o.controllerNamespace).List(ctx, metav1.ListOptions{LabelSelector: c.o.controllerSelector})
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		port := metricsPort(&p)
		data, err := c.kube.CoreV1().Pods(p.Namespace).ProxyGet("http", p.Name, port, "metrics", nil).DoRaw(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("pod %s: %w", p.Name, err))
			continue
		}
		samples, err := parseMetrics(string(data))
		if err != nil {
			errs = append(errs, fmt.Errorf("pod %s: %w", p.Name, err))
			continue
		}
		// With leader election, only the leader syncs: its memory is the figure.
		if leader, found := sumMetric(samples, "kengine_gateway_leader", nil); !found || leader == 1 {
			return samples, nil
		}
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("no running leader among the controller pods %s in %s (out of cluster, DEV_CONTROLLER=local: -controller-metrics-url http://127.0.0.1:8080/metrics)",
			c.o.controllerSelector, c.o.controllerNamespace)
	}
	return nil, fmt.Errorf("no leading controller pod %s in %s answered: %w", c.o.controllerSelector, c.o.controllerNamespace, errors.Join(errs...))
}

// metricsPort is the controller container's port named "metrics", 8080 by default.
func metricsPort(p *corev1.Pod) string {
	for _, ctr := range p.Spec.Containers {
		for _, port := range ctr.Ports {
			if port.Name == "metrics" {
				return strconv.Itoa(int(port.ContainerPort))
			}
		}
	}
	return "8080"
}

// memorySource says where the memory figures come from.
func (c *cluster) memorySource() string {
	if c.o.metricsURL != "" {
		return c.o.metricsURL + ": process_resident_memory_bytes, go_memstats_heap_inuse_bytes"
	}
	return "the leader pod's /metrics through the API server: process_resident_memory_bytes, go_memstats_heap_inuse_bytes"
}

// readMemory reads the controller's RSS and Go heap in use.
func (c *cluster) readMemory(ctx context.Context, routes int) (*memoryPoint, error) {
	samples, err := c.scrape(ctx)
	if err != nil {
		return nil, err
	}
	rss, ok := sumMetric(samples, "process_resident_memory_bytes", nil)
	if !ok {
		return nil, errors.New("the controller exports no process_resident_memory_bytes")
	}
	heap, ok := sumMetric(samples, "go_memstats_heap_inuse_bytes", nil)
	if !ok {
		return nil, errors.New("the controller exports no go_memstats_heap_inuse_bytes")
	}
	return &memoryPoint{Routes: routes, RSSMiB: rss / (1 << 20), HeapInUseMi: heap / (1 << 20)}, nil
}
