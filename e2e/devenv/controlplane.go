package devenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/khulnasoft/gateway/e2e/internal/proc"
)

// component is one background process of the environment.
type component struct {
	name string
	argv []string
	// ready reports nil once the process serves.
	ready func(ctx context.Context) error
	// timeout bounds the wait for ready.
	timeout time.Duration
	// restartOnChange restarts a running process whose binary or flags changed since it
	// started (our own binaries, rebuilt by every make dev).
	restartOnChange bool
}

func (e *Env) etcd() component {
	return component{
		name: "etcd",
		argv: []string{
			e.bin("etcd"),
			"--name=dev",
			"--data-dir=" + filepath.Join(e.stateDir(), "etcd"),
			"--listen-client-urls=" + etcdClientURL,
			"--advertise-client-urls=" + etcdClientURL,
			"--listen-peer-urls=" + etcdPeerURL,
			"--initial-advertise-peer-urls=" + etcdPeerURL,
			"--initial-cluster=dev=" + etcdPeerURL,
			"--initial-cluster-state=new",
			// A throwaway cluster: durability costs time and buys nothing here.
			"--unsafe-no-fsync",
			"--quota-backend-bytes=4294967296",
			"--log-level=warn",
		},
		ready: func(ctx context.Context) error {
			body, err := httpGet(ctx, http.DefaultClient, etcdClientURL+"/health")
			if err != nil {
				return err
			}
			if !strings.Contains(body, `"health":"true"`) {
				return fmt.Errorf("etcd health: %s", body)
			}
			return nil
		},
		timeout: 30 * time.Second,
	}
}

func (e *Env) apiServer() component {
	pki := e.pkiDir()
	return component{
		name: "kube-apiserver",
		argv: []string{
			e.bin("kube-apiserver"),
			"--etcd-servers=" + etcdClientURL,
			"--bind-address=127.0.0.1",
			fmt.Sprintf("--secure-port=%d", apiServerPort),
			"--advertise-address=127.0.0.1",
			// The apiserver is reachable on loopback only: do not publish it as endpoints of
			// the kubernetes Service, which pods could not reach anyway.
			"--endpoint-reconciler-type=none",
			"--authorization-mode=Node,RBAC",
			"--client-ca-file=" + filepath.Join(pki, "ca.crt"),
			"--tls-cert-file=" + filepath.Join(pki, "apiserver.crt"),
			"--tls-private-key-file=" + filepath.Join(pki, "apiserver.key"),
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + filepath.Join(pki, "sa.pub"),
			"--service-account-signing-key-file=" + filepath.Join(pki, "sa.key"),
			"--service-cluster-ip-range=" + serviceCIDR,
			"--allow-privileged=true",
			// The front-proxy settings publish a request-header CA, without which every
			// delegating component (kube-controller-manager too) logs errors all day.
			"--requestheader-client-ca-file=" + filepath.Join(pki, "ca.crt"),
			"--requestheader-allowed-names=front-proxy-client",
			"--requestheader-username-headers=X-Remote-User",
			"--requestheader-group-headers=X-Remote-Group",
			"--requestheader-extra-headers-prefix=X-Remote-Extra-",
			"--proxy-client-cert-file=" + filepath.Join(pki, "front-proxy-client.crt"),
			"--proxy-client-key-file=" + filepath.Join(pki, "front-proxy-client.key"),
			"--shutdown-delay-duration=0",
			"--profiling=false",
			"--v=1",
		},
		ready: func(ctx context.Context) error {
			c, err := e.adminHTTPClient()
			if err != nil {
				return err
			}
			body, err := httpGet(ctx, c, e.APIServerURL()+"/readyz")
			if err != nil {
				return err
			}
			if strings.TrimSpace(body) != "ok" {
				return fmt.Errorf("readyz: %s", body)
			}
			return nil
		},
		timeout: 90 * time.Second,
	}
}

func (e *Env) controllerManager() component {
	pki := e.pkiDir()
	kubeconfig := filepath.Join(pki, "kube-controller-manager.kubeconfig")
	return component{
		name: "kube-controller-manager",
		argv: []string{
			e.bin("kube-controller-manager"),
			"--kubeconfig=" + kubeconfig,
			"--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig,
			"--bind-address=127.0.0.1",
			fmt.Sprintf("--secure-port=%d", kcmPort),
			"--leader-elect=false",
			// The default set (deployments, replicasets, endpointslices and their mirroring,
			// service accounts and their tokens, namespaces, garbage collector, daemonsets, jobs,
			// node lifecycle...); node IPAM is off because the node agent owns the pod subnet.
			"--controllers=*,-nodeipam",
			"--use-service-account-credentials=true",
			"--service-account-private-key-file=" + filepath.Join(pki, "sa.key"),
			"--root-ca-file=" + filepath.Join(pki, "ca.crt"),
			"--cluster-signing-cert-file=" + filepath.Join(pki, "ca.crt"),
			"--cluster-signing-key-file=" + filepath.Join(pki, "ca.key"),
			"--service-cluster-ip-range=" + serviceCIDR,
			// The reliability suite stops the API server for 60 s. Its node does not fail
			// meanwhile, but its heartbeats cannot land, and with the default grace period
			// (50 s) the node lifecycle controller would mark every pod not ready the moment
			// the API server returns, emptying every Service until the node agent reports
			// again. Three minutes of silence are tolerated instead.
			"--node-monitor-grace-period=3m",
			"--profiling=false",
			"--v=1",
		},
		ready: func(ctx context.Context) error {
			c := &http.Client{Transport: &http.Transport{
				// Its serving certificate is self-signed; this only checks that it answers.
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback health check
			}}
			body, err := httpGet(ctx, c, fmt.Sprintf("https://127.0.0.1:%d/healthz", kcmPort))
			if err != nil {
				return err
			}
			if strings.TrimSpace(body) != "ok" {
				return fmt.Errorf("healthz: %s", body)
			}
			return nil
		},
		timeout: 60 * time.Second,
		// Stateless: a new flag takes effect at the next make dev.
		restartOnChange: true,
	}
}

func (e *Env) nodeAgent() component {
	return component{
		name: "nodeagent",
		argv: []string{
			e.bin("nodeagent"),
			"--kubeconfig=" + filepath.Join(e.pkiDir(), "nodeagent.kubeconfig"),
			"--node-name=" + NodeName,
			"--pod-subnet=" + PodSubnet,
			"--bridge=" + Bridge,
			"--name-prefix=" + NamePrefix,
			"--lb-range=" + LoadBalancerRange,
			"--bin-dir=" + filepath.Join(e.Dev, "bin"),
			"--state-dir=" + filepath.Join(e.stateDir(), "nodeagent"),
			"--pid-dir=" + e.podPIDDir(),
			"--v=2",
		},
		ready:           e.nodeReady,
		timeout:         60 * time.Second,
		restartOnChange: true,
	}
}

// start runs the component unless its recorded process still runs, then waits until it is
// ready. It reports whether it started a new process.
func (e *Env) start(ctx context.Context, c component) error {
	if c.restartOnChange {
		if err := e.stopIfChanged(c); err != nil {
			return err
		}
	}
	if r, ok := proc.Running(e.pidFile(c.name)); ok {
		e.printf("%s already running (pid %d)", c.name, r.PID)
	} else {
		if _, err := os.Stat(c.argv[0]); err != nil {
			return fmt.Errorf("%s: %w (run the build first)", c.name, err)
		}
		cmd := exec.Command(c.argv[0], c.argv[1:]...)
		cmd.Dir = e.Dev
		appendLine(e.logFile(c.name), fmt.Sprintf("---- %s starting: %s", time.Now().UTC().Format(time.RFC3339), strings.Join(c.argv, " ")))
		r, err := proc.StartDetached(cmd, e.logFile(c.name), e.pidFile(c.name))
		if err != nil {
			return err
		}
		e.printf("started %s (pid %d, log %s)", c.name, r.PID, e.logFile(c.name))
	}
	return e.waitReady(ctx, c)
}

// stopIfChanged stops the component when its binary or command line differs from the one it
// was started with, and records the new stamp.
func (e *Env) stopIfChanged(c component) error {
	sum, err := fileDigest(c.argv[0])
	if err != nil {
		return fmt.Errorf("%s: %w (run the build first)", c.name, err)
	}
	stamp := sum + " " + strings.Join(c.argv, " ")
	stampFile := filepath.Join(e.stateDir(), c.name+".stamp")
	if old, _ := os.ReadFile(stampFile); string(old) != stamp {
		if _, running := proc.Running(e.pidFile(c.name)); running {
			e.printf("%s: the binary or its flags changed: restarting it", c.name)
			if err := proc.Stop(e.pidFile(c.name), 30*time.Second); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(stampFile, []byte(stamp), 0o644)
}

func (e *Env) waitReady(ctx context.Context, c component) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var last error
	for {
		if _, ok := proc.Running(e.pidFile(c.name)); !ok {
			return fmt.Errorf("%s exited; the end of %s:\n%s", c.name, e.logFile(c.name), tail(e.logFile(c.name), 20))
		}
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		last = c.ready(rctx)
		rcancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %v; the end of %s:\n%s", c.name, c.timeout, last, e.logFile(c.name), tail(e.logFile(c.name), 20))
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// appendLine adds a line to a log file, best effort.
func appendLine(path, line string) {
	_ = os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func httpGet(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// adminHTTPClient is an HTTP client presenting the admin certificate to kube-apiserver.
func (e *Env) adminHTTPClient() (*http.Client, error) {
	pki := e.pkiDir()
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key"))
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12,
	}}}, nil
}
