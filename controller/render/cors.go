package render

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// Kengine has no CORS handler among its standard modules; a CORS filter is built from the
// ones it has: a subroute whose routes match the preflight requests and answer them with a
// static_response, and add the CORS headers to the other requests of an allowed origin with a
// headers handler. Every value a route author wrote goes through the escaper of its context;
// the placeholders below are ours and echo request headers, which the CORS protocol sends
// back as they came (Kengine does not expand placeholders in a placeholder's value).
const (
	placeholderOrigin        = "{http.request.header.Origin}"
	placeholderRequestMethod = "{http.request.header.Access-Control-Request-Method}"
	placeholderRequestHeads  = "{http.request.header.Access-Control-Request-Headers}"
	headerRequestMethod      = "Access-Control-Request-Method"
	headerRequestHeaders     = "Access-Control-Request-Headers"
)

// corsHandler renders a CORS filter. Its subroute answers every preflight request (OPTIONS
// with Origin and Access-Control-Request-Method): with the Access-Control-Allow-* headers when
// the origin is allowed, with none otherwise; and, for any other request of an allowed origin,
// sets the CORS response headers when the response is written, then lets the request go on.
func corsHandler(c *ir.CORS) (kengine.Handler, error) {
	if c.MaxAge < 1 {
		return nil, fmt.Errorf("cors max age %d is not positive", c.MaxAge)
	}
	origins, err := originMatchers(c)
	if err != nil {
		return nil, err
	}
	preflight := kengine.MatcherSet{
		Method: []string{"OPTIONS"},
		Header: map[string][]string{"Origin": {}, headerRequestMethod: {}},
	}
	allowedPreflight := make([]kengine.MatcherSet, 0, len(origins))
	for _, o := range origins {
		ms := preflight
		ms.HeaderRegexp = o.HeaderRegexp
		allowedPreflight = append(allowedPreflight, ms)
	}

	answer, err := corsPreflightHeaders(c)
	if err != nil {
		return nil, err
	}
	var preflightHandlers []kengine.Handler
	if c.AnyHeader {
		// The requested headers are echoed, and the header is left out when none were.
		preflightHandlers = append(preflightHandlers, kengine.Subroute{Routes: []kengine.Route{{
			Match:  []kengine.MatcherSet{{Header: map[string][]string{headerRequestHeaders: {}}}},
			Handle: []kengine.Handler{kengine.Headers{Response: &kengine.RespHeaderOps{HeaderOps: &kengine.HeaderOps{Set: map[string][]string{"Access-Control-Allow-Headers": {placeholderRequestHeads}}}}}},
		}}})
	}
	preflightHandlers = append(preflightHandlers, kengine.StaticResponse{StatusCode: "204", Headers: answer})

	actual, err := corsResponseHeaders(c)
	if err != nil {
		return nil, err
	}
	var routes []kengine.Route
	if len(origins) > 0 {
		routes = append(routes, kengine.Route{Match: allowedPreflight, Handle: preflightHandlers, Terminal: true})
	}
	// A preflight from an origin that is not allowed gets an OK answer without CORS headers,
	// which the browser reads as a refusal; it never reaches the backends.
	routes = append(routes, kengine.Route{Match: []kengine.MatcherSet{preflight}, Handle: []kengine.Handler{kengine.StaticResponse{StatusCode: "204"}}, Terminal: true})
	if len(origins) > 0 {
		routes = append(routes, kengine.Route{Match: origins, Handle: []kengine.Handler{kengine.Headers{Response: &kengine.RespHeaderOps{HeaderOps: actual, Deferred: true}}}})
	}
	return kengine.Subroute{Routes: routes}, nil
}

// originMatchers returns one matcher set per allowed origin, on the Origin header; any
// origin is a present Origin header. No origin allowed gives none.
func originMatchers(c *ir.CORS) ([]kengine.MatcherSet, error) {
	if c.AnyOrigin {
		return []kengine.MatcherSet{{Header: map[string][]string{"Origin": {}}}}, nil
	}
	out := make([]kengine.MatcherSet, 0, len(c.AllowOrigins))
	for _, o := range c.AllowOrigins {
		pattern, err := originPattern(o)
		if err != nil {
			return nil, err
		}
		out = append(out, kengine.MatcherSet{HeaderRegexp: map[string]*kengine.RegexpMatcher{"Origin": {Pattern: pattern}}})
	}
	return out, nil
}

// originHost is what a model origin's host may be: "*", or DNS labels behind an optional "*.".
var originHost = regexp.MustCompile(`^(\*|(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+)$`)

// originPattern is the regular expression an Origin header must match for an allowed origin:
// the scheme, the host ("*" any host, "*." any number of labels), and the port, which may be
// left out when it is the scheme's default.
func originPattern(o ir.Origin) (string, error) {
	var defaultPort int
	switch o.Scheme {
	case "http":
		defaultPort = 80
	case "https":
		defaultPort = 443
	default:
		return "", fmt.Errorf("cors origin scheme %q is neither http nor https", o.Scheme)
	}
	if !originHost.MatchString(o.Host) {
		return "", fmt.Errorf("cors origin host %q is not a DNS name, '*', or '*.' and a DNS name", o.Host)
	}
	if o.Port < 0 || o.Port > 65535 {
		return "", fmt.Errorf("cors origin port %d out of range", o.Port)
	}
	host := regexp.QuoteMeta(o.Host)
	switch {
	case o.Host == "*":
		host = `[^/:]+`
	case strings.HasPrefix(o.Host, "*."):
		host = `[^/:]+` + regexp.QuoteMeta(o.Host[1:])
	}
	port := o.Port
	if port == 0 {
		port = defaultPort
	}
	portPart := ":" + strconv.Itoa(port)
	if port == defaultPort {
		portPart = "(?::" + strconv.Itoa(port) + ")?"
	}
	return "(?i)^" + o.Scheme + "://" + host + portPart + "$", nil
}

// corsPreflightHeaders are the headers of the answer to an allowed preflight request.
func corsPreflightHeaders(c *ir.CORS) (map[string][]string, error) {
	h := map[string][]string{
		"Access-Control-Allow-Origin": {placeholderOrigin},
		"Access-Control-Max-Age":      {strconv.Itoa(c.MaxAge)},
		"Vary":                        {"Origin"},
	}
	switch {
	case c.AnyMethod:
		h["Access-Control-Allow-Methods"] = []string{placeholderRequestMethod}
	case len(c.AllowMethods) > 0:
		v, err := headerList(c.AllowMethods)
		if err != nil {
			return nil, fmt.Errorf("cors allowed methods: %w", err)
		}
		h["Access-Control-Allow-Methods"] = []string{v}
	}
	if !c.AnyHeader && len(c.AllowHeaders) > 0 {
		v, err := headerList(c.AllowHeaders)
		if err != nil {
			return nil, fmt.Errorf("cors allowed headers: %w", err)
		}
		h["Access-Control-Allow-Headers"] = []string{v}
	}
	if c.AllowCredentials {
		h["Access-Control-Allow-Credentials"] = []string{"true"}
	}
	// Browsers read Expose-Headers on the actual response only; the answer repeats it, as
	// the Gateway API's conformance test expects.
	if len(c.ExposeHeaders) > 0 {
		v, err := exposeHeaders(c)
		if err != nil {
			return nil, err
		}
		h["Access-Control-Expose-Headers"] = []string{v}
	}
	return h, nil
}

// exposeHeaders is the Access-Control-Expose-Headers value.
func exposeHeaders(c *ir.CORS) (string, error) {
	if c.AllowCredentials && containsString(c.ExposeHeaders, "*") {
		return "", errors.New("cors exposed headers: '*' is read as a header name on requests with credentials")
	}
	v, err := headerList(c.ExposeHeaders)
	if err != nil {
		return "", fmt.Errorf("cors exposed headers: %w", err)
	}
	return v, nil
}

// corsResponseHeaders are the header edits of a response to an allowed origin's request.
func corsResponseHeaders(c *ir.CORS) (*kengine.HeaderOps, error) {
	ops := &kengine.HeaderOps{
		Set: map[string][]string{"Access-Control-Allow-Origin": {placeholderOrigin}},
		Add: map[string][]string{"Vary": {"Origin"}},
	}
	if c.AllowCredentials {
		ops.Set["Access-Control-Allow-Credentials"] = []string{"true"}
	}
	if len(c.ExposeHeaders) > 0 {
		v, err := exposeHeaders(c)
		if err != nil {
			return nil, err
		}
		ops.Set["Access-Control-Expose-Headers"] = []string{v}
	}
	return ops, nil
}

// headerList joins header names or methods into one comma-separated header value; every
// entry must be an HTTP token, and the value is escaped for Kengine's replacer.
func headerList(names []string) (string, error) {
	for _, n := range names {
		if _, err := kengine.EscapeHeaderName(n); err != nil {
			return "", err
		}
	}
	return kengine.EscapeHeaderValue(strings.Join(names, ", "))
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
