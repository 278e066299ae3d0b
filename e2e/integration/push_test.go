package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/kengine"
)

// adminRecorder is a reverse proxy in front of a Kengine Admin API that counts the requests
// it forwards by "METHOD path", to show what a client did and did not send.
type adminRecorder struct {
	port int

	mu     sync.Mutex
	counts map[string]int
}

func startAdminRecorder(t testing.TB, adminListen string) *adminRecorder {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: adminListen}
	proxy := &httputil.ReverseProxy{
		// SetURL also sets the Host header to the admin address, which Kengine checks.
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}
	rec := &adminRecorder{counts: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec.port = ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec.mu.Lock()
			rec.counts[r.Method+" "+r.URL.Path]++
			rec.mu.Unlock()
			proxy.ServeHTTP(w, r)
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return rec
}

// count returns how many "METHOD path" requests went through.
func (r *adminRecorder) count(request string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[request]
}

// client returns a fresh admin client that talks to Kengine through the recorder.
func (r *adminRecorder) client(t testing.TB) *kengine.Client {
	t.Helper()
	c, err := kengine.NewClient(kengine.ClientOptions{Port: r.port, Insecure: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const loadRequest = "POST /load"

// versionRequest is how the client asks a pod whether it runs version.
func versionRequest(version string) string { return "GET /id/" + kengine.VersionAdminID(version) }

func pushOne(t testing.TB, c *kengine.Client, ep kengine.Endpoint, data []byte, version string) kengine.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Push(ctx, []kengine.Endpoint{ep}, data, version)[0]
}

// readyBody reads what the health server's readiness route answers; it exists only in
// controller-pushed configs.
func readyBody(t testing.TB, h *harness) string {
	t.Helper()
	resp, err := h.http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", h.opts.HealthPort, render.ReadyPath))
	if err != nil {
		t.Fatalf("readiness route: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readiness route: %s", resp.Status)
	}
	return string(body)
}

func TestPushSkipsAConfigTheKengineAlreadyRuns(t *testing.T) {
	h := newHarness(t)
	rec := startAdminRecorder(t, h.kengine.adminListen())
	client := rec.client(t)
	be := startBackends(t, "echo")
	port := freePort(t)
	data, version := h.finalize(h.render(snapshot(gateway(httpListener("http", port, "")),
		route("echo", withRules(rule(to("echo")))), service("echo", be["echo"]),
	)))

	first := pushOne(t, client, h.endpoint(), data, version)
	if first.Err != nil || first.Skipped {
		t.Fatalf("first push: skipped %v, error %v; want a load", first.Skipped, first.Err)
	}
	if got := readyBody(t, h); got != "ready" {
		t.Errorf("readiness route answers %q, want ready", got)
	}
	expectReply(t, h.send(port, request{host: "echo.test", path: "/"}), http.StatusOK, "echo")

	second := pushOne(t, client, h.endpoint(), data, version)
	if second.Err != nil || !second.Skipped {
		t.Fatalf("second push of the same bytes: skipped %v, error %v; want skipped", second.Skipped, second.Err)
	}
	if got := rec.count(loadRequest); got != 1 {
		t.Errorf("%d %s requests, want 1: the second push must not load", got, loadRequest)
	}
	if got := rec.count(versionRequest(version)); got != 1 {
		t.Errorf("%d %s requests, want 1: the second push asks whether the pod runs it", got, versionRequest(version))
	}
	expectReply(t, h.send(port, request{host: "echo.test", path: "/"}), http.StatusOK, "echo")
}

func TestPushReprogramsKengineAfterItRestartsWithoutConfig(t *testing.T) {
	h := newHarness(t)
	rec := startAdminRecorder(t, h.kengine.adminListen())
	client := rec.client(t)
	be := startBackends(t, "echo")
	port := freePort(t)
	data, version := h.finalize(h.render(snapshot(gateway(httpListener("http", port, "")),
		route("echo", withRules(rule(to("echo")))), service("echo", be["echo"]),
	)))
	if res := pushOne(t, client, h.endpoint(), data, version); res.Err != nil {
		t.Fatalf("push: %v", res.Err)
	}
	expectReply(t, h.send(port, request{host: "echo.test", path: "/"}), http.StatusOK, "echo")

	h.kengine.restart()
	if rep, err := h.do(h.http, "http", port, request{host: "echo.test", path: "/"}); err == nil {
		t.Fatalf("a restarted Kengine serves the listener before any push: %v", rep)
	}

	// The client remembers loading this version; the restarted pod reports none, so the
	// same bytes are loaded again.
	res := pushOne(t, client, h.endpoint(), data, version)
	if res.Err != nil || res.Skipped {
		t.Fatalf("push after the restart: skipped %v, error %v; want a load", res.Skipped, res.Err)
	}
	if got := rec.count(versionRequest(version)); got != 1 {
		t.Errorf("%d %s requests, want 1", got, versionRequest(version))
	}
	if got := rec.count(loadRequest); got != 2 {
		t.Errorf("%d %s requests, want 2", got, loadRequest)
	}
	expectReply(t, h.send(port, request{host: "echo.test", path: "/"}), http.StatusOK, "echo")
	if got := readyBody(t, h); got != "ready" {
		t.Errorf("readiness route answers %q, want ready", got)
	}
}

func TestRejectedConfigReturnsAPIErrorAndTheRunningConfigKeepsServing(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "old", "new")
	port := freePort(t)
	oldVersion := h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("app", withRules(rule(to("old")))), service("old", be["old"]),
	))
	expectReply(t, h.send(port, request{host: "app.test", path: "/"}), http.StatusOK, "old")

	newSnapshot := snapshot(gateway(httpListener("http", port, "")),
		route("app", withRules(rule(to("new")))), service("new", be["new"]),
	)
	bad := h.render(newSnapshot)
	const unknownHandler = "kengine_gateway_no_such_handler"
	server := serverListeningOn(t, bad, port)
	server.Routes = append([]kengine.Route{{
		Handle: []kengine.Handler{kengine.RawHandler(`{"handler":"` + unknownHandler + `"}`)},
	}}, server.Routes...)
	res := h.push(h.finalize(bad))

	var apiErr *kengine.APIError
	if !errors.As(res.Err, &apiErr) {
		t.Fatalf("push of a config Kengine rejects: error %v, want a *kengine.APIError", res.Err)
	}
	if apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Message, unknownHandler) {
		t.Errorf("APIError %d %q; want 400 naming %s", apiErr.StatusCode, apiErr.Message, unknownHandler)
	}
	if runs, err := h.client.RunsVersion(context.Background(), h.endpoint(), oldVersion); err != nil || !runs {
		t.Errorf("runs the previous version %s: %v (error %v), want true", oldVersion, runs, err)
	}
	expectReply(t, h.send(port, request{host: "app.test", path: "/"}), http.StatusOK, "old")

	// The client forgot the failed version: the corrected config loads.
	h.apply(newSnapshot)
	expectReply(t, h.send(port, request{host: "app.test", path: "/"}), http.StatusOK, "new")
}

// serverListeningOn finds the rendered server of a Gateway port.
func serverListeningOn(t testing.TB, cfg *kengine.Config, port int) *kengine.Server {
	t.Helper()
	want := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for _, srv := range cfg.Apps.HTTP.Servers {
		for _, addr := range srv.Listen {
			if addr == want {
				return srv
			}
		}
	}
	t.Fatalf("no rendered server listens on %s", want)
	return nil
}
