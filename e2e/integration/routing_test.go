package integration

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestHostnameRoutingPicksExactThenLongestWildcardThenCatchAll(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "exact", "wildcard", "deep-wildcard", "catch-all")
	port := freePort(t)
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("exact", withHostnames("exact.example.com"), withRules(rule(to("exact")))),
		route("wildcard", withHostnames("*.example.com"), withRules(rule(to("wildcard")))),
		route("deep-wildcard", withHostnames("*.deep.example.com"), withRules(rule(to("deep-wildcard")))),
		route("catch-all", withRules(rule(to("catch-all")))),
		service("exact", be["exact"]), service("wildcard", be["wildcard"]),
		service("deep-wildcard", be["deep-wildcard"]), service("catch-all", be["catch-all"]),
	))

	for _, tc := range []struct {
		host, want string
	}{
		{"exact.example.com", "exact"},
		{"EXACT.Example.COM", "exact"},
		{"exact.example.com:" + strconv.Itoa(port), "exact"},
		{"a.example.com", "wildcard"},
		{"A.Example.com:" + strconv.Itoa(port), "wildcard"},
		{"a.b.example.com", "wildcard"},
		{"x.deep.example.com", "deep-wildcard"},
		{"x.y.deep.example.com", "deep-wildcard"},
		{"deep.example.com", "wildcard"},
		{"example.com", "catch-all"},
		{"badexample.com", "catch-all"},
		{"other.test", "catch-all"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			expectReply(t, h.send(port, request{host: tc.host, path: "/"}), http.StatusOK, tc.want)
		})
	}
}

func TestListenerHostnameIsolatesRoutesOfListenersSharingAPort(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "a", "wild", "any", "other-port")
	port, otherPort := freePort(t), freePort(t)
	h.apply(snapshot(gateway(
		httpListener("a", port, "a.example.com"),
		httpListener("wild", port, "*.example.com"),
		httpListener("any", port, ""),
		httpListener("a-other-port", otherPort, "a.example.com"),
	),
		route("on-a", onListener("a"), withRules(rule(matching(match(prefix("/only-a"))), to("a")))),
		route("on-wild", onListener("wild"), withRules(rule(to("wild")))),
		route("on-any", onListener("any"), withRules(rule(to("any")))),
		route("on-other-port", onListener("a-other-port"), withRules(rule(to("other-port")))),
		service("a", be["a"]), service("wild", be["wild"]), service("any", be["any"]),
		service("other-port", be["other-port"]),
	))

	for _, tc := range []struct {
		name       string
		port       int
		host, path string
		status     int
		want       string
	}{
		{"most specific listener", port, "a.example.com", "/only-a/x", 200, "a"},
		// The a.example.com listener owns the host: its 404 never falls through to the
		// wildcard or the catch-all listener.
		{"no fall-through to less specific listeners", port, "a.example.com", "/elsewhere", 404, ""},
		{"wildcard listener", port, "b.example.com", "/only-a/x", 200, "wild"},
		{"wildcard listener, two labels", port, "b.c.example.com", "/", 200, "wild"},
		{"catch-all listener for the wildcard's own domain", port, "example.com", "/", 200, "any"},
		{"catch-all listener", port, "other.test", "/only-a", 200, "any"},
		{"same hostname on another port", otherPort, "a.example.com", "/elsewhere", 200, "other-port"},
		{"other port has no catch-all", otherPort, "other.test", "/", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectReply(t, h.send(tc.port, request{host: tc.host, path: tc.path}), tc.status, tc.want)
		})
	}
}

func TestPathMatchesExactPrefixOnSegmentBoundariesAndRegex(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "exact", "prefix", "prefix-slash", "regex")
	port := freePort(t)
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("paths", withRules(
			rule(matching(match(exact("/exact"))), to("exact")),
			rule(matching(match(prefix("/foo"))), to("prefix")),
			rule(matching(match(prefix("/bar/"))), to("prefix-slash")),
			rule(matching(match(regex("/re/[0-9]+"))), to("regex")),
		)),
		service("exact", be["exact"]), service("prefix", be["prefix"]),
		service("prefix-slash", be["prefix-slash"]), service("regex", be["regex"]),
	))

	for _, tc := range []struct {
		path string
		want string // "" expects 404
	}{
		{"/exact", "exact"},
		{"/exact?q=1", "exact"},
		{"/exact/", ""},
		{"/exact/more", ""},
		{"/exactly", ""},
		{"/foo", "prefix"},
		{"/foo/", "prefix"},
		{"/foo/bar", "prefix"},
		{"/foo/bar/baz?x=y", "prefix"},
		{"/foobar", ""},
		{"/fo", ""},
		{"/bar", "prefix-slash"},
		{"/bar/", "prefix-slash"},
		{"/bar/baz", "prefix-slash"},
		{"/barn", ""},
		{"/re/42", "regex"},
		{"/re/", ""},
		{"/re/abc", ""},
		{"/re/42/more", ""},
		{"/", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			status := http.StatusOK
			if tc.want == "" {
				status = http.StatusNotFound
			}
			rep := h.send(port, request{host: "paths.test", path: tc.path})
			expectReply(t, rep, status, tc.want)
		})
	}
}

func TestHeaderQueryAndMethodMatchesANDWithinAMatchAndORAcrossMatches(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "header-exact", "header-regex", "query", "method", "all-of", "any-of", "default")
	port := freePort(t)
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("conditions", withRules(
			rule(matching(match(prefix("/h"), header("X-Env", "canary"))), to("header-exact")),
			rule(matching(match(prefix("/h"), headerRegex("x-version", "v[0-9]+"))), to("header-regex")),
			rule(matching(match(prefix("/q"), query("mode", "fast"))), to("query")),
			rule(matching(match(prefix("/m"), method(http.MethodPost))), to("method")),
			rule(matching(match(prefix("/and"), header("X-A", "1"), query("b", "2"), method(http.MethodPut))), to("all-of")),
			rule(matching(match(exact("/or-path")), match(header("X-Or", "yes"))), to("any-of")),
			rule(to("default")),
		)),
		service("header-exact", be["header-exact"]), service("header-regex", be["header-regex"]),
		service("query", be["query"]), service("method", be["method"]), service("all-of", be["all-of"]),
		service("any-of", be["any-of"]), service("default", be["default"]),
	))

	for _, tc := range []struct {
		name   string
		method string
		path   string
		header http.Header
		want   string
	}{
		{"exact header", "", "/h", http.Header{"X-Env": {"canary"}}, "header-exact"},
		{"exact header is case-sensitive in its value", "", "/h", http.Header{"X-Env": {"Canary"}}, "default"},
		{"exact header is not a substring match", "", "/h", http.Header{"X-Env": {"canary-2"}}, "default"},
		{"header name is case-insensitive", "", "/h", http.Header{"X-VERSION": {"v2"}}, "header-regex"},
		{"regex header", "", "/h/x", http.Header{"X-Version": {"v12"}}, "header-regex"},
		{"regex header is anchored", "", "/h", http.Header{"X-Version": {"v12-beta"}}, "default"},
		{"header without its path", "", "/other", http.Header{"X-Env": {"canary"}}, "default"},
		{"query parameter", "", "/q?mode=fast", nil, "query"},
		{"query parameter among others", "", "/q?a=1&mode=fast&z=2", nil, "query"},
		{"query parameter value differs", "", "/q?mode=slow", nil, "default"},
		{"query parameter name is case-sensitive", "", "/q?Mode=fast", nil, "default"},
		{"method", http.MethodPost, "/m", nil, "method"},
		{"other method", http.MethodGet, "/m", nil, "default"},
		{"all conditions of a match", http.MethodPut, "/and?b=2", http.Header{"X-A": {"1"}}, "all-of"},
		{"all but the method", http.MethodGet, "/and?b=2", http.Header{"X-A": {"1"}}, "default"},
		{"all but the query", http.MethodPut, "/and", http.Header{"X-A": {"1"}}, "default"},
		{"all but the header", http.MethodPut, "/and?b=2", nil, "default"},
		{"first of two matches", "", "/or-path", nil, "any-of"},
		{"second of two matches", "", "/somewhere", http.Header{"X-Or": {"yes"}}, "any-of"},
		{"neither match", "", "/somewhere", nil, "default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := h.send(port, request{method: tc.method, host: "conditions.test", path: tc.path, header: tc.header})
			expectReply(t, rep, http.StatusOK, tc.want)
			if rep.echo != nil && tc.method != "" && rep.echo.Method != tc.method {
				t.Errorf("backend saw method %s, want %s", rep.echo.Method, tc.method)
			}
		})
	}
}

func TestPrecedenceAcrossRoutesFollowsTheGatewayAPIOrder(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "older", "newer", "alpha", "beta")
	port := freePort(t)
	// "newer" was created after "older", so it only wins where its match is more specific.
	// "alpha" and "beta" share a creation time and tie on everything but their names.
	newer := route("newer", createdAfter(time.Hour), withRules(
		rule(matching(match(exact("/p1/x"))), to("newer")),
		rule(matching(match(prefix("/p2/long"))), to("newer")),
		rule(matching(match(prefix("/p3"), method(http.MethodPost))), to("newer")),
		rule(matching(match(prefix("/p4"), header("X-A", "1"), header("X-B", "1"))), to("newer")),
		rule(matching(match(prefix("/p5"), query("a", "1"), query("b", "1"))), to("newer")),
		rule(matching(match(prefix("/p6"))), to("newer")),
	))
	older := route("older", withRules(
		rule(matching(match(prefix("/p1"))), to("older")),
		rule(matching(match(prefix("/p2"))), to("older")),
		rule(matching(match(prefix("/p3"))), to("older")),
		rule(matching(match(prefix("/p4"), header("X-A", "1"))), to("older")),
		rule(matching(match(prefix("/p5"), query("a", "1"))), to("older")),
		rule(matching(match(prefix("/p6"))), to("older")),
	))
	beta := route("beta", withRules(rule(matching(match(prefix("/p7"))), to("beta"))))
	alpha := route("alpha", withRules(rule(matching(match(prefix("/p7"))), to("alpha"))))
	// The snapshot lists the routes that should lose first, so that input order cannot pass
	// for precedence.
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		newer, older, beta, alpha,
		service("older", be["older"]), service("newer", be["newer"]),
		service("alpha", be["alpha"]), service("beta", be["beta"]),
	))

	for _, tc := range []struct {
		name   string
		method string
		path   string
		header http.Header
		want   string
	}{
		{"exact path beats an older prefix", "", "/p1/x", nil, "newer"},
		{"prefix still serves the rest", "", "/p1/y", nil, "older"},
		{"longest prefix wins", "", "/p2/long/z", nil, "newer"},
		{"shorter prefix serves the rest", "", "/p2/longer", nil, "older"},
		{"method match beats none", http.MethodPost, "/p3", nil, "newer"},
		{"no method match for other methods", http.MethodGet, "/p3", nil, "older"},
		{"more header matches win", "", "/p4", http.Header{"X-A": {"1"}, "X-B": {"1"}}, "newer"},
		{"fewer header matches when the others fail", "", "/p4", http.Header{"X-A": {"1"}}, "older"},
		{"more query matches win", "", "/p5?a=1&b=1", nil, "newer"},
		{"fewer query matches when the others fail", "", "/p5?a=1", nil, "older"},
		{"oldest route wins a tie", "", "/p6", nil, "older"},
		{"first namespace/name wins a tie in age", "", "/p7", nil, "alpha"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := h.send(port, request{method: tc.method, host: "precedence.test", path: tc.path, header: tc.header})
			expectReply(t, rep, http.StatusOK, tc.want)
		})
	}
}
