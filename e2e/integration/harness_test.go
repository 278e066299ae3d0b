package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/translate"
	"github.com/khulnasoft/gateway/kengine"
)

// requestTimeout bounds every request a test sends through Kengine.
const requestTimeout = 10 * time.Second

// harness is one Kengine process with the admin client and render options of a controller
// that owns it.
type harness struct {
	t       testing.TB
	kengine *kengineProcess
	client  *kengine.Client
	opts    render.Options
	http    *http.Client
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessOn(t, startKengine(t))
}

// newHarnessOn is newHarness for a Kengine process the test started itself.
func newHarnessOn(t testing.TB, k *kengineProcess) *harness {
	t.Helper()
	client, err := kengine.NewClient(kengine.ClientOptions{Port: k.adminPort, Insecure: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{
		t:       t,
		kengine: k,
		client:  client,
		opts: render.Options{
			// The pushed admin block keeps the bootstrap's listener, or the next push would
			// find nobody listening.
			Admin:      &kengine.Admin{Listen: k.adminListen(), Config: &kengine.AdminConfig{Persist: ptr.To(false)}},
			ListenHost: "127.0.0.1",
			HealthPort: freePortRun(t, 3),
		},
		// Every request gets its own connection, so that no pooled connection outlives the
		// config that accepted it.
		http: &http.Client{
			Timeout:       requestTimeout,
			Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// endpoint is the Kengine "pod" as the controller would find it.
func (h *harness) endpoint() kengine.Endpoint {
	return kengine.Endpoint{Pod: "kengine-0", Namespace: gatewayNamespace, UID: "uid-0", Address: "127.0.0.1"}
}

// render translates and renders a snapshot, failing the test unless every route is accepted
// by the Gateway.
func (h *harness) render(s *translate.Snapshot) *kengine.Config {
	h.t.Helper()
	// The test backends run on the host's loopback, which the controller itself never dials.
	tr := translate.Translate(s, translate.Options{ControllerName: controllerName, AllowLoopbackBackends: true})
	for _, rs := range tr.Status.Routes {
		if len(rs.Parents) == 0 {
			h.t.Fatalf("route %s/%s has no parent status for the Gateway", rs.Route.GetNamespace(), rs.Route.GetName())
		}
		for _, p := range rs.Parents {
			if !apimeta.IsStatusConditionTrue(p.Conditions, string(gatewayv1.RouteConditionAccepted)) {
				h.t.Fatalf("route %s/%s is not accepted: %+v", rs.Route.GetNamespace(), rs.Route.GetName(), p.Conditions)
			}
		}
	}
	cfg, err := render.Config(tr.Gateway, h.opts)
	if err != nil {
		h.t.Fatalf("render: %v", err)
	}
	return cfg
}

// finalize encodes a config and stamps its version.
func (h *harness) finalize(cfg *kengine.Config) (data []byte, version string) {
	h.t.Helper()
	data, version, err := kengine.Finalize(cfg)
	if err != nil {
		h.t.Fatalf("finalize: %v", err)
	}
	return data, version
}

// push sends a finalized config to the process with the harness's client.
func (h *harness) push(data []byte, version string) kengine.Result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results := h.client.Push(ctx, []kengine.Endpoint{h.endpoint()}, data, version)
	if len(results) != 1 {
		h.t.Fatalf("Push returned %d results for one endpoint", len(results))
	}
	return results[0]
}

// apply runs the whole pipeline, snapshot to running config, and returns the config version.
func (h *harness) apply(s *translate.Snapshot) string {
	h.t.Helper()
	data, version := h.finalize(h.render(s))
	if res := h.push(data, version); res.Err != nil {
		h.t.Fatalf("push: %v", res.Err)
	}
	return version
}

// request is what a test sends to a Gateway listener on 127.0.0.1.
type request struct {
	method string // GET when empty
	host   string // the Host header, and the TLS server name over HTTPS
	path   string // path and query
	header http.Header
}

// reply is what came back; echo is set when a backend answered.
type reply struct {
	status int
	header http.Header
	body   string
	echo   *echo
}

// backend names the backend that answered, or "" when Kengine answered itself.
func (r reply) backend() string {
	if r.echo == nil {
		return ""
	}
	return r.echo.Backend
}

func (r reply) String() string {
	return fmt.Sprintf("status %d, backend %q, body %.200q", r.status, r.backend(), r.body)
}

// send makes one plain HTTP request to the listener on port and fails the test on a
// transport error.
func (h *harness) send(port int, r request) reply {
	h.t.Helper()
	rep, err := h.do(h.http, "http", port, r)
	for attempt := 1; err != nil && attempt <= 2 && connectionLost(err); attempt++ {
		// A connection accepted by the listener of the config being replaced can be closed
		// without an answer (Kengine's reload loss on fresh connections, which the reliability
		// work measures and removes); these tests check routing, so they ask again, visibly.
		h.t.Logf("%s %s (Host %s): %v; asking again (%d)", r.method, r.path, r.host, err, attempt)
		time.Sleep(50 * time.Millisecond)
		rep, err = h.do(h.http, "http", port, r)
	}
	if err != nil {
		h.t.Fatalf("%s %s (Host %s): %v", r.method, r.path, r.host, err)
	}
	return rep
}

// connectionLost reports whether a request failed because the connection ended without an
// answer (EOF or a reset), as opposed to a refused connection or a timeout.
func connectionLost(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// sendTLS makes one HTTPS request with r.host as the server name, trusting roots only, and
// returns the leaf certificate the server presented.
func (h *harness) sendTLS(port int, r request, roots *x509.CertPool) (reply, *x509.Certificate, error) {
	var leaf *x509.Certificate
	client := &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			Proxy:             nil,
			DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{
				ServerName: r.host,
				RootCAs:    roots,
				MinVersion: tls.VersionTLS12,
				VerifyConnection: func(cs tls.ConnectionState) error {
					if len(cs.PeerCertificates) > 0 {
						leaf = cs.PeerCertificates[0]
					}
					return nil
				},
			},
		},
	}
	rep, err := h.do(client, "https", port, r)
	return rep, leaf, err
}

func (h *harness) do(client *http.Client, scheme string, port int, r request) (reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	url := fmt.Sprintf("%s://127.0.0.1:%d%s", scheme, port, r.path)
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return reply{}, err
	}
	req.Host = r.host
	for name, values := range r.header {
		req.Header[name] = values
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return reply{}, err
	}
	rep := reply{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var e echo
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&e); err == nil && e.Backend != "" {
			rep.echo = &e
		}
	}
	return rep, nil
}

// expectReply fails unless the reply has the status and came from the named backend; "" expects
// a response that Kengine wrote itself.
func expectReply(t testing.TB, rep reply, status int, backend string) {
	t.Helper()
	if rep.status != status || rep.backend() != backend {
		t.Errorf("got %v; want status %d from backend %q", rep, status, backend)
	}
}
