package render

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

func TestHexBelowMatchesExactlyTheUUIDsBelowTheThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	thresholds := []uint64{1, 2, 15, 16, 17, 0x10000000, 0x55555555, 0x80000000, 0xabcdef01, splitSpace - 1}
	for range 40 {
		thresholds = append(thresholds, 1+rng.Uint64N(splitSpace-1))
	}
	for _, n := range thresholds {
		re := regexp.MustCompile(hexBelow(n))
		values := []uint64{0, n - 1, n, splitSpace - 1}
		if n+1 < splitSpace {
			values = append(values, n+1)
		}
		for range 200 {
			values = append(values, rng.Uint64N(splitSpace))
		}
		for _, x := range values {
			uuid := fmt.Sprintf("%08x-1234-4abc-9def-0123456789ab", x)
			if got, want := re.MatchString(uuid), x < n; got != want {
				t.Fatalf("hexBelow(%#x) = %q on %s: match %v, want %v", n, re, uuid, got, want)
			}
		}
	}
}

func TestApplyForwardingSetsTimeoutsAndRetries(t *testing.T) {
	h2c := &kengine.HTTPTransport{Versions: []string{"h2c"}}
	p, err := applyForwarding(kengine.ReverseProxy{Transport: h2c},
		&ir.Timeouts{BackendResponse: ir.Duration(500 * time.Millisecond)},
		&ir.Retry{Attempts: 3, Statuses: []int{500, 503}, Backoff: ir.Duration(100 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	want := kengine.ReverseProxy{
		Transport: &kengine.HTTPTransport{Versions: []string{"h2c"}, ResponseHeaderTimeout: kengine.Duration(500 * time.Millisecond)},
		LoadBalancing: &kengine.LoadBalancing{Retries: 3, TryInterval: kengine.Duration(100 * time.Millisecond), RetryMatch: []kengine.MatcherSet{
			{Expression: "{http.reverse_proxy.is_transport_error} == true"},
			{Expression: "{http.reverse_proxy.status_code} in [500, 503]"},
		}},
		RequestBuffers: retryBodyBuffer,
	}
	if d := cmp.Diff(want, p); d != "" {
		t.Errorf("proxy (-want +got):\n%s", d)
	}
	if h2c.ResponseHeaderTimeout != 0 {
		t.Error("applyForwarding changed the transport it was given")
	}

	// Nothing to apply: the proxy is unchanged (Kengine's default transport, no retries).
	plain, err := applyForwarding(kengine.ReverseProxy{}, nil, nil)
	if err != nil || plain.Transport != nil || plain.LoadBalancing != nil || plain.RequestBuffers != 0 {
		t.Errorf("no timeouts and no retry gave %+v, %v", plain, err)
	}

	for name, tc := range map[string]struct {
		timeouts *ir.Timeouts
		retry    *ir.Retry
	}{
		"negative timeout":  {timeouts: &ir.Timeouts{BackendResponse: -1}},
		"no attempts":       {retry: &ir.Retry{}},
		"negative backoff":  {retry: &ir.Retry{Attempts: 1, Backoff: -1}},
		"not a status code": {retry: &ir.Retry{Attempts: 1, Statuses: []int{5000}}},
	} {
		if _, err := applyForwarding(kengine.ReverseProxy{}, tc.timeouts, tc.retry); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// marshal renders a handler as Kengine reads it.
func marshal(t *testing.T, h kengine.Handler) string {
	t.Helper()
	data, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestForwardHandlerSplitsBackendsThatCannotShareAProxy(t *testing.T) {
	r := &renderer{opts: Options{HealthPort: 19080}}
	h1 := ir.Backend{Name: "apps/web:80", Weight: 1, Endpoints: []string{"10.0.0.1:8080"}}
	h2c := ir.Backend{Name: "apps/grpc:81", Weight: 3, Endpoints: []string{"10.0.0.2:3001"}, Protocol: ir.H2C}
	filtered := h1
	filtered.Filters = []ir.HTTPFilter{{RequestHeaders: &ir.HeaderEdits{Set: []ir.Header{{Name: "Backend", Value: "web"}}}}}
	failing := ir.Backend{Name: "apps/gone:80", Weight: 1, Failure: 503}
	retry := &ir.Retry{Attempts: 2}

	tests := []struct {
		name     string
		backends []ir.Backend
		split    bool
		want     []string // substrings of the rendered handler, in order
	}{
		{"same transport shares one proxy", []ir.Backend{h1, {Name: "apps/b:80", Weight: 1, Endpoints: []string{"10.0.0.3:80"}}}, false,
			[]string{`"handler":"reverse_proxy"`, `"weighted_round_robin"`, `"retries":2`}},
		{"h1 and h2c get one proxy each", []ir.Backend{h1, h2c}, true,
			[]string{`"handler":"subroute"`, `"pattern":"^(?:[0-3])"`, `"retries":2`, `"dial":"10.0.0.1:8080"`, `"versions":["h2c"]`, `"retries":2`, `"dial":"10.0.0.2:3001"`}},
		{"a backend's own filters run in its branch only", []ir.Backend{filtered, h2c}, true,
			[]string{`"{http.request.uuid}"`, `"handler":"headers"`, `"Backend":["web"]`, `"dial":"10.0.0.1:8080"`, `"versions":["h2c"]`}},
		{"a failing share answers its status", []ir.Backend{filtered, failing}, true,
			[]string{`"pattern":"^(?:[0-7])"`, `"Backend":["web"]`, `"status_code":503`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := needsSplit(tt.backends); got != tt.split {
				t.Errorf("needsSplit = %v, want %v", got, tt.split)
			}
			h, err := r.forwardHandler(&ir.HTTPRoute{Backends: tt.backends, Retry: retry}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := marshal(t, h)
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("handler lacks %s (in order) in:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(got, "127.0.0.1") {
				t.Errorf("a split never sends a share through the loopback failure servers:\n%s", got)
			}
		})
	}
}

func TestSplitHandlerLastBranchTakesTheRestAndKeepsTheModel(t *testing.T) {
	r := &renderer{opts: Options{HealthPort: 19080}}
	a := ir.Backend{Name: "a", Weight: 1, Endpoints: []string{"10.0.0.1:80"}, Filters: []ir.HTTPFilter{{Rewrite: &ir.Rewrite{Hostname: "a.internal"}}}}
	b := ir.Backend{Name: "b", Weight: 1, Endpoints: []string{"10.0.0.2:80"}}
	rt := &ir.HTTPRoute{Backends: []ir.Backend{a, b}}
	h, err := r.splitHandler(rt, &kengine.ReverseProxyHeaders{Request: &kengine.HeaderOps{Set: map[string][]string{"Host": {"route.internal"}}}})
	if err != nil {
		t.Fatal(err)
	}
	sub := h.(kengine.Subroute)
	if len(sub.Routes) != 2 || len(sub.Routes[0].Match) != 1 || sub.Routes[1].Match != nil {
		t.Fatalf("routes = %+v, want a matched branch then an unmatched one", sub.Routes)
	}
	got := marshal(t, h)
	// The backend's own Host rewrite wins over the route's; the other keeps the route's.
	if !strings.Contains(got, `"Host":["a.internal"]`) || !strings.Contains(got, `"Host":["route.internal"]`) {
		t.Errorf("host rewrites not per branch:\n%s", got)
	}
	if len(rt.Backends[0].Filters) != 1 {
		t.Error("splitHandler changed the model's backends")
	}
}

// A backend's own filters go through the same escapers as a route's: a placeholder a route
// author writes stays literal.
func TestSplitHandlerEscapesBackendFilterValues(t *testing.T) {
	r := &renderer{opts: Options{HealthPort: 19080}}
	a := ir.Backend{Name: "a", Weight: 1, Endpoints: []string{"10.0.0.1:80"}, Filters: []ir.HTTPFilter{
		{RequestHeaders: &ir.HeaderEdits{Set: []ir.Header{{Name: "X-Env", Value: "{env.HOME}"}}}},
	}}
	b := ir.Backend{Name: "b", Weight: 1, Endpoints: []string{"10.0.0.2:80"}}
	h, err := r.splitHandler(&ir.HTTPRoute{Backends: []ir.Backend{a, b}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := marshal(t, h); !strings.Contains(got, `"X-Env":["\\{env.HOME\\}"]`) {
		t.Errorf("backend header value not escaped:\n%s", got)
	}
	a.Filters[0].RequestHeaders.Set[0].Value = "line\nbreak"
	if _, err := r.splitHandler(&ir.HTTPRoute{Backends: []ir.Backend{a, b}}, nil); err == nil {
		t.Error("a header value HTTP cannot carry was rendered")
	}
}
