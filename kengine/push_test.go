package kengine

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// versionedConfig returns a finalized config that differs per body.
func versionedConfig(t *testing.T, body string) ([]byte, string) {
	t.Helper()
	data, version, err := Finalize(configWithHandlers(StaticResponse{Body: body}))
	if err != nil {
		t.Fatal(err)
	}
	return data, version
}

// pushSummary is what a test compares of a Result.
type pushSummary struct {
	Pod     string
	Skipped bool
	Failed  bool
}

func summarize(results []Result) []pushSummary {
	out := make([]pushSummary, len(results))
	for i, r := range results {
		out[i] = pushSummary{Pod: r.Endpoint.Pod, Skipped: r.Skipped, Failed: r.Err != nil}
	}
	return out
}

func TestPushOneFailingPodDoesNotStopOthers(t *testing.T) {
	pods := []*fakeKengine{{}, {}, {}}
	pods[1].setFailLoad(http.StatusBadRequest, `{"error":"loading config: bad"}`)
	port, eps := startPods(t, nil, pods[0], pods[1], pods[2])
	c := newTestClient(t, ClientOptions{Port: port, Insecure: true})

	config, version := versionedConfig(t, "a")
	results := c.Push(context.Background(), eps, config, version)

	want := []pushSummary{{Pod: "pod-0"}, {Pod: "pod-1", Failed: true}, {Pod: "pod-2"}}
	if diff := cmp.Diff(want, summarize(results)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for i, r := range results {
		if r.Endpoint != eps[i] {
			t.Errorf("result %d is for %v, want %v", i, r.Endpoint, eps[i])
		}
	}
	var apiErr *APIError
	if !errors.As(results[1].Err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Message != "loading config: bad" {
		t.Errorf("pod-1 error = %v, want the APIError", results[1].Err)
	}
	for _, i := range []int{0, 2} {
		if loads, _ := pods[i].counts(); loads != 1 {
			t.Errorf("pod-%d served %d loads, want 1", i, loads)
		}
	}
}

func TestPushSkipsPodsThatRunTheVersion(t *testing.T) {
	pods := []*fakeKengine{{}, {}, {}}
	port, eps := startPods(t, nil, pods[0], pods[1], pods[2])
	c := newTestClient(t, ClientOptions{Port: port, Insecure: true})
	ctx := context.Background()
	v1Config, v1 := versionedConfig(t, "v1")
	v2Config, v2 := versionedConfig(t, "v2")
	v3Config, v3 := versionedConfig(t, "v3")

	type counts struct{ Loads, Gets int }
	checkCounts := func(step string, want ...counts) {
		t.Helper()
		got := make([]counts, len(pods))
		for i, p := range pods {
			got[i].Loads, got[i].Gets = p.counts()
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: requests per pod (-want +got):\n%s", step, diff)
		}
	}
	push := func(step string, config []byte, version string, want ...pushSummary) {
		t.Helper()
		if diff := cmp.Diff(want, summarize(c.Push(ctx, eps, config, version))); diff != "" {
			t.Errorf("%s: results (-want +got):\n%s", step, diff)
		}
	}

	// First push: nothing known, every pod gets the config without a version check.
	push("first", v1Config, v1, pushSummary{Pod: "pod-0"}, pushSummary{Pod: "pod-1"}, pushSummary{Pod: "pod-2"})
	checkCounts("first", counts{1, 0}, counts{1, 0}, counts{1, 0})

	// Same version again: one GET each, no POST.
	push("again", v1Config, v1, pushSummary{Pod: "pod-0", Skipped: true}, pushSummary{Pod: "pod-1", Skipped: true}, pushSummary{Pod: "pod-2", Skipped: true})
	checkCounts("again", counts{1, 1}, counts{1, 1}, counts{1, 1})

	// pod-1 restarted and lost its config: it reports no version and gets the config again.
	pods[1].restart()
	push("restart", v1Config, v1, pushSummary{Pod: "pod-0", Skipped: true}, pushSummary{Pod: "pod-1"}, pushSummary{Pod: "pod-2", Skipped: true})
	checkCounts("restart", counts{1, 2}, counts{2, 2}, counts{1, 2})

	// A new version goes out without asking.
	push("new version", v2Config, v2, pushSummary{Pod: "pod-0"}, pushSummary{Pod: "pod-1"}, pushSummary{Pod: "pod-2"})
	checkCounts("new version", counts{2, 2}, counts{3, 2}, counts{2, 2})

	// A failed version check means loading, not skipping.
	pods[0].setFailGet(http.StatusInternalServerError)
	push("check fails", v2Config, v2, pushSummary{Pod: "pod-0"}, pushSummary{Pod: "pod-1", Skipped: true}, pushSummary{Pod: "pod-2", Skipped: true})
	checkCounts("check fails", counts{3, 3}, counts{3, 3}, counts{2, 3})
	pods[0].setFailGet(0)

	// A failed load forgets the version: once the pod heals, it is loaded without a check.
	pods[2].setFailLoad(http.StatusInternalServerError, "")
	push("load fails", v3Config, v3, pushSummary{Pod: "pod-0"}, pushSummary{Pod: "pod-1"}, pushSummary{Pod: "pod-2", Failed: true})
	checkCounts("load fails", counts{4, 3}, counts{4, 3}, counts{3, 3})
	pods[2].setFailLoad(0, "")
	push("healed", v3Config, v3, pushSummary{Pod: "pod-0", Skipped: true}, pushSummary{Pod: "pod-1", Skipped: true}, pushSummary{Pod: "pod-2"})
	checkCounts("healed", counts{4, 4}, counts{4, 4}, counts{4, 3})

	// Without a version nothing can be skipped.
	push("no version", v3Config, "", pushSummary{Pod: "pod-0"}, pushSummary{Pod: "pod-1"}, pushSummary{Pod: "pod-2"})
	checkCounts("no version", counts{5, 4}, counts{5, 4}, counts{5, 3})
}

func TestPushNewPodIdentityIsNotSkipped(t *testing.T) {
	pod := &fakeKengine{}
	port, eps := startPods(t, nil, pod)
	c := newTestClient(t, ClientOptions{Port: port, Insecure: true})
	config, version := versionedConfig(t, "a")
	c.Push(context.Background(), eps, config, version)

	// Same address, new pod: the client knows nothing about it, so it loads without asking.
	replaced := eps[0]
	replaced.UID, replaced.Pod = "uid-new", "pod-new"
	results := c.Push(context.Background(), []Endpoint{replaced}, config, version)
	if results[0].Err != nil || results[0].Skipped {
		t.Errorf("result = %+v, want a load", results[0])
	}
	if loads, gets := pod.counts(); loads != 2 || gets != 0 {
		t.Errorf("pod served %d loads and %d gets, want 2 and 0", loads, gets)
	}
}

func TestPushTimeoutIsPerPod(t *testing.T) {
	blocked := blockingHandler()
	fast := []*fakeKengine{{}, {}}
	port, eps := startPods(t, nil, fast[0], blocked, fast[1])
	c := newTestClient(t, ClientOptions{Port: port, Insecure: true, Timeout: 50 * time.Millisecond})

	config, version := versionedConfig(t, "a")
	start := time.Now()
	results := c.Push(context.Background(), eps, config, version)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Push took %v with a 50ms per-pod timeout", elapsed)
	}
	want := []pushSummary{{Pod: "pod-0"}, {Pod: "pod-1", Failed: true}, {Pod: "pod-2"}}
	if diff := cmp.Diff(want, summarize(results)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if !errors.Is(results[1].Err, context.DeadlineExceeded) {
		t.Errorf("pod-1 error = %v, want a deadline error", results[1].Err)
	}
}

func TestPushHonoursConcurrency(t *testing.T) {
	const pods, limit = 9, 3
	var inflight inflightCounter
	var started atomic.Int64
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.enter()
		defer inflight.leave()
		started.Add(1)
		// Hold the slot until the limit is reached (or every pod has started), so that the
		// test sees the bound saturated rather than guessing with sleeps.
		deadline := time.Now().Add(5 * time.Second)
		for n < limit && started.Load() < pods && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
			n = inflight.now.Load()
		}
	})
	handlers := make([]http.Handler, pods)
	for i := range handlers {
		handlers[i] = handler
	}
	port, eps := startPods(t, nil, handlers...)
	c := newTestClient(t, ClientOptions{Port: port, Insecure: true, Concurrency: limit})

	config, version := versionedConfig(t, "a")
	for i, r := range c.Push(context.Background(), eps, config, version) {
		if r.Err != nil {
			t.Errorf("pod %d: %v", i, r.Err)
		}
	}
	if got := inflight.max.Load(); got != limit {
		t.Errorf("at most %d pods were programmed at once, want exactly the limit %d", got, limit)
	}
}

func TestPushCancelledContext(t *testing.T) {
	pod := &fakeKengine{}
	port, eps := startPods(t, nil, pod)
	c := newTestClient(t, ClientOptions{Port: port, Insecure: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	config, version := versionedConfig(t, "a")
	results := c.Push(ctx, eps, config, version)
	if !errors.Is(results[0].Err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", results[0].Err)
	}
}

func TestForget(t *testing.T) {
	pods := []*fakeKengine{{}, {}}
	port, eps := startPods(t, nil, pods[0], pods[1])
	c := newTestClient(t, ClientOptions{Port: port, Insecure: true})
	config, version := versionedConfig(t, "a")
	c.Push(context.Background(), eps, config, version)

	c.Forget(func(ep Endpoint) bool { return ep.Pod == "pod-0" })
	c.mu.Lock()
	remembered := len(c.pods)
	c.mu.Unlock()
	if remembered != 1 {
		t.Fatalf("client remembers %d endpoints, want 1", remembered)
	}
	// pod-0 is still known (checked, then skipped); pod-1 is loaded again without a check.
	want := []pushSummary{{Pod: "pod-0", Skipped: true}, {Pod: "pod-1"}}
	if diff := cmp.Diff(want, summarize(c.Push(context.Background(), eps, config, version))); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if loads, gets := pods[1].counts(); loads != 2 || gets != 0 {
		t.Errorf("pod-1 served %d loads and %d gets, want 2 and 0", loads, gets)
	}

	c.Forget(func(Endpoint) bool { return false })
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pods) != 0 || len(c.clients) != 0 {
		t.Errorf("after forgetting everything: %d endpoints and %d HTTP clients left", len(c.pods), len(c.clients))
	}
}

func TestForgetKeepsClientsPerServerName(t *testing.T) {
	c := newTestClient(t, ClientOptions{Port: 1, ServerName: "{pod}.admin"})
	a := Endpoint{Pod: "a", UID: "1", Address: "10.0.0.1"}
	b := Endpoint{Pod: "b", UID: "2", Address: "10.0.0.2"}
	c.httpClientFor(a)
	c.httpClientFor(b)
	if got := len(c.clients); got != 2 {
		t.Fatalf("%d HTTP clients, want one per server name (2)", got)
	}
	if got := c.clients["a.admin"].Transport.(*http.Transport).TLSClientConfig.ServerName; got != "a.admin" {
		t.Errorf("ServerName = %q, want a.admin", got)
	}
	c.Forget(func(ep Endpoint) bool { return ep.Pod == "b" })
	if _, ok := c.clients["b.admin"]; !ok || len(c.clients) != 1 {
		t.Errorf("clients after Forget: %v, want only b.admin", c.clients)
	}
}
