package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/khulnasoft/gateway/kengine"
)

// escapeCasesPerContext is how many random strings each context gets.
const escapeCasesPerContext = 200

// adversarialStrings are tried in every context before the random ones: placeholders that
// Kengine knows (one of them would reveal the process secret), backslashes before braces,
// the characters each context treats specially, and strings that look like the version stamp
// or like the "@id" keys Kengine strips from the config.
var adversarialStrings = []string{
	"{http.request.host}", "{env." + processSecretEnv + "}", `\{http.request.host\}`,
	`\\{env.` + processSecretEnv + `}`, `\{`, `\}`, `{`, `}`, `\`, `a\`, `}{`, "{{}}", "{}", "*", "**", "*a", "a*",
	"$1", "$$", "${1}", "$x/$1", "%", "%41", "%2F", "%zz", "?a=b#c", "#", "?", "日本語", "😀", "café",
	strings.Repeat("0", 64), `{"admin":{"@id":"kengine-gateway-version-`, `","@id":"x`, `"@id":1,`, "@id",
}

// escapePieces is what randomEscapeString draws from: characters that some Kengine context
// treats specially, path and query delimiters, whitespace and controls, non-ASCII text, and
// whole placeholders.
var escapePieces = []string{
	"{", "}", "*", `\`, "%", "$", "?", "#", "/", "@", "&", "=", "+", ";", ":", "(", ")", "[", "]",
	"!", "'", `"`, ",", "~", " ", "\t", "\n", "\x01", "é", "日", "😀", "a", "Z", "0", "7", "f", "-",
	".", "_", "%41", "%2f", "%7B", "$1", "${x}", "{http.request.host}", "{env." + processSecretEnv + "}",
}

// randomEscapeString returns up to 16 random pieces.
func randomEscapeString(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.Intn(17) {
		b.WriteString(escapePieces[rng.Intn(len(escapePieces))])
	}
	return b.String()
}

// escapeInputs returns the adversarial strings followed by random ones, as many as n in all,
// each transformed by shape (which may return "" to skip an input).
func escapeInputs(rng *rand.Rand, n int, shape func(string) string) []string {
	var out []string
	for _, s := range adversarialStrings {
		if s = shape(s); s != "" && len(out) < n {
			out = append(out, s)
		}
	}
	for len(out) < n {
		if s := shape(randomEscapeString(rng)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// wireEcho is what an upstream read from the wire: the request target exactly as it was in
// the request line, and the header fields.
type wireEcho struct {
	RequestURI string      `json:"requestURI"`
	Header     http.Header `json:"header"`
}

// startWireEcho starts an upstream on 127.0.0.1 that answers every request with a wireEcho.
func startWireEcho(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(wireEcho{RequestURI: r.RequestURI, Header: r.Header})
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// escapeCase is one route of the test config and the request that checks it.
type escapeCase struct {
	context string // which escaper the case checks
	literal string // the string the route author wrote
	host    string // routes the request to the case's route
	target  string // the request target to send
	// check compares what arrived with the literal.
	check func(resp *http.Response, body []byte) error
}

// escapeSuite collects the cases of every context into one config, so that a single load
// serves them all.
type escapeSuite struct {
	rng      *rand.Rand
	upstream string // the wire echo's address
	cases    []escapeCase
	routes   []kengine.Route
	refused  map[string]int // inputs an escaper refused, by context
}

// add gives the case a host of its own and routes it to route: every matcher set of the
// route (or a new one) also requires the host.
func (s *escapeSuite) add(c escapeCase, route kengine.Route) {
	c.host = fmt.Sprintf("c%d.escape.test", len(s.cases))
	if len(route.Match) == 0 {
		route.Match = []kengine.MatcherSet{{}}
	}
	for i := range route.Match {
		route.Match[i].Host = []string{c.host}
	}
	route.Terminal = true
	s.cases = append(s.cases, c)
	s.routes = append(s.routes, route)
}

// escape calls an escaper and counts a refusal.
func (s *escapeSuite) escape(context string, escape func(string) (string, error), in string) (string, bool) {
	out, err := escape(in)
	if err != nil {
		s.refused[context]++
		return "", false
	}
	return out, true
}

// proxy forwards to the wire echo.
func (s *escapeSuite) proxy(headers *kengine.ReverseProxyHeaders) kengine.ReverseProxy {
	return kengine.ReverseProxy{Upstreams: []kengine.Upstream{{Dial: s.upstream}}, Headers: headers}
}

// addHeaderCases: header values set by the headers handler on the request and added by
// reverse_proxy's own header operations, under random token names; the upstream must see
// the literal value under the name.
func (s *escapeSuite) addHeaderCases() {
	for i, v := range escapeInputs(s.rng, escapeCasesPerContext, func(in string) string { return in }) {
		value, ok := s.escape("header value", kengine.EscapeHeaderValue, v)
		if !ok {
			continue
		}
		name, ok := s.escape("header name", kengine.EscapeHeaderName, "X-E-"+strconv.Itoa(i)+randomToken(s.rng))
		if !ok {
			continue
		}
		s.add(escapeCase{context: "header value", literal: v, target: "/", check: func(_ *http.Response, body []byte) error {
			e, err := decodeWireEcho(body)
			if err != nil {
				return err
			}
			if got := e.Header.Values(name); !slices.Equal(got, []string{v}) {
				return fmt.Errorf("header %s arrived as %q", name, got)
			}
			if got := e.Header.Values("X-E-Proxy"); !slices.Equal(got, []string{v}) {
				return fmt.Errorf("reverse_proxy's header arrived as %q", got)
			}
			return nil
		}}, kengine.Route{Handle: []kengine.Handler{
			kengine.Headers{Request: &kengine.HeaderOps{Set: map[string][]string{name: {value}}}},
			s.proxy(&kengine.ReverseProxyHeaders{Request: &kengine.HeaderOps{Add: map[string][]string{"X-E-Proxy": {value}}}}),
		}})
	}
}

// addLocationCases: the Location of a static_response redirect, which the client must see as
// written.
func (s *escapeSuite) addLocationCases() {
	for _, v := range escapeInputs(s.rng, escapeCasesPerContext, func(in string) string { return "https://example.test/" + in }) {
		value, ok := s.escape("location", kengine.EscapeHeaderValue, v)
		if !ok {
			continue
		}
		s.add(escapeCase{context: "location", literal: v, target: "/", check: func(resp *http.Response, _ []byte) error {
			if got := resp.Header.Values("Location"); resp.StatusCode != http.StatusFound || !slices.Equal(got, []string{v}) {
				return fmt.Errorf("arrived as %q (status %d)", got, resp.StatusCode)
			}
			return nil
		}}, kengine.Route{Handle: []kengine.Handler{
			kengine.StaticResponse{StatusCode: "302", Headers: map[string][]string{"Location": {value}}},
		}})
	}
}

// addURICases: a rewrite uri to a path in its wire form, which the upstream must receive
// byte for byte, with the original query. The canonical forms of random decoded paths must
// all be accepted; of raw random strings, those the escaper accepts must need no help.
func (s *escapeSuite) addURICases() {
	canonical := escapeInputs(s.rng, escapeCasesPerContext, canonicalPath)
	raw := escapeInputs(s.rng, escapeCasesPerContext, func(in string) string { return "/" + in })
	for i, p := range append(canonical, raw...) {
		uri, ok := s.escape("uri path", kengine.EscapeRewriteURIPath, p)
		if !ok {
			if i < len(canonical) {
				s.refused["canonical uri path (must never happen)"]++
			}
			continue
		}
		s.add(escapeCase{context: "uri path", literal: p, target: "/original?keep=1", check: func(_ *http.Response, body []byte) error {
			return expectRequestURI(body, p+"?keep=1")
		}}, kengine.Route{Handle: []kengine.Handler{kengine.Rewrite{URI: uri}, s.proxy(nil)}})
	}
}

// addPathRegexpCases: a path_regexp replacement as ReplacePrefixMatch renders it. The prefix
// becomes the literal; the rest of the path (with a non-canonical escape) and the query stay.
// Every other input is made a valid wire form first, so that most reach Kengine; the others
// show what the escaper lets through unaided.
func (s *escapeSuite) addPathRegexpCases() {
	n := 0
	inputs := escapeInputs(s.rng, escapeCasesPerContext, func(in string) string {
		n++
		if n%2 == 0 {
			return "/" + in
		}
		return "/" + validPathEncoding(in)
	})
	for _, p := range inputs {
		replacement, ok := s.escape("path_regexp replacement", kengine.EscapePathRegexpReplacement, p)
		if !ok {
			continue
		}
		s.add(escapeCase{context: "path_regexp replacement", literal: p, target: "/prefix/rest%41?keep=1", check: func(_ *http.Response, body []byte) error {
			return expectRequestURI(body, p+"/rest%41?keep=1")
		}}, kengine.Route{Handle: []kengine.Handler{
			kengine.Rewrite{PathRegexp: []kengine.RegexReplacement{{Find: `^/prefix(/.*)?$`, Replace: replacement + "$1"}}},
			s.proxy(nil),
		}})
	}
}

// addQueryCases: a query matcher on an escaped name and value matches exactly that parameter
// (sent percent-encoded, as clients do), and not the same name with another value.
func (s *escapeSuite) addQueryCases() {
	for _, v := range escapeInputs(s.rng, escapeCasesPerContext, func(in string) string { return in }) {
		name := randomEscapeString(s.rng)
		if s.rng.Intn(4) == 0 {
			name = v
		}
		escName, okName := s.escape("query name", kengine.EscapeQueryName, name)
		escValue, okValue := s.escape("query value", kengine.EscapeQueryValue, v)
		if !okName || !okValue {
			continue
		}
		for _, q := range []struct{ value, want string }{{v, "match"}, {v + "-other", "no match"}} {
			s.add(escapeCase{context: "query", literal: name + "=" + v, target: "/?" + url.Values{name: {q.value}}.Encode(), check: func(_ *http.Response, body []byte) error {
				if string(body) != q.want {
					return fmt.Errorf("sent %q=%q, got %q, want %q", name, q.value, body, q.want)
				}
				return nil
			}}, kengine.Route{
				Match:  []kengine.MatcherSet{{Query: map[string][]string{escName: {escValue}}}},
				Handle: []kengine.Handler{kengine.StaticResponse{Body: "match"}},
			})
			// The same host answers "no match" when the matcher does not match.
			s.routes = append(s.routes, kengine.Route{
				Match:    []kengine.MatcherSet{{Host: []string{s.cases[len(s.cases)-1].host}}},
				Handle:   []kengine.Handler{kengine.StaticResponse{Body: "no match"}},
				Terminal: true,
			})
		}
	}
}

// TestEscapersKeepRouteStringsLiteral programs a real Kengine with routes built from
// adversarial and random route-author strings passed through the kengine.Escape functions,
// sends real requests, and checks that each string arrives, or matches, exactly as written,
// and that no placeholder in them was expanded. Strings an escaper refuses are not routed;
// the kengine unit tests check that each refusal is one the escaper documents.
//
// For paths, the wire form compared is the request target exactly as the upstream read it
// from the request line (http.Request.RequestURI), whose path must be the literal byte for
// byte, followed by the request's query.
func TestEscapersKeepRouteStringsLiteral(t *testing.T) {
	k := startKengine(t)
	s := &escapeSuite{
		rng:      rand.New(rand.NewSource(7)),
		upstream: "127.0.0.1:" + strconv.Itoa(startWireEcho(t)),
		refused:  map[string]int{},
	}
	s.addHeaderCases()
	s.addLocationCases()
	s.addURICases()
	s.addPathRegexpCases()
	s.addQueryCases()

	port := freePort(t)
	cfg := &kengine.Config{
		Admin: &kengine.Admin{Listen: k.adminListen(), Config: &kengine.AdminConfig{Persist: ptr.To(false)}},
		Apps: kengine.Apps{HTTP: &kengine.HTTPApp{Servers: map[string]*kengine.Server{"escape": {
			Listen:         []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))},
			AutomaticHTTPS: &kengine.AutomaticHTTPS{Disable: true},
			Routes:         s.routes,
		}}}},
	}
	data, version, err := kengine.Finalize(cfg)
	if err != nil {
		t.Fatalf("finalize: %v", err)
	}
	client, err := kengine.NewClient(kengine.ClientOptions{Port: k.adminPort, Insecure: true, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pushEscapeConfig(t, client, data, version)

	// A bare transport: a client's redirect handling would parse (and reject) some of the
	// Location values under test before anything could compare them.
	transport := &http.Transport{Proxy: nil}
	defer transport.CloseIdleConnections()
	sent := map[string]int{}
	failures := 0
	for _, c := range s.cases {
		resp, body := sendEscapeCase(t, transport, port, c)
		err := c.check(resp, body)
		if err == nil && (strings.Contains(string(body), processSecretValue) || strings.Contains(fmt.Sprint(resp.Header), processSecretValue)) {
			err = errors.New("the response reveals the process secret")
		}
		if err != nil {
			t.Errorf("%s %q: %v", c.context, c.literal, err)
			if failures++; failures == 20 {
				t.Fatal("stopping after 20 failures")
			}
		}
		sent[c.context]++
	}
	t.Logf("cases sent per context: %v; refused by an escaper: %v", sent, s.refused)
	if n := s.refused["canonical uri path (must never happen)"]; n > 0 {
		t.Errorf("EscapeRewriteURIPath refused %d canonical paths", n)
	}
	for _, context := range []string{"header value", "location", "uri path", "path_regexp replacement", "query"} {
		if sent[context] < escapeCasesPerContext/2 {
			t.Errorf("only %d %s cases reached Kengine", sent[context], context)
		}
	}
}

// expectRequestURI checks the request target that the wire echo in body read.
func expectRequestURI(body []byte, want string) error {
	e, err := decodeWireEcho(body)
	if err != nil {
		return err
	}
	if e.RequestURI != want {
		return fmt.Errorf("the upstream read %q, want %q", e.RequestURI, want)
	}
	return nil
}

// pushEscapeConfig loads the config and checks, on the real Kengine, the version marker that
// Finalize stamps: the pod reports the version it runs and no other, and a second push of
// the same version is skipped.
func pushEscapeConfig(t *testing.T, client *kengine.Client, data []byte, version string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ep := []kengine.Endpoint{{Pod: "kengine-0", Namespace: "escape", UID: "uid-0", Address: "127.0.0.1"}}
	if res := client.Push(ctx, ep, data, version); res[0].Err != nil {
		t.Fatalf("push: %v", res[0].Err)
	}
	if runs, err := client.RunsVersion(ctx, ep[0], version); err != nil || !runs {
		t.Errorf("RunsVersion(the loaded version) = %v, %v; want true", runs, err)
	}
	if runs, err := client.RunsVersion(ctx, ep[0], strings.Repeat("0", 64)); err != nil || runs {
		t.Errorf("RunsVersion(another version) = %v, %v; want false", runs, err)
	}
	if res := client.Push(ctx, ep, data, version); res[0].Err != nil || !res[0].Skipped {
		t.Errorf("second push of the same version: %+v, want skipped", res[0])
	}
}

// sendEscapeCase sends the case's request to Kengine on port.
func sendEscapeCase(t *testing.T, transport http.RoundTripper, port int, c escapeCase) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+c.target, nil)
	if err != nil {
		t.Fatalf("%s %q: %v", c.context, c.literal, err)
	}
	req.Host = c.host
	resp, err := transport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %q: %v", c.context, c.literal, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s %q: reading the answer: %v", c.context, c.literal, err)
	}
	return resp, body
}

// decodeWireEcho decodes the wire echo's answer.
func decodeWireEcho(body []byte) (wireEcho, error) {
	var e wireEcho
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("no answer from the upstream: %v: %.200q", err, body)
	}
	return e, nil
}

// canonicalPath returns Go's canonical encoding of "/"+s, the only form of a rewritten uri
// path that Kengine sends unchanged.
func canonicalPath(s string) string {
	return (&url.URL{Path: "/" + s}).EscapedPath()
}

// validPathEncoding percent-encodes the bytes of s that may not appear in a path as they are,
// keeping valid percent-escapes (whatever their case) and the characters Go lets through.
func validPathEncoding(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c)
		case c != '%' && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@/[]", c) >= 0):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// tokenChars are the characters of an HTTP token, "*" included.
const tokenChars = "!#$%&'*+-.^_`|~abcXYZ09"

// randomToken returns up to 8 token characters.
func randomToken(rng *rand.Rand) string {
	b := make([]byte, rng.Intn(9))
	for i := range b {
		b[i] = tokenChars[rng.Intn(len(tokenChars))]
	}
	return string(b)
}
