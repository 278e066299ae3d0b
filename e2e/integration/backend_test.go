package integration

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

// echo is what a backend saw of a request; it answers it as JSON.
type echo struct {
	Backend  string      `json:"backend"`
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	RawQuery string      `json:"rawQuery"`
	Host     string      `json:"host"`
	Headers  http.Header `json:"headers"`
	// Proto is the HTTP version the request arrived in, such as "HTTP/2.0".
	Proto string `json:"proto"`
	// Body is the request body, for the backends of behaviour_test.go.
	Body string `json:"body,omitempty"`
}

// Response headers every backend sets, for the ResponseHeaderModifier tests.
const (
	backendNameHeader  = "X-Backend-Name"
	backendKeepHeader  = "X-Backend-Keep"
	backendSetHeader   = "X-Backend-Set"
	backendDropHeader  = "X-Backend-Drop"
	backendHeaderValue = "from-backend"
)

// backend is an HTTP server on 127.0.0.1 that answers every request with an echo.
type backend struct {
	name string
	port int
}

// startBackend starts a backend; it stops when the test ends.
func startBackend(t testing.TB, name string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, port: ln.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("backend %s: %v", name, err)
		}
	})
	return b
}

// startBackends starts one backend per name, by name.
func startBackends(t testing.TB, names ...string) map[string]*backend {
	t.Helper()
	out := make(map[string]*backend, len(names))
	for _, n := range names {
		out[n] = startBackend(t, n)
	}
	return out
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := echo{
		Backend: b.name, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Host: r.Host, Headers: r.Header, Proto: r.Proto,
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(backendNameHeader, b.name)
	h.Set(backendKeepHeader, backendHeaderValue)
	h.Set(backendSetHeader, backendHeaderValue)
	h.Set(backendDropHeader, backendHeaderValue)
	_ = json.NewEncoder(w).Encode(e)
}
