package integration

import (
	"fmt"
	"net/http"
	"testing"
)

// splitRequests is how many requests measure a traffic split. Kengine's weighted round robin
// is exact over a whole cycle; the tolerance of 5 percentage points keeps the tests meaningful
// without depending on that.
const splitRequests = 400

// countReplies sends n identical requests and counts the replies by backend name, or by
// "status <code>" when Kengine answered itself.
func countReplies(h *harness, port int, r request, n int) map[string]int {
	h.t.Helper()
	counts := map[string]int{}
	for range n {
		rep := h.send(port, r)
		switch {
		case rep.echo != nil && rep.status == http.StatusOK:
			counts[rep.backend()]++
		case rep.echo == nil:
			counts[fmt.Sprintf("status %d", rep.status)]++
		default:
			h.t.Fatalf("unexpected reply %v", rep)
		}
	}
	return counts
}

// expectShares checks that n requests were spread in the proportions of shares (relative
// weights by backend name or "status <code>"), within 5 percentage points, and that a zero
// share and anything not listed got nothing at all.
func expectShares(t *testing.T, counts map[string]int, n int, shares map[string]int) {
	t.Helper()
	total := 0
	for _, s := range shares {
		total += s
	}
	tolerance := n / 20
	for key, share := range shares {
		want, got := n*share/total, counts[key]
		if got < want-tolerance || got > want+tolerance || (share == 0 && got != 0) {
			t.Errorf("%s got %d of %d requests, want %d ± %d (all counts: %v)", key, got, n, want, tolerance, counts)
		}
	}
	for key, got := range counts {
		if _, ok := shares[key]; !ok {
			t.Errorf("%s got %d of %d requests, want none (all counts: %v)", key, got, n, counts)
		}
	}
}

func TestWeightedBackendsSplitTrafficByWeightAndWeightZeroGetsNothing(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "three-a", "three-b", "one", "zero")
	port := freePort(t)
	// "three" has two endpoints that share its weight; "zero" is healthy but weighted out.
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("split", withRules(rule(toWeighted("three", 3), toWeighted("one", 1), toWeighted("zero", 0)))),
		service("three", be["three-a"], be["three-b"]), service("one", be["one"]), service("zero", be["zero"]),
	))

	counts := countReplies(h, port, request{host: "split.test", path: "/"}, splitRequests)
	// 3:1 between the Services, and "three" spreads its share evenly over its endpoints.
	expectShares(t, counts, splitRequests, map[string]int{"three-a": 3, "three-b": 3, "one": 2, "zero": 0})
}

func TestUnservableBackendsAnswerTheirFailureStatusForTheirShare(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "ok")
	port := freePort(t)
	// "missing" names no Service (500); "empty" is a Service without endpoints (503).
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("failures", withRules(
			rule(matching(match(prefix("/missing"))), to("missing")),
			rule(matching(match(prefix("/half-missing"))), toWeighted("ok", 1), toWeighted("missing", 1)),
			rule(matching(match(prefix("/empty"))), to("empty")),
			rule(matching(match(prefix("/quarter-empty"))), toWeighted("ok", 3), toWeighted("empty", 1)),
			rule(matching(match(prefix("/all-zero"))), toWeighted("ok", 0)),
		)),
		service("ok", be["ok"]), service("empty"),
	))

	for _, tc := range []struct {
		path   string
		n      int
		shares map[string]int
	}{
		{"/missing", 20, map[string]int{"status 500": 1}},
		{"/half-missing", splitRequests, map[string]int{"ok": 1, "status 500": 1}},
		{"/empty", 20, map[string]int{"status 503": 1}},
		{"/quarter-empty", splitRequests, map[string]int{"ok": 3, "status 503": 1}},
		{"/all-zero", 20, map[string]int{"status 500": 1}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			counts := countReplies(h, port, request{host: "failures.test", path: tc.path}, tc.n)
			expectShares(t, counts, tc.n, tc.shares)
		})
	}
}

func TestUnmatchedRequestsAnswer404(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "known")
	port := freePort(t)
	h.apply(snapshot(gateway(httpListener("http", port, "known.example.com")),
		route("known", withRules(rule(matching(match(prefix("/known"))), to("known")))),
		service("known", be["known"]),
	))

	for _, tc := range []struct {
		name, host, path string
		status           int
		want             string
	}{
		{"matched", "known.example.com", "/known", 200, "known"},
		{"unmatched path", "known.example.com", "/unknown", 404, ""},
		{"host of no listener", "unknown.example.com", "/known", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectReply(t, h.send(port, request{host: tc.host, path: tc.path}), tc.status, tc.want)
		})
	}
}
