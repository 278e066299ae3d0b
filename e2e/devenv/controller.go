package devenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/khulnasoft/gateway/e2e/internal/proc"
)

// DefaultControllerArgs are the controller's flags out of cluster (DEV_CONTROLLER=local),
// besides --kubeconfig. DEV_CONTROLLER_ARGS replaces them. The metrics and probe servers
// listen on 127.0.0.1 only: on every address they would take ports 8080 and 8081 from all of
// 127.0.0.0/8, where the load balancers of Gateways with such listeners live. --namespace is
// the namespace whose Roles (manifests/10-rbac.yaml) allow the admin CA Secret; out of
// cluster it would otherwise depend on whether this machine has a service-account namespace
// file. The admin API is mutual TLS, as in cluster: there is no insecure development mode.
var DefaultControllerArgs = []string{
	"--namespace=" + ControllerNamespace,
	"--metrics-bind-address=127.0.0.1:8080",
	"--health-probe-bind-address=127.0.0.1:8081",
}

// controllerName names the controller's PID and log files.
const controllerName = "kengine-gateway"

// The controller's identity in the install manifests (manifests/10-rbac.yaml). The
// environment runs the controller as this ServiceAccount, so that every end-to-end and
// conformance run proves the manifests' RBAC is enough.
const (
	ControllerNamespace      = "kengine-gateway-system"
	ControllerServiceAccount = "kengine-gateway"
)

// ControllerKubeconfig is the kubeconfig the controller runs with (see
// WriteControllerKubeconfig). It holds the admin's credentials, so it lives with them in
// .dev/pki, which make dev-down removes.
func (e *Env) ControllerKubeconfig() string {
	return filepath.Join(e.pkiDir(), "kengine-gateway.kubeconfig")
}

// upController applies the install manifests, runs the controller (in cluster from them, or
// out of cluster with DEV_CONTROLLER=local), applies the example, waits until the example's
// route answers through its Gateway and writes .dev/try.
func (e *Env) upController(ctx context.Context, opts UpOptions) error {
	if err := e.applyDir(ctx, filepath.Join(e.Root, "manifests")); err != nil {
		return err
	}
	if opts.Controller == OutOfCluster {
		// The install manifests run the controller as a Deployment; here it runs from bin/.
		if err := e.scaleInClusterController(ctx); err != nil {
			return err
		}
		if err := e.setMode(OutOfCluster); err != nil {
			return err
		}
		if err := e.startController(ctx, opts); err != nil {
			return err
		}
	} else if err := e.upInClusterController(ctx); err != nil {
		return err
	}
	// The example's HTTPS listener needs its certificate Secret before it can be programmed.
	if err := e.ensureExampleTLS(ctx); err != nil {
		return err
	}
	if err := e.applyDir(ctx, filepath.Join(e.Root, "example")); err != nil {
		return err
	}
	target, err := e.waitExampleRoute(ctx, 3*time.Minute)
	if err != nil {
		return err
	}
	https, hasHTTPS, err := e.waitExampleHTTPS(ctx, time.Minute)
	if err != nil {
		return err
	}
	var httpsTarget *HTTPSTarget
	if hasHTTPS {
		httpsTarget = &https
	}
	if err := e.writeTry(target, httpsTarget); err != nil {
		return err
	}
	e.printUsage(target, httpsTarget)
	return nil
}

// StopController stops the controller the environment runs: scales its Deployment to zero
// in cluster, stops its process by the recorded PID out of cluster. Tests use it to take the
// controller away for a while.
func (e *Env) StopController(ctx context.Context) error {
	if e.Mode() == OutOfCluster {
		return proc.Stop(e.pidFile(controllerName), 10*time.Second)
	}
	return e.stopInClusterController(ctx)
}

// StartController starts the controller again the way the environment runs it, unless it
// runs, and waits until it is ready.
func (e *Env) StartController(ctx context.Context) error {
	if e.Mode() == OutOfCluster {
		return e.startController(ctx, UpOptions{Controller: OutOfCluster})
	}
	return e.startInClusterController(ctx)
}

// applyDir applies every YAML file of a directory, server-side, in name order.
func (e *Env) applyDir(ctx context.Context, dir string) error {
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	sort.Strings(files)
	if len(files) == 0 {
		e.printf("nothing to apply in %s", dir)
		return nil
	}
	for _, f := range files {
		if _, err := e.kubectl(ctx, "apply", "--server-side", "--force-conflicts", "--field-manager=kengine-dev", "-f", f); err != nil {
			return err
		}
	}
	e.printf("applied %s", dir)
	return nil
}

// scaleInClusterController scales to zero every Deployment that runs the controller image.
func (e *Env) scaleInClusterController(ctx context.Context) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	deps, err := c.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, d := range deps.Items {
		for _, ct := range d.Spec.Template.Spec.Containers {
			if !strings.Contains(ct.Image, "/kengine-gateway") {
				continue
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 0 {
				if _, err := e.kubectl(ctx, "scale", "deployment", "-n", d.Namespace, d.Name, "--replicas=0"); err != nil {
					return err
				}
				e.printf("scaled the in-cluster controller %s/%s to 0 (it runs from %s instead)", d.Namespace, d.Name, e.ControllerBinary())
			}
			break
		}
	}
	return nil
}

// startController runs the controller binary unless the same binary already runs; a rebuilt
// binary replaces the running one.
func (e *Env) startController(ctx context.Context, opts UpOptions) error {
	args := opts.ControllerArgs
	if v := os.Getenv("DEV_CONTROLLER_ARGS"); v != "" {
		args = strings.Fields(v)
	}
	if args == nil {
		args = DefaultControllerArgs
	}
	if err := e.WriteControllerKubeconfig(ctx); err != nil {
		return err
	}
	argv := append([]string{e.ControllerBinary(), "--kubeconfig=" + e.ControllerKubeconfig()}, args...)
	return e.start(ctx, component{
		name: controllerName,
		argv: argv,
		// Ready once its informer caches are synced; it proves itself by programming the example.
		ready: func(ctx context.Context) error {
			_, err := httpGet(ctx, http.DefaultClient, "http://"+probeAddress(args)+"/readyz")
			return err
		},
		timeout:         60 * time.Second,
		restartOnChange: true,
	})
}

// WriteControllerKubeconfig writes ControllerKubeconfig: the admin kubeconfig with its user
// impersonating the controller's ServiceAccount. The API server authenticates the admin's
// client certificate, checks that the admin may impersonate (system:masters may), then
// authorizes every request as system:serviceaccount:<namespace>:<name> with the groups of a
// ServiceAccount (system:serviceaccounts, system:serviceaccounts:<namespace>,
// system:authenticated): the RBAC the controller gets in a cluster, without a token to mint
// or renew. The ServiceAccount must exist (the manifests are applied first): impersonation
// would work without it, but a renamed ServiceAccount would then show up only as forbidden
// errors in the controller's log.
func (e *Env) WriteControllerKubeconfig(ctx context.Context) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	if _, err := c.CoreV1().ServiceAccounts(ControllerNamespace).Get(ctx, ControllerServiceAccount, metav1.GetOptions{}); err != nil {
		return fmt.Errorf("the controller runs as ServiceAccount %s/%s, which manifests/10-rbac.yaml must create: %w", ControllerNamespace, ControllerServiceAccount, err)
	}
	cfg, err := clientcmd.LoadFromFile(e.Kubeconfig())
	if err != nil {
		return err
	}
	current, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return fmt.Errorf("%s: no current context", e.Kubeconfig())
	}
	admin, ok := cfg.AuthInfos[current.AuthInfo]
	if !ok {
		return fmt.Errorf("%s: no user %q", e.Kubeconfig(), current.AuthInfo)
	}
	cluster, ok := cfg.Clusters[current.Cluster]
	if !ok {
		return fmt.Errorf("%s: no cluster %q", e.Kubeconfig(), current.Cluster)
	}
	user := admin.DeepCopy()
	user.Impersonate = "system:serviceaccount:" + ControllerNamespace + ":" + ControllerServiceAccount
	out := clientcmdapi.NewConfig()
	out.Clusters[current.Cluster] = cluster
	out.AuthInfos[controllerName] = user
	out.Contexts[controllerName] = &clientcmdapi.Context{Cluster: current.Cluster, AuthInfo: controllerName}
	out.CurrentContext = controllerName
	return clientcmd.WriteToFile(*out, e.ControllerKubeconfig())
}

// probeAddress is where the controller serves /readyz: its --health-probe-bind-address, on
// loopback when no host is given.
func probeAddress(args []string) string {
	addr := ":8081"
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--health-probe-bind-address="); ok {
			addr = v
		} else if a == "--health-probe-bind-address" && i+1 < len(args) {
			addr = args[i+1]
		}
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// RouteTarget is how to reach one HTTPRoute through its Gateway.
type RouteTarget struct {
	Gateway, Route string
	// Address is the Gateway's address and the listener port ("127.0.100.1:80").
	Address string
	// Host is the Host header to send (the route's first hostname), empty for any.
	Host string
	// Path is a path the route matches.
	Path string
}

// URL is the request URL of the target.
func (t RouteTarget) URL() string { return "http://" + t.Address + t.Path }

// Curl is the curl command line that reaches the target.
func (t RouteTarget) Curl() string {
	host := ""
	if t.Host != "" {
		host = fmt.Sprintf("-H 'Host: %s' ", t.Host)
	}
	return fmt.Sprintf("curl -sS %s'%s'", host, t.URL())
}

// waitExampleRoute waits until some HTTPRoute answers 200 through its Gateway's address.
func (e *Env) waitExampleRoute(ctx context.Context, timeout time.Duration) (RouteTarget, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", e.Kubeconfig())
	if err != nil {
		return RouteTarget{}, err
	}
	gw, err := gatewayclient.NewForConfig(cfg)
	if err != nil {
		return RouteTarget{}, err
	}
	e.printf("waiting for the example route to answer through its Gateway (up to %s)", timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := errors.New("no HTTPRoute yet")
	for {
		if err := e.controllerRunning(ctx); err != nil {
			return RouteTarget{}, err
		}
		targets, err := routeTargets(ctx, gw)
		if err != nil {
			last = err
		}
		for _, t := range targets {
			if err := probeRoute(ctx, t); err != nil {
				last = fmt.Errorf("%s via %s: %w", t.Route, t.Gateway, err)
				continue
			}
			return t, nil
		}
		select {
		case <-ctx.Done():
			return RouteTarget{}, fmt.Errorf("the example route did not answer within %s: %v", timeout, last)
		case <-time.After(time.Second):
		}
	}
}

// routeTargets lists, for every HTTPRoute attached to a Gateway that has an address, how to
// reach the route's first rule.
func routeTargets(ctx context.Context, gw gatewayclient.Interface) ([]RouteTarget, error) {
	routes, err := gw.GatewayV1().HTTPRoutes("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []RouteTarget
	for _, r := range routes.Items {
		for _, ref := range r.Spec.ParentRefs {
			if ref.Kind != nil && *ref.Kind != "Gateway" {
				continue
			}
			ns := r.Namespace
			if ref.Namespace != nil {
				ns = string(*ref.Namespace)
			}
			g, err := gw.GatewayV1().Gateways(ns).Get(ctx, string(ref.Name), metav1.GetOptions{})
			if err != nil || len(g.Status.Addresses) == 0 {
				continue
			}
			port := listenerPort(g, ref)
			if port == 0 {
				continue
			}
			t := RouteTarget{
				Gateway: ns + "/" + g.Name,
				Route:   r.Namespace + "/" + r.Name,
				Address: net.JoinHostPort(g.Status.Addresses[0].Value, strconv.Itoa(port)),
				Path:    "/",
			}
			if len(r.Spec.Hostnames) > 0 {
				t.Host = strings.Replace(string(r.Spec.Hostnames[0]), "*", "example", 1)
			}
			if len(r.Spec.Rules) > 0 && len(r.Spec.Rules[0].Matches) > 0 {
				if p := r.Spec.Rules[0].Matches[0].Path; p != nil && p.Value != nil &&
					(p.Type == nil || *p.Type != gatewayv1.PathMatchRegularExpression) {
					t.Path = *p.Value
				}
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// listenerPort picks the port of the plain-HTTP listener a parentRef attaches to.
func listenerPort(g *gatewayv1.Gateway, ref gatewayv1.ParentReference) int {
	for _, l := range g.Spec.Listeners {
		if ref.SectionName != nil && *ref.SectionName != l.Name {
			continue
		}
		if ref.Port != nil && *ref.Port != l.Port {
			continue
		}
		if l.Protocol == gatewayv1.HTTPProtocolType {
			return int(l.Port)
		}
	}
	return 0
}

func probeRoute(ctx context.Context, t RouteTarget) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL(), nil)
	if err != nil {
		return err
	}
	if t.Host != "" {
		req.Host = t.Host
	}
	return expectOK(http.DefaultClient, req)
}

// expectOK sends req and wants a 200, draining (a bounded part of) the body.
func expectOK(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

func (e *Env) writeTry(t RouteTarget, https *HTTPSTarget) error {
	script := fmt.Sprintf(`#!/bin/sh
# Sends a request to the example route %s through Gateway %s (written by make dev).
# ".dev/try https" goes through the HTTPS listener instead, verifying its self-signed certificate.
`, t.Route, t.Gateway)
	if https != nil {
		script += fmt.Sprintf(`if [ "$1" = https ]; then
	shift
	exec %s "$@"
fi
`, https.Curl())
	}
	script += fmt.Sprintf("exec %s \"$@\"\n", t.Curl())
	return os.WriteFile(filepath.Join(e.Dev, "try"), []byte(script), 0o755)
}

func (e *Env) printUsage(t RouteTarget, https *HTTPSTarget) {
	try := filepath.Join(e.Dev, "try")
	fmt.Fprintf(e.Out, `
The local environment is up.

  export KUBECONFIG=%s
  %s get gateways -A
  %s          # the example route %s through Gateway %s
  %s                  # the same, as a script
`, e.Kubeconfig(), e.bin("kubectl"), t.Curl(), t.Route, t.Gateway, try)
	if https != nil {
		fmt.Fprintf(e.Out, `  %s          # the same route through the HTTPS listener
  %s https            # the same, as a script
`, https.Curl(), try)
	}
	fmt.Fprintf(e.Out, `
Logs are in %s; stop everything with: make dev-down
`, filepath.Join(e.Dev, "logs"))
}
