package nodeagent

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeOutcome is the result of one probe attempt.
type probeOutcome struct {
	ok      bool
	message string
}

// runProbe performs one httpGet or tcpSocket probe against the pod's address. A probe kind this
// node cannot perform (exec, grpc) fails with a message that says so, so the pod never turns
// Ready on a probe nobody ran.
func runProbe(ctx context.Context, p *v1.Probe, c *v1.Container, podIP string) probeOutcome {
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case p.HTTPGet != nil:
		return probeHTTP(ctx, p.HTTPGet, c, podIP)
	case p.TCPSocket != nil:
		port, err := resolvePort(p.TCPSocket.Port, c)
		if err != nil {
			return probeOutcome{message: err.Error()}
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return probeOutcome{message: err.Error()}
		}
		conn.Close()
		return probeOutcome{ok: true}
	case p.Exec != nil:
		return probeOutcome{message: "exec probes are not supported by this node agent"}
	case p.GRPC != nil:
		return probeOutcome{message: "grpc probes are not supported by this node agent"}
	}
	return probeOutcome{message: "probe has no handler"}
}

func probeHTTP(ctx context.Context, g *v1.HTTPGetAction, c *v1.Container, podIP string) probeOutcome {
	port, err := resolvePort(g.Port, c)
	if err != nil {
		return probeOutcome{message: err.Error()}
	}
	host := g.Host
	if host == "" {
		host = podIP
	}
	scheme := "http"
	if g.Scheme == v1.URISchemeHTTPS {
		scheme = "https"
	}
	path := g.Path
	if path == "" {
		path = "/"
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	full, err := url.Parse(u.String() + path)
	if err != nil {
		return probeOutcome{message: fmt.Sprintf("probe path %q: %v", path, err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, full.String(), nil)
	if err != nil {
		return probeOutcome{message: err.Error()}
	}
	req.Header.Set("User-Agent", "kube-probe/1.37")
	for _, h := range g.HTTPHeaders {
		if h.Name == "Host" {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	client := &http.Client{
		Transport: &http.Transport{
			// Like kubelet: a probe checks liveness of the server, not its certificate.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes do not verify, as in Kubernetes
			DisableKeepAlives: true,
			Proxy:             nil,
		},
		// Kubelet follows redirects to the same host only; none is simplest and safe here.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return probeOutcome{message: err.Error()}
	}
	defer resp.Body.Close()
	_, _ = io.CopyN(io.Discard, resp.Body, 10<<10)
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return probeOutcome{ok: true}
	}
	return probeOutcome{message: fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)}
}

// resolvePort turns a probe port (a number or a container port name) into a number.
func resolvePort(p intstr.IntOrString, c *v1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("container %s has no port named %q", c.Name, p.StrVal)
}

// prober runs one probe of one container instance on the probe's schedule and hands every
// attempt's outcome to report, which decides what it means (readiness, liveness, startup).
type prober struct {
	probe     *v1.Probe
	container *v1.Container
	podIP     string
	// report receives, after each attempt, whether the success threshold is met (passed),
	// whether the failure threshold is met (failed) and the failure message. It returns true
	// to stop probing.
	report func(passed, failed bool, message string) (stop bool)
}

func (p prober) run(ctx context.Context) {
	period := time.Duration(p.probe.PeriodSeconds) * time.Second
	if period <= 0 {
		period = 10 * time.Second
	}
	success := int(p.probe.SuccessThreshold)
	if success <= 0 {
		success = 1
	}
	failure := int(p.probe.FailureThreshold)
	if failure <= 0 {
		failure = 3
	}
	if d := time.Duration(p.probe.InitialDelaySeconds) * time.Second; d > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
	okRun, failRun := 0, 0
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		out := runProbe(ctx, p.probe, p.container, p.podIP)
		if ctx.Err() != nil {
			return
		}
		if out.ok {
			okRun, failRun = okRun+1, 0
		} else {
			okRun, failRun = 0, failRun+1
		}
		if p.report(okRun >= success, failRun >= failure, out.message) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
