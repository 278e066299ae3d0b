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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeKengine imitates the admin API of one Kengine pod: POST /load stores the config and
// indexes its "@id"s, and GET /id/<id> answers with the object that carries the ID, answering
// errors the way Kengine does.
type fakeKengine struct {
	mu        sync.Mutex
	ids       map[string]any // "@id" to object, of the running config; nil if none
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
	f.ids = nil
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
		ids := map[string]any{}
		if err := indexIDs(doc, ids); err != nil {
			writeKengineError(w, http.StatusBadRequest, "indexing config: "+err.Error())
			return
		}
		f.ids = ids
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/id/"):
		f.gets++
		if f.failGet != 0 {
			writeKengineError(w, f.failGet, "injected failure")
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/id/")
		obj, ok := f.ids[id]
		if !ok {
			writeKengineError(w, http.StatusNotFound, fmt.Sprintf("unknown object ID '%s'", id))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(obj)
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

// indexIDs maps every "@id" in a decoded config to the object that carries it, and fails on a
// duplicate or a non-string ID, as Kengine's indexConfigObjects does.
func indexIDs(v any, ids map[string]any) error {
	switch v := v.(type) {
	case map[string]any:
		if raw, ok := v["@id"]; ok {
			id, ok := raw.(string)
			if !ok {
				return fmt.Errorf("@id field must be a string, got %T", raw)
			}
			if _, dup := ids[id]; dup {
				return fmt.Errorf("duplicate ID '%s'", id)
			}
			ids[id] = v
		}
		for key, child := range v {
			if key == "@id" {
				continue
			}
			if err := indexIDs(child, ids); err != nil {
				return err
			}
		}
	case []any:
		for _, child := range v {
			if err := indexIDs(child, ids); err != nil {
				return err
			}
		}
	}
	return nil
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
