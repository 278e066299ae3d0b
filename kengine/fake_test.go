package kengine

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeKengine imitates the admin API of one Kengine pod: POST /load stores the config and GET
// /id/<VersionID> reports the version handler, answering errors the way Kengine does.
type fakeKengine struct {
	mu        sync.Mutex
	version   string // body of the VersionID handler of the running config; "" if none
	loads     int
	gets      int
	bodies    [][]byte
	headers   []http.Header
	failLoad  int    // when non-zero, /load answers this status
	failBody  string // ... with this body
	failGet   int    // when non-zero, GET /id answers this status
	onRequest func(r *http.Request)
}

// restart forgets the running config, like a pod that restarted without --resume.
func (f *fakeKengine) restart() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version = ""
}

// counts returns how many loads and version reads the pod served.
func (f *fakeKengine) counts() (loads, gets int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loads, f.gets
}

func (f *fakeKengine) setFailLoad(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failLoad, f.failBody = status, body
}

func (f *fakeKengine) setFailGet(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failGet = status
}

func (f *fakeKengine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.onRequest != nil {
		f.onRequest(r)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/load":
		f.loads++
		body, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, body)
		f.headers = append(f.headers, r.Header.Clone())
		if f.failLoad != 0 {
			w.WriteHeader(f.failLoad)
			_, _ = io.WriteString(w, f.failBody)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" {
			writeKengineError(w, http.StatusBadRequest, "unacceptable content-type")
			return
		}
		var doc any
		if err := json.Unmarshal(body, &doc); err != nil {
			writeKengineError(w, http.StatusBadRequest, "decoding config: "+err.Error())
			return
		}
		f.version = findVersion(doc)
	case r.Method == http.MethodGet && r.URL.Path == "/id/"+VersionID:
		f.gets++
		if f.failGet != 0 {
			writeKengineError(w, f.failGet, "injected failure")
			return
		}
		if f.version == "" {
			writeKengineError(w, http.StatusNotFound, fmt.Sprintf("unknown object ID '%s'", VersionID))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"@id": VersionID, "body": f.version, "handler": "static_response"})
	default:
		writeKengineError(w, http.StatusNotFound, "not found")
	}
}

// writeKengineError answers like Kengine's admin API does.
func writeKengineError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// findVersion returns the body of the object whose "@id" is VersionID.
func findVersion(v any) string {
	switch v := v.(type) {
	case map[string]any:
		if v["@id"] == VersionID {
			body, _ := v["body"].(string)
			return body
		}
		for _, child := range v {
			if found := findVersion(child); found != "" {
				return found
			}
		}
	case []any:
		for _, child := range v {
			if found := findVersion(child); found != "" {
				return found
			}
		}
	}
	return ""
}

// startPods serves each handler on its own loopback address (127.0.0.1, 127.0.0.2, ...), all
// on the same port, because the client reaches every pod on one admin port. A non-nil
// tlsConfig serves HTTPS with it.
func startPods(t *testing.T, tlsConfig *tls.Config, handlers ...http.Handler) (port int, eps []Endpoint) {
	t.Helper()
	var listeners []net.Listener
	for attempt := 0; ; attempt++ {
		listeners = listenSamePort(len(handlers))
		if listeners != nil {
			break
		}
		if attempt == 20 {
			t.Fatal("no port free on all loopback addresses")
		}
	}
	port = listeners[0].Addr().(*net.TCPAddr).Port
	for i, h := range handlers {
		srv := httptest.NewUnstartedServer(h)
		srv.Listener.Close()
		srv.Listener = listeners[i]
		if tlsConfig != nil {
			srv.TLS = tlsConfig.Clone()
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		host, _, _ := net.SplitHostPort(listeners[i].Addr().String())
		eps = append(eps, Endpoint{
			Pod:       "pod-" + strconv.Itoa(i),
			Namespace: "default",
			UID:       "uid-" + strconv.Itoa(i),
			Address:   host,
		})
	}
	return port, eps
}

// listenSamePort listens on 127.0.0.1..127.0.0.n with one port, or returns nil when the port
// the first listener got is taken on another address.
func listenSamePort(n int) []net.Listener {
	first, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil
	}
	listeners := []net.Listener{first}
	port := first.Addr().(*net.TCPAddr).Port
	for i := 2; i <= n; i++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0."+strconv.Itoa(i), strconv.Itoa(port)))
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return nil
		}
		listeners = append(listeners, l)
	}
	return listeners
}

// blockingHandler never answers: it waits until the client gives up and closes the
// connection (or, as a backstop, ten seconds).
func blockingHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices a closed connection only once the body has been read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
}

// inflightCounter records the highest number of requests served at once.
type inflightCounter struct {
	now, max atomic.Int64
}

func (c *inflightCounter) enter() int64 {
	n := c.now.Add(1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			return n
		}
	}
}

func (c *inflightCounter) leave() { c.now.Add(-1) }
