package integration

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestRequestHeaderModifierSetsAddsAndRemovesHeadersTheBackendSees(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "echo")
	port := freePort(t)
	modifier := gatewayv1.HTTPHeaderFilter{
		Set:    []gatewayv1.HTTPHeader{{Name: "X-Set", Value: "set-value"}, {Name: "X-New", Value: "new-value"}},
		Add:    []gatewayv1.HTTPHeader{{Name: "X-Add", Value: "added"}},
		Remove: []string{"X-Remove"},
	}
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("headers", withRules(
			rule(matching(match(prefix("/rule"))), filtered(requestHeaderModifier(modifier)), to("echo")),
			// A backendRef's own filters apply to the traffic it receives.
			rule(matching(match(prefix("/backend"))), toFiltered("echo", requestHeaderModifier(modifier))),
		)),
		service("echo", be["echo"]),
	))

	for _, path := range []string{"/rule", "/backend"} {
		t.Run(path, func(t *testing.T) {
			rep := h.send(port, request{host: "headers.test", path: path, header: http.Header{
				"X-Set":    {"original"},
				"X-Add":    {"original"},
				"X-Remove": {"must-not-arrive"},
				"X-Keep":   {"kept"},
			}})
			expectReply(t, rep, http.StatusOK, "echo")
			if rep.echo == nil {
				return
			}
			for name, want := range map[string][]string{
				"X-Set":    {"set-value"},
				"X-New":    {"new-value"},
				"X-Add":    {"original", "added"},
				"X-Remove": nil,
				"X-Keep":   {"kept"},
			} {
				if got := rep.echo.Headers.Values(name); !slices.Equal(got, want) {
					t.Errorf("backend saw %s: %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestResponseHeaderModifierSetsAddsAndRemovesHeadersTheClientSees(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "echo")
	port := freePort(t)
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("headers", withRules(rule(
			filtered(responseHeaderModifier(gatewayv1.HTTPHeaderFilter{
				Set:    []gatewayv1.HTTPHeader{{Name: backendSetHeader, Value: "set-by-gateway"}, {Name: "X-Gateway-New", Value: "new"}},
				Add:    []gatewayv1.HTTPHeader{{Name: backendKeepHeader, Value: "added-by-gateway"}},
				Remove: []string{backendDropHeader},
			})),
			to("echo"),
		))),
		service("echo", be["echo"]),
	))

	rep := h.send(port, request{host: "headers.test", path: "/"})
	expectReply(t, rep, http.StatusOK, "echo")
	for name, want := range map[string][]string{
		backendSetHeader:  {"set-by-gateway"},
		"X-Gateway-New":   {"new"},
		backendKeepHeader: {backendHeaderValue, "added-by-gateway"},
		backendDropHeader: nil,
		backendNameHeader: {"echo"},
	} {
		if got := rep.header.Values(name); !slices.Equal(got, want) {
			t.Errorf("client saw %s: %q, want %q", name, got, want)
		}
	}
}

func TestRequestRedirectBuildsLocationFromSchemeHostnamePortAndPath(t *testing.T) {
	h := newHarness(t)
	port := freePort(t)
	listener := strconv.Itoa(port)
	type redirect = gatewayv1.HTTPRequestRedirectFilter
	cases := []struct {
		name     string
		prefix   string // the rule's PathPrefix
		path     string // the request
		filter   redirect
		status   int
		location string
	}{
		{"defaults keep scheme, host, listener port and path", "/plain", "/plain/x?q=1",
			redirect{}, 302, "http://redirect.test:" + listener + "/plain/x?q=1"},
		{"https scheme implies 443, which is elided", "/to-https", "/to-https/x?q=1",
			redirect{Scheme: ptr.To("https")}, 302, "https://redirect.test/to-https/x?q=1"},
		{"http scheme implies 80, which is elided", "/to-http", "/to-http/x",
			redirect{Scheme: ptr.To("http")}, 302, "http://redirect.test/to-http/x"},
		{"https with an explicit port", "/https-port", "/https-port/x",
			redirect{Scheme: ptr.To("https"), Port: ptr.To(gatewayv1.PortNumber(8443))}, 302, "https://redirect.test:8443/https-port/x"},
		{"https with explicit 443 is elided", "/https-443", "/https-443/x",
			redirect{Scheme: ptr.To("https"), Port: ptr.To(gatewayv1.PortNumber(443))}, 302, "https://redirect.test/https-443/x"},
		{"explicit port on the listener's scheme", "/port", "/port/x",
			redirect{Port: ptr.To(gatewayv1.PortNumber(8080))}, 302, "http://redirect.test:8080/port/x"},
		{"explicit port 80 on http is elided", "/port-80", "/port-80/x",
			redirect{Port: ptr.To(gatewayv1.PortNumber(80))}, 302, "http://redirect.test/port-80/x"},
		{"port 443 on http is kept", "/http-443", "/http-443/x",
			redirect{Port: ptr.To(gatewayv1.PortNumber(443))}, 302, "http://redirect.test:443/http-443/x"},
		{"hostname keeps the listener port", "/hostname", "/hostname/x",
			redirect{Hostname: ptr.To(gatewayv1.PreciseHostname("other.example"))}, 302, "http://other.example:" + listener + "/hostname/x"},
		{"status code 301", "/moved", "/moved/x",
			redirect{StatusCode: ptr.To(301)}, 301, "http://redirect.test:" + listener + "/moved/x"},
		{"ReplaceFullPath keeps the query", "/full", "/full/x?q=1",
			redirect{Path: replaceFullPath("/replaced")}, 302, "http://redirect.test:" + listener + "/replaced?q=1"},
		{"ReplacePrefixMatch", "/prefix", "/prefix/x/y?q=1",
			redirect{Path: replacePrefixMatch("/new")}, 302, "http://redirect.test:" + listener + "/new/x/y?q=1"},
		{"ReplacePrefixMatch with /", "/strip", "/strip",
			redirect{Path: replacePrefixMatch("/")}, 302, "http://redirect.test:" + listener + "/"},
		{"everything at once", "/all", "/all/x?q=1",
			redirect{Scheme: ptr.To("https"), Hostname: ptr.To(gatewayv1.PreciseHostname("secure.example")),
				Port: ptr.To(gatewayv1.PortNumber(9443)), StatusCode: ptr.To(301), Path: replacePrefixMatch("/everything")},
			301, "https://secure.example:9443/everything/x?q=1"},
	}
	var rules []gatewayv1.HTTPRouteRule
	for _, tc := range cases {
		rules = append(rules, rule(matching(match(prefix(tc.prefix))), filtered(requestRedirect(tc.filter))))
	}
	h.apply(snapshot(gateway(httpListener("http", port, "")), route("redirects", withRules(rules...))))

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := h.send(port, request{host: "redirect.test", path: tc.path})
			if rep.status != tc.status || rep.header.Get("Location") != tc.location {
				t.Errorf("got status %d, Location %q; want %d, %q", rep.status, rep.header.Get("Location"), tc.status, tc.location)
			}
		})
	}
}

func TestURLRewriteChangesTheHostAndPathTheBackendSees(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "echo")
	port := freePort(t)
	internal := gatewayv1.PreciseHostname("internal.example")
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("rewrites", withRules(
			rule(matching(match(prefix("/host"))), filtered(urlRewrite(gatewayv1.HTTPURLRewriteFilter{Hostname: &internal})), to("echo")),
			rule(matching(match(prefix("/full"))), filtered(urlRewrite(gatewayv1.HTTPURLRewriteFilter{Path: replaceFullPath("/replaced")})), to("echo")),
			rule(matching(match(prefix("/both"))), filtered(urlRewrite(gatewayv1.HTTPURLRewriteFilter{Hostname: &internal, Path: replacePrefixMatch("/inner")})), to("echo")),
		)),
		service("echo", be["echo"]),
	))

	for _, tc := range []struct {
		path                 string
		host, newPath, query string
	}{
		{"/host/x?q=1", "internal.example", "/host/x", "q=1"},
		{"/full/x?q=1&r=2", "rewrite.test", "/replaced", "q=1&r=2"},
		{"/both/x", "internal.example", "/inner/x", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rep := h.send(port, request{host: "rewrite.test", path: tc.path})
			expectReply(t, rep, http.StatusOK, "echo")
			if rep.echo == nil {
				return
			}
			if rep.echo.Host != tc.host || rep.echo.Path != tc.newPath || rep.echo.RawQuery != tc.query {
				t.Errorf("backend saw Host %q, path %q, query %q; want %q, %q, %q",
					rep.echo.Host, rep.echo.Path, rep.echo.RawQuery, tc.host, tc.newPath, tc.query)
			}
		})
	}
}

// The rows of the ReplacePrefixMatch table in the Gateway API's HTTPPathModifier
// documentation, plus the query string and a root prefix.
func TestURLRewriteReplacePrefixMatchFollowsTheGatewayAPITable(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "echo")
	port := freePort(t)
	cases := []struct {
		path, prefix, replacement string
		want, wantQuery           string
	}{
		{"/foo/bar", "/foo", "/xyz", "/xyz/bar", ""},
		{"/foo/bar", "/foo", "/xyz/", "/xyz/bar", ""},
		{"/foo/bar", "/foo/", "/xyz", "/xyz/bar", ""},
		{"/foo/bar", "/foo/", "/xyz/", "/xyz/bar", ""},
		{"/foo", "/foo", "/xyz", "/xyz", ""},
		{"/foo/", "/foo", "/xyz", "/xyz/", ""},
		{"/foo/bar", "/foo", "", "/bar", ""},
		{"/foo/", "/foo", "", "/", ""},
		{"/foo", "/foo", "", "/", ""},
		{"/foo/", "/foo", "/", "/", ""},
		{"/foo", "/foo", "/", "/", ""},
		{"/foo/bar?a=1&b=2", "/foo", "/xyz", "/xyz/bar", "a=1&b=2"},
		{"/foo/bar", "/", "/xyz", "/xyz/foo/bar", ""},
	}
	objs := []any{service("echo", be["echo"])}
	for i, tc := range cases {
		objs = append(objs, route(fmt.Sprintf("row-%d", i), withHostnames(fmt.Sprintf("row-%d.rewrite.test", i)), withRules(rule(
			matching(match(prefix(tc.prefix))),
			filtered(urlRewrite(gatewayv1.HTTPURLRewriteFilter{Path: replacePrefixMatch(tc.replacement)})),
			to("echo"),
		))))
	}
	h.apply(snapshot(gateway(httpListener("http", port, "")), objs...))

	for i, tc := range cases {
		t.Run(fmt.Sprintf("%s prefix %q replacement %q", tc.path, tc.prefix, tc.replacement), func(t *testing.T) {
			rep := h.send(port, request{host: fmt.Sprintf("row-%d.rewrite.test", i), path: tc.path})
			expectReply(t, rep, http.StatusOK, "echo")
			if rep.echo != nil && (rep.echo.Path != tc.want || rep.echo.RawQuery != tc.wantQuery) {
				t.Errorf("backend saw path %q, query %q; want %q, %q", rep.echo.Path, rep.echo.RawQuery, tc.want, tc.wantQuery)
			}
		})
	}
}

// Kengine expands placeholders such as {env.NAME} and {file.PATH} in header values, rewrite
// targets and query matchers. Route authors must not reach them: what they write is literal.
func TestRouteValuesWithBracesReachKengineAsLiteralsNotPlaceholders(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "echo", "default")
	port := freePort(t)
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("file-secret-5f4dcc3b"), 0o600); err != nil {
		t.Fatal(err)
	}
	envValue := "{env." + processSecretEnv + "}"
	fileValue := "{file." + secretFile + "}"
	escapedValue := `\` + envValue + `\`
	h.apply(snapshot(gateway(httpListener("http", port, "")),
		route("braces", withRules(
			rule(matching(match(prefix("/headers"))),
				filtered(
					requestHeaderModifier(gatewayv1.HTTPHeaderFilter{
						Set: []gatewayv1.HTTPHeader{{Name: "X-Env", Value: envValue}, {Name: "X-Escaped", Value: escapedValue}},
						Add: []gatewayv1.HTTPHeader{{Name: "X-File", Value: fileValue}},
					}),
					responseHeaderModifier(gatewayv1.HTTPHeaderFilter{
						Set: []gatewayv1.HTTPHeader{{Name: "X-Env", Value: envValue}},
						Add: []gatewayv1.HTTPHeader{{Name: "X-File", Value: fileValue}},
					}),
				),
				to("echo")),
			rule(matching(match(prefix("/full"))),
				filtered(urlRewrite(gatewayv1.HTTPURLRewriteFilter{Path: replaceFullPath("/literal/" + envValue)})),
				to("echo")),
			rule(matching(match(prefix("/prefix"))),
				filtered(urlRewrite(gatewayv1.HTTPURLRewriteFilter{Path: replacePrefixMatch("/literal/" + envValue)})),
				to("echo")),
			rule(matching(match(prefix("/query"), query("v", envValue))), to("echo")),
			rule(matching(match(prefix("/redirect"))),
				filtered(requestRedirect(gatewayv1.HTTPRequestRedirectFilter{Path: replaceFullPath("/literal/" + envValue)}))),
			rule(to("default")),
		)),
		service("echo", be["echo"]), service("default", be["default"]),
	))

	t.Run("header modifiers", func(t *testing.T) {
		rep := h.send(port, request{host: "braces.test", path: "/headers"})
		expectReply(t, rep, http.StatusOK, "echo")
		if rep.echo == nil {
			return
		}
		for name, want := range map[string]string{"X-Env": envValue, "X-File": fileValue} {
			if got := rep.echo.Headers.Get(name); got != want {
				t.Errorf("backend saw %s: %q, want %q", name, got, want)
			}
			if got := rep.header.Get(name); got != want {
				t.Errorf("client saw %s: %q, want %q", name, got, want)
			}
		}
		if got := rep.echo.Headers.Get("X-Escaped"); got != escapedValue {
			t.Errorf("backend saw X-Escaped: %q, want %q", got, escapedValue)
		}
	})
	t.Run("ReplaceFullPath", func(t *testing.T) {
		rep := h.send(port, request{host: "braces.test", path: "/full/x"})
		expectReply(t, rep, http.StatusOK, "echo")
		if want := "/literal/" + envValue; rep.echo != nil && rep.echo.Path != want {
			t.Errorf("backend saw path %q, want %q", rep.echo.Path, want)
		}
	})
	t.Run("ReplacePrefixMatch", func(t *testing.T) {
		rep := h.send(port, request{host: "braces.test", path: "/prefix/x"})
		expectReply(t, rep, http.StatusOK, "echo")
		if want := "/literal/" + envValue + "/x"; rep.echo != nil && rep.echo.Path != want {
			t.Errorf("backend saw path %q, want %q", rep.echo.Path, want)
		}
	})
	t.Run("redirect ReplaceFullPath", func(t *testing.T) {
		rep := h.send(port, request{host: "braces.test", path: "/redirect"})
		want := fmt.Sprintf("http://braces.test:%d/literal/%s", port, url.PathEscape(envValue))
		if rep.status != http.StatusFound || rep.header.Get("Location") != want {
			t.Errorf("got status %d, Location %q; want 302, %q", rep.status, rep.header.Get("Location"), want)
		}
	})
	t.Run("query match", func(t *testing.T) {
		expectReply(t, h.send(port, request{host: "braces.test", path: "/query?v=" + url.QueryEscape(envValue)}), http.StatusOK, "echo")
		expectReply(t, h.send(port, request{host: "braces.test", path: "/query?v=" + processSecretValue}), http.StatusOK, "default")
		expectReply(t, h.send(port, request{host: "braces.test", path: "/query?v="}), http.StatusOK, "default")
	})
}
