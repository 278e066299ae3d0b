package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/translate"
)

// Backends with behaviour (slow, failing, HTTP/2 only, WebSocket) for the HTTPRoute features
// that depend on it, and the route options those features need.

// startServer serves h on 127.0.0.1 with the given protocols (nil: Go's default, HTTP/1.1)
// and returns it as a backend named name; it stops when the test ends.
func startServer(t testing.TB, name string, h http.Handler, protocols *http.Protocols) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, port: ln.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, Protocols: protocols}
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

// startH2CBackend starts an echo backend that speaks only HTTP/2 with prior knowledge, the way
// kubernetes.io/h2c says: an HTTP/1.1 request gets no answer from it.
func startH2CBackend(t testing.TB, name string) *backend {
	t.Helper()
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	echoer := &backend{name: name}
	return startServer(t, name, echoer, &protocols)
}

// startWebSocketBackend starts a backend that echoes every WebSocket message at /ws.
func startWebSocketBackend(t testing.TB, name string) *backend {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/ws", websocket.Handler(func(ws *websocket.Conn) { _, _ = io.Copy(ws, ws) }))
	return startServer(t, name, mux, nil)
}

// behaviour is a backend that misbehaves on request, by query parameters:
//
//	delay=D            sleeps D before answering
//	id=X&fail=N&with=S fails the first N requests with the same id: with the status S, or
//	                   with "reset" by resetting the connection, or with "slow" by sleeping
//	                   2 s first (longer than any timeout the tests set)
//
// and otherwise answers with an echo that includes the body. It counts the requests per id.
type behaviour struct {
	name string

	mu       sync.Mutex
	attempts map[string]int
}

// startBehaviourBackend starts a behaviour backend.
func startBehaviourBackend(t testing.TB, name string) (*backend, *behaviour) {
	t.Helper()
	bh := &behaviour{name: name, attempts: map[string]int{}}
	return startServer(t, name, bh, nil), bh
}

// attemptsFor is how many requests with id arrived.
func (bh *behaviour) attemptsFor(id string) int {
	bh.mu.Lock()
	defer bh.mu.Unlock()
	return bh.attempts[id]
}

func (bh *behaviour) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if d, err := time.ParseDuration(q.Get("delay")); err == nil {
		time.Sleep(d)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if id := q.Get("id"); id != "" {
		bh.mu.Lock()
		bh.attempts[id]++
		n := bh.attempts[id]
		bh.mu.Unlock()
		if fail, _ := strconv.Atoi(q.Get("fail")); n <= fail {
			switch with := q.Get("with"); with {
			case "reset":
				resetConnection(w)
				return
			case "slow":
				time.Sleep(2 * time.Second)
			default:
				status, err := strconv.Atoi(with)
				if err != nil {
					status = http.StatusBadRequest
				}
				w.WriteHeader(status)
				return
			}
		}
	}
	e := echo{Backend: bh.name, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Host: r.Host, Headers: r.Header, Proto: r.Proto, Body: string(body)}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(backendNameHeader, bh.name)
	_ = json.NewEncoder(w).Encode(e)
}

// resetConnection aborts the connection with a TCP reset instead of answering.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(fmt.Sprintf("hijacking: %v", err))
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// withAppProtocol sets the appProtocol of a Service's port.
func withAppProtocol(s serviceObjects, appProtocol string) serviceObjects {
	s.service.Spec.Ports[0].AppProtocol = ptr.To(appProtocol)
	return s
}

// timeouts sets a rule's timeouts; "" leaves one unset.
func timeouts(request, backendRequest string) ruleOption {
	return func(r *gatewayv1.HTTPRouteRule) {
		r.Timeouts = &gatewayv1.HTTPRouteTimeouts{}
		if request != "" {
			r.Timeouts.Request = ptr.To(gatewayv1.Duration(request))
		}
		if backendRequest != "" {
			r.Timeouts.BackendRequest = ptr.To(gatewayv1.Duration(backendRequest))
		}
	}
}

// retrying sets a rule's retry stanza; a zero attempts or "" backoff leaves it unset.
func retrying(attempts int, backoff string, codes ...gatewayv1.HTTPRouteRetryStatusCode) ruleOption {
	return func(r *gatewayv1.HTTPRouteRule) {
		r.Retry = &gatewayv1.HTTPRouteRetry{Codes: codes}
		if attempts != 0 {
			r.Retry.Attempts = ptr.To(attempts)
		}
		if backoff != "" {
			r.Retry.Backoff = ptr.To(gatewayv1.Duration(backoff))
		}
	}
}

// named names a rule.
func named(name string) ruleOption {
	return func(r *gatewayv1.HTTPRouteRule) { r.Name = ptr.To(gatewayv1.SectionName(name)) }
}

// toFilteredWeighted is toWeighted with backendRef-level filters.
func toFilteredWeighted(service string, weight int32, filters ...gatewayv1.HTTPRouteFilter) ruleOption {
	return func(r *gatewayv1.HTTPRouteRule) {
		toWeighted(service, weight)(r)
		r.BackendRefs[len(r.BackendRefs)-1].Filters = filters
	}
}

// ptr32 is a port number for a parentRef or a backendRef.
func ptr32(port int) *gatewayv1.PortNumber { return ptr.To(gatewayv1.PortNumber(port)) }

// translate translates a snapshot as the controller does, without requiring every route to
// be accepted (harness.render does).
func (h *harness) translate(s *translate.Snapshot) *translate.Result {
	h.t.Helper()
	return translate.Translate(s, translate.Options{ControllerName: controllerName, AllowLoopbackBackends: true})
}

// pushModel renders a translation and pushes it.
func (h *harness) pushModel(tr *translate.Result) {
	h.t.Helper()
	cfg, err := render.Config(tr.Gateway, h.opts)
	if err != nil {
		h.t.Fatalf("render: %v", err)
	}
	data, version := h.finalize(cfg)
	if res := h.push(data, version); res.Err != nil {
		h.t.Fatalf("push: %v", res.Err)
	}
}

// routeCondition is "Status/Reason" of a condition of the named route's first parent.
func routeCondition(tr *translate.Result, name, condition string) string {
	for _, rs := range tr.Status.Routes {
		if rs.Route.GetName() != name || len(rs.Parents) == 0 {
			continue
		}
		if c := apimeta.FindStatusCondition(rs.Parents[0].Conditions, condition); c != nil {
			return string(c.Status) + "/" + c.Reason
		}
	}
	return ""
}
