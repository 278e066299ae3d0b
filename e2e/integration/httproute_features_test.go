package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// h2cClient speaks HTTP/2 with prior knowledge to the Gateway, as the conformance test
// HTTPRouteBackendProtocolH2C does.
func h2cClient() *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: requestTimeout, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, Protocols: &protocols}}
}

func TestBackendProtocolH2CSpeaksHTTP2ToTheBackend(t *testing.T) {
	h := newHarness(t)
	h2c := startH2CBackend(t, "h2c")
	h1 := startBackend(t, "h1")
	port := freePort(t)
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("h2c", withRules(
			rule(matching(match(prefix("/h2c"))), to("h2c")),
			// One rule, two protocols: each backend is spoken to in its own.
			rule(matching(match(prefix("/mixed"))), to("h2c"), to("h1")),
		)),
		withAppProtocol(service("h2c", h2c), "kubernetes.io/h2c"),
		service("h1", h1),
	))

	for name, client := range map[string]*http.Client{"HTTP/1.1 client": h.http, "HTTP/2 prior knowledge client": h2cClient()} {
		t.Run(name, func(t *testing.T) {
			rep, err := h.do(client, "http", port, request{host: "h2c.test", path: "/h2c"})
			if err != nil {
				t.Fatal(err)
			}
			expectReply(t, rep, http.StatusOK, "h2c")
			if rep.echo != nil && rep.echo.Proto != "HTTP/2.0" {
				t.Errorf("backend saw %s, want HTTP/2.0", rep.echo.Proto)
			}
		})
	}
	t.Run("a rule with an h2c and an HTTP/1.1 backend", func(t *testing.T) {
		seen := map[string]string{}
		for range 60 {
			rep := h.send(port, request{host: "h2c.test", path: "/mixed"})
			if rep.status != http.StatusOK || rep.echo == nil {
				t.Fatalf("got %v", rep)
			}
			seen[rep.echo.Backend] = rep.echo.Proto
		}
		if seen["h2c"] != "HTTP/2.0" || seen["h1"] != "HTTP/1.1" {
			t.Errorf("backends saw %v, want h2c over HTTP/2.0 and h1 over HTTP/1.1 (both reached)", seen)
		}
	})
}

func TestBackendProtocolWebSocketEchoesThroughTheProxy(t *testing.T) {
	h := newHarness(t)
	ws := startWebSocketBackend(t, "ws")
	port := freePort(t)
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		// A backend timeout bounds the wait for the upgrade's response headers, not the life
		// of the connection it opens.
		route("ws", withRules(rule(timeouts("", "300ms"), to("ws")))),
		withAppProtocol(service("ws", ws), "kubernetes.io/ws"),
	))

	conn, err := websocket.Dial(fmt.Sprintf("ws://127.0.0.1:%d/ws", port), "", "http://ws.test/")
	if err != nil {
		t.Fatalf("dial through the Gateway: %v", err)
	}
	defer func() { _ = conn.Close() }()
	if err := conn.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		t.Fatal(err)
	}
	exchange := func(msg any, reply any) {
		t.Helper()
		if err := websocket.Message.Send(conn, msg); err != nil {
			t.Fatalf("send: %v", err)
		}
		if err := websocket.Message.Receive(conn, reply); err != nil {
			t.Fatalf("receive: %v", err)
		}
	}
	var text string
	exchange("Websocket Support!", &text)
	if text != "Websocket Support!" {
		t.Errorf("text echo = %q", text)
	}
	// Outlive the backend timeout, then use the connection again.
	time.Sleep(500 * time.Millisecond)
	var binary []byte
	exchange([]byte{1, 2, 3, 4, 5, 6, 7}, &binary)
	if !bytes.Equal(binary, []byte{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("binary echo = %v", binary)
	}
}

// timedSend sends a request and returns the reply and how long it took.
func timedSend(h *harness, port int, r request) (reply, time.Duration) {
	h.t.Helper()
	start := time.Now()
	rep := h.send(port, r)
	return rep, time.Since(start)
}

func TestTimeoutsAnswer504WhenTheBackendIsSlowerThanTheTimeout(t *testing.T) {
	h := newHarness(t)
	slow, _ := startBehaviourBackend(t, "slow")
	port := freePort(t)
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("timeouts", withRules(
			rule(matching(match(prefix("/request-timeout"))), timeouts("500ms", ""), to("slow")),
			rule(matching(match(prefix("/disable-request-timeout"))), timeouts("0s", ""), to("slow")),
			rule(matching(match(prefix("/backend-timeout"))), timeouts("", "500ms"), to("slow")),
			rule(matching(match(prefix("/disable-backend-timeout"))), timeouts("", "0s"), to("slow")),
			rule(matching(match(prefix("/both"))), timeouts("10s", "300ms"), to("slow")),
		)),
		service("slow", slow),
	))

	for _, tc := range []struct {
		path     string
		status   int
		min, max time.Duration
	}{
		{"/request-timeout", http.StatusOK, 0, 500 * time.Millisecond},
		{"/request-timeout?delay=1s", http.StatusGatewayTimeout, 500 * time.Millisecond, 950 * time.Millisecond},
		{"/disable-request-timeout?delay=1s", http.StatusOK, time.Second, 5 * time.Second},
		{"/backend-timeout", http.StatusOK, 0, 500 * time.Millisecond},
		{"/backend-timeout?delay=1s", http.StatusGatewayTimeout, 500 * time.Millisecond, 950 * time.Millisecond},
		{"/disable-backend-timeout?delay=1s", http.StatusOK, time.Second, 5 * time.Second},
		{"/both?delay=1s", http.StatusGatewayTimeout, 300 * time.Millisecond, 950 * time.Millisecond},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rep, took := timedSend(h, port, request{host: "timeouts.test", path: tc.path})
			if rep.status != tc.status {
				t.Errorf("got %v, want status %d", rep, tc.status)
			}
			if took < tc.min || took > tc.max {
				t.Errorf("answered after %v, want between %v and %v", took, tc.min, tc.max)
			}
		})
	}
}

func TestRetriesSendFailedAttemptsAgain(t *testing.T) {
	h := newHarness(t)
	flaky, bh := startBehaviourBackend(t, "flaky")
	port := freePort(t)
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("retries", withRules(
			rule(matching(match(prefix("/code-500-attempts-3"))), retrying(3, "", 500), to("flaky")),
			rule(matching(match(prefix("/code-all-attempts-2"))), retrying(2, "", 500, 502, 503, 504), to("flaky")),
			rule(matching(match(prefix("/connection-errors"))), retrying(2, ""), to("flaky")),
			rule(matching(match(prefix("/backend-timeout"))), retrying(2, ""), timeouts("", "300ms"), to("flaky")),
			rule(matching(match(prefix("/backoff"))), retrying(2, "300ms", 503), to("flaky")),
			rule(matching(match(prefix("/no-retry"))), to("flaky")),
		)),
		service("flaky", flaky),
	))

	for i, tc := range []struct {
		name         string
		method, path string // path gets the id parameter appended
		body         string
		status       int
		attempts     int
		minTime      time.Duration
	}{
		{"succeeds after 2 retries on 500", "GET", "/code-500-attempts-3?fail=2&with=500", "", 200, 3, 0},
		{"fails with the backend's 500 when the retries run out", "GET", "/code-500-attempts-3?fail=4&with=500", "", 500, 4, 0},
		{"does not retry a status it was not told to", "GET", "/code-500-attempts-3?fail=2&with=503", "", 503, 1, 0},
		{"retries 502 when listed", "GET", "/code-all-attempts-2?fail=1&with=502", "", 200, 2, 0},
		{"fails with 504 when 504 keeps coming", "GET", "/code-all-attempts-2?fail=3&with=504", "", 504, 3, 0},
		{"retries a POST and sends its body again", "POST", "/code-all-attempts-2?fail=2&with=503", "the body", 200, 3, 0},
		// POST: Go's transport, inside Kengine, already sends an idempotent request again by
		// itself when a reused connection breaks, which would blur the count.
		{"retries a connection reset", "POST", "/connection-errors?fail=2&with=reset", "x", 200, 3, 0},
		{"answers 502 when resets outlast the retries", "POST", "/connection-errors?fail=3&with=reset", "", 502, 3, 0},
		{"retries a backend timeout", "GET", "/backend-timeout?fail=2&with=slow", "", 200, 3, 0},
		{"answers 504 when every attempt times out", "GET", "/backend-timeout?fail=3&with=slow", "", 504, 3, 0},
		{"waits the backoff between attempts", "GET", "/backoff?fail=2&with=503", "", 200, 3, 600 * time.Millisecond},
		{"no retry stanza, no retry", "POST", "/no-retry?fail=1&with=reset", "", 502, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("case-%d", i)
			ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tc.method, fmt.Sprintf("http://127.0.0.1:%d%s&id=%s", port, tc.path, id), strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "retry.test"
			start := time.Now()
			resp, err := h.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			rep := readReply(t, resp)
			if rep.status != tc.status {
				t.Errorf("got %v, want status %d", rep, tc.status)
			}
			if got := bh.attemptsFor(id); got != tc.attempts {
				t.Errorf("backend got %d attempts, want %d", got, tc.attempts)
			}
			if tc.body != "" && (rep.echo == nil || rep.echo.Body != tc.body) {
				t.Errorf("backend's last attempt got body %q, want %q", rep.echo.Body, tc.body)
			}
			if took < tc.minTime {
				t.Errorf("answered after %v, want at least %v of backoff", took, tc.minTime)
			}
		})
	}
}

// readReply reads a response the way harness.do does.
func readReply(t *testing.T, resp *http.Response) reply {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	rep := reply{status: resp.StatusCode, header: resp.Header, body: buf.String()}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var e echo
		if err := json.Unmarshal(buf.Bytes(), &e); err == nil && e.Backend != "" {
			rep.echo = &e
		}
	}
	return rep
}

func TestBackendFiltersApplyOnlyToTheirBackendsShare(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "infra-backend-v1", "infra-backend-v2")
	port := freePort(t)
	setBackend := func(name string) gatewayv1.HTTPRouteFilter {
		return requestHeaderModifier(gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "Backend", Value: name}}})
	}
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("weights", withRules(rule(
			toFilteredWeighted("infra-backend-v1", 1, setBackend("infra-backend-v1"),
				responseHeaderModifier(gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-Share", Value: "v1"}}})),
			toFilteredWeighted("infra-backend-v2", 3, setBackend("infra-backend-v2")),
		))),
		service("infra-backend-v1", be["infra-backend-v1"]), service("infra-backend-v2", be["infra-backend-v2"]),
	))

	counts := map[string]int{}
	const n = splitRequests
	for range n {
		rep := h.send(port, request{host: "weights.test", path: "/"})
		if rep.status != http.StatusOK || rep.echo == nil {
			t.Fatalf("got %v", rep)
		}
		if got := rep.echo.Headers.Values("Backend"); !slices.Equal(got, []string{rep.echo.Backend}) {
			t.Fatalf("backend %s saw Backend: %q", rep.echo.Backend, got)
		}
		if want := map[string]string{"infra-backend-v1": "v1"}[rep.echo.Backend]; rep.header.Get("X-Share") != want {
			t.Fatalf("response from %s has X-Share %q, want %q", rep.echo.Backend, rep.header.Get("X-Share"), want)
		}
		counts[rep.echo.Backend]++
	}
	// The share is drawn at random per request: allow 10 points (over 4 standard deviations).
	if got := counts["infra-backend-v1"]; got < n/4-n/10 || got > n/4+n/10 {
		t.Errorf("infra-backend-v1 got %d of %d requests, want about a quarter (%v)", got, n, counts)
	}
}

func TestNamedRulesAreServedLikeOthers(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "v1", "v2")
	port := freePort(t)
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("named", withRules(
			rule(named("named-rule"), matching(match(prefix("/named"))), to("v1")),
			rule(matching(match(prefix("/unnamed"))), to("v2")),
		)),
		service("v1", be["v1"]), service("v2", be["v2"]),
	))
	expectReply(t, h.send(port, request{host: "named.test", path: "/named"}), http.StatusOK, "v1")
	expectReply(t, h.send(port, request{host: "named.test", path: "/unnamed"}), http.StatusOK, "v2")
}

func TestParentRefPortSelectsListenersAndAPortWithoutListenerAttachesNowhere(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "on-alt", "nowhere")
	port, alt, unused := freePort(t), freePort(t), freePort(t)
	byPort := func(name string, p int, backend string) *gatewayv1.HTTPRoute {
		r := route(name, withHostnames(name+".test"), withRules(rule(to(backend))))
		r.Spec.ParentRefs[0].Port = ptr32(p)
		return r
	}
	s := snapshot(gateway(httpListener("http", port, ""), httpListener("alt", alt, "")),
		byPort("on-alt", alt, "on-alt"), byPort("nowhere", unused, "nowhere"),
		service("on-alt", be["on-alt"]), service("nowhere", be["nowhere"]),
	)
	tr := h.translate(s)
	if got := routeCondition(tr, "nowhere", string(gatewayv1.RouteConditionAccepted)); got != "False/NoMatchingParent" {
		t.Errorf("route with a port no listener has: Accepted %s, want False/NoMatchingParent", got)
	}
	h.pushModel(tr)

	expectReply(t, h.send(alt, request{host: "on-alt.test", path: "/"}), http.StatusOK, "on-alt")
	expectReply(t, h.send(port, request{host: "on-alt.test", path: "/"}), http.StatusNotFound, "")
	for _, p := range []int{port, alt} {
		expectReply(t, h.send(p, request{host: "nowhere.test", path: "/"}), http.StatusNotFound, "")
	}
}

func TestCORSAnswersPreflightsAndDecoratesAllowedOrigins(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "echo")
	port := freePort(t)
	cors := func(f gatewayv1.HTTPCORSFilter) gatewayv1.HTTPRouteFilter {
		return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterCORS, CORS: &f}
	}
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("cors", withRules(
			rule(matching(match(prefix("/cors-1"))), filtered(cors(gatewayv1.HTTPCORSFilter{
				AllowOrigins:     []gatewayv1.CORSOrigin{"https://www.foo.com", "https://*.bar.com"},
				AllowMethods:     []gatewayv1.HTTPMethodWithWildcard{"GET", "OPTIONS"},
				AllowHeaders:     []gatewayv1.HTTPHeaderName{"x-header-1", "x-header-2"},
				ExposeHeaders:    []gatewayv1.HTTPHeaderName{"x-header-3", "x-header-4"},
				AllowCredentials: ptr.To(true), MaxAge: 3600,
			})), to("echo")),
			rule(matching(match(prefix("/wildcard"))), filtered(cors(gatewayv1.HTTPCORSFilter{
				AllowOrigins: []gatewayv1.CORSOrigin{"*"}, AllowMethods: []gatewayv1.HTTPMethodWithWildcard{"*"},
				AllowHeaders: []gatewayv1.HTTPHeaderName{"*"}, AllowCredentials: ptr.To(true),
			})), to("echo")),
		)),
		service("echo", be["echo"]),
	))

	preflight := func(path, origin, method, headers string) http.Header {
		hdr := http.Header{"Origin": {origin}, "Access-Control-Request-Method": {method}}
		if headers != "" {
			hdr.Set("Access-Control-Request-Headers", headers)
		}
		return hdr
	}
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		header  http.Header
		status  int
		backend string
		want    map[string]string // "" means absent
	}{
		{"preflight from an exact origin", "OPTIONS", "/cors-1", preflight("/cors-1", "https://www.foo.com", "GET", "x-header-1, x-header-2"), 204, "",
			map[string]string{"Access-Control-Allow-Origin": "https://www.foo.com", "Access-Control-Allow-Methods": "GET, OPTIONS",
				"Access-Control-Allow-Headers": "x-header-1, x-header-2", "Access-Control-Max-Age": "3600", "Access-Control-Allow-Credentials": "true"}},
		{"preflight from a wildcard origin, several labels deep", "OPTIONS", "/cors-1", preflight("/cors-1", "https://xpto.www.bar.com", "GET", ""), 204, "",
			map[string]string{"Access-Control-Allow-Origin": "https://xpto.www.bar.com"}},
		{"preflight from another origin", "OPTIONS", "/cors-1", preflight("/cors-1", "https://foobar.com", "GET", ""), 204, "",
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}},
		{"preflight from a look-alike origin", "OPTIONS", "/cors-1", preflight("/cors-1", "https://www.bar.com.evil.example", "GET", ""), 204, "",
			map[string]string{"Access-Control-Allow-Origin": ""}},
		{"request from an allowed origin", "GET", "/cors-1", http.Header{"Origin": {"https://www.foo.com"}}, 200, "echo",
			map[string]string{"Access-Control-Allow-Origin": "https://www.foo.com", "Access-Control-Expose-Headers": "x-header-3, x-header-4",
				"Access-Control-Allow-Credentials": "true", "Vary": "Origin"}},
		{"request from another origin", "GET", "/cors-1", http.Header{"Origin": {"https://foobar.com"}}, 200, "echo",
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": ""}},
		{"OPTIONS that is not a preflight reaches the backend", "OPTIONS", "/cors-1", http.Header{"Origin": {"https://www.foo.com"}}, 200, "echo",
			map[string]string{"Access-Control-Allow-Origin": "https://www.foo.com"}},
		{"wildcards with credentials echo the request", "OPTIONS", "/wildcard", preflight("/wildcard", "https://other.foo.com", "PUT", "x-header-1, x-header-2"), 204, "",
			map[string]string{"Access-Control-Allow-Origin": "https://other.foo.com", "Access-Control-Allow-Methods": "PUT",
				"Access-Control-Allow-Headers": "x-header-1, x-header-2", "Access-Control-Allow-Credentials": "true"}},
		{"wildcard headers are left out when none were asked for", "OPTIONS", "/wildcard", preflight("/wildcard", "https://other.foo.com", "PUT", ""), 204, "",
			map[string]string{"Access-Control-Allow-Headers": ""}},
		{"a placeholder in the Origin stays a literal", "OPTIONS", "/wildcard", preflight("/wildcard", "{env."+processSecretEnv+"}", "PUT", ""), 204, "",
			map[string]string{"Access-Control-Allow-Origin": "{env." + processSecretEnv + "}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := h.send(port, request{method: tc.method, host: "cors.test", path: tc.path, header: tc.header})
			expectReply(t, rep, tc.status, tc.backend)
			for name, want := range tc.want {
				got, present := rep.header.Get(name), len(rep.header.Values(name)) > 0
				if want == "" && present {
					t.Errorf("%s: %q, want none", name, got)
				}
				if want != "" && got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestFiltersThatCannotBeAppliedAnswer500InsteadOfFallingThrough(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "echo", "catch-all")
	port := freePort(t)
	extension := gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterExtensionRef,
		ExtensionRef: &gatewayv1.LocalObjectReference{Group: "example.com", Kind: "Waf", Name: "strict"}}
	mirror := gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestMirror, RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{
		BackendRef: gatewayv1.BackendObjectReference{Name: "echo", Port: ptr32(servicePort)}}}
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("unservable", withRules(
			rule(matching(match(prefix("/extension"))), filtered(extension), to("echo")),
			rule(matching(match(prefix("/mirror"))), filtered(mirror), to("echo")),
			rule(to("catch-all")),
		)),
		service("echo", be["echo"]), service("catch-all", be["catch-all"]),
	))
	expectReply(t, h.send(port, request{host: "unservable.test", path: "/extension/x"}), http.StatusInternalServerError, "")
	expectReply(t, h.send(port, request{host: "unservable.test", path: "/mirror"}), http.StatusInternalServerError, "")
	expectReply(t, h.send(port, request{host: "unservable.test", path: "/other"}), http.StatusOK, "catch-all")
}
