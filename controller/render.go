package controller

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/kengine"
)

// RenderOptions are the settings render needs besides the model.
type RenderOptions struct {
	// Admin is the admin block every pushed config carries, so the controller never locks
	// itself out nor opens the endpoint. Required.
	Admin *kengine.Admin
	// PKI is the pki app the admin identity needs (its CA), carried like Admin.
	PKI *kengine.PKIApp
	// ListenHost is the host part of listener addresses; empty binds every interface.
	ListenHost string
	// HealthPort is where the readiness route listens on every interface. HealthPort+1 and
	// HealthPort+2, on loopback only, answer 500 and 503 for the share of traffic that goes
	// to invalid or empty backends.
	HealthPort int
}

// Names of the servers render emits besides one per Gateway port.
const (
	healthServerName = "kengine-gateway-health"
	status500Server  = "kengine-gateway-500"
	status503Server  = "kengine-gateway-503"
	// ReadyPath is the readiness route; it exists only in controller-pushed config.
	ReadyPath = "/kengine-gateway/ready"
)

// Render turns a model into a complete Kengine config. It is pure and deterministic: the same
// model and options always give the same bytes after kengine.Finalize.
func Render(m *Model, opts RenderOptions) (*kengine.Config, error) {
	if opts.Admin == nil {
		return nil, fmt.Errorf("render: an admin block is required")
	}
	if opts.HealthPort <= 0 || opts.HealthPort > 65533 {
		return nil, fmt.Errorf("render: health port %d out of range", opts.HealthPort)
	}
	r := &renderer{opts: opts}
	servers := map[string]*kengine.Server{}
	for _, srv := range m.Servers {
		servers[fmt.Sprintf("gateway-%d", srv.Port)] = r.server(srv)
	}
	servers[healthServerName] = &kengine.Server{
		Listen: []string{fmt.Sprintf(":%d", opts.HealthPort)},
		Routes: []kengine.Route{
			{Match: []kengine.MatcherSet{{Path: []string{ReadyPath}}}, Handle: []kengine.Handler{kengine.StaticResponse{Body: "ready"}}, Terminal: true},
			notFoundRoute(),
		},
		AutomaticHTTPS: &kengine.AutomaticHTTPS{Disable: true},
		Protocols:      []string{"h1"},
	}
	for status, name := range map[int]string{500: status500Server, 503: status503Server} {
		if !r.failurePorts[status] {
			continue
		}
		servers[name] = &kengine.Server{
			Listen:         []string{fmt.Sprintf("127.0.0.1:%d", r.failurePort(status))},
			Routes:         []kengine.Route{staticRoute(status)},
			AutomaticHTTPS: &kengine.AutomaticHTTPS{Disable: true},
			Protocols:      []string{"h1"},
		}
	}
	cfg := &kengine.Config{
		Admin: opts.Admin,
		Apps:  kengine.Apps{HTTP: &kengine.HTTPApp{Servers: servers}, PKI: opts.PKI},
	}
	if len(m.Certificates) > 0 {
		certs := make([]kengine.PEMCertificate, 0, len(m.Certificates))
		for _, c := range m.Certificates {
			certs = append(certs, kengine.PEMCertificate{Certificate: string(c.CertPEM), Key: string(c.KeyPEM), Tags: []string{c.Tag}})
		}
		// No OCSP stapling: Kengine must never call out on its own.
		cfg.Apps.TLS = &kengine.TLSApp{Certificates: &kengine.Certificates{LoadPEM: certs}, DisableOCSPStapling: true}
	}
	if r.err != nil {
		return nil, fmt.Errorf("render: %w", r.err)
	}
	return cfg, nil
}

type renderer struct {
	opts         RenderOptions
	failurePorts map[int]bool
	// err is the first value that could not be written for Kengine (see keep).
	err error
}

func (r *renderer) failurePort(status int) int {
	if status == 503 {
		return r.opts.HealthPort + 2
	}
	return r.opts.HealthPort + 1
}

// server renders one Gateway port: a route per listener (most specific hostname first), each
// holding a route per virtual host, each holding the rules in precedence order. A request is
// thus compared with a few hostnames and then with one host's rules only.
func (r *renderer) server(srv *ServerModel) *kengine.Server {
	out := &kengine.Server{
		Listen:         []string{fmt.Sprintf("%s:%d", r.opts.ListenHost, srv.Port)},
		AutomaticHTTPS: &kengine.AutomaticHTTPS{Disable: true},
		Protocols:      []string{"h1", "h2c"},
	}
	if srv.TLS {
		out.Protocols = []string{"h1", "h2"}
	}
	for _, l := range srv.Listeners {
		var vhostRoutes []kengine.Route
		for _, vh := range l.VirtualHosts {
			rules := make([]kengine.Route, 0, len(vh.Rules)+1)
			for _, rule := range vh.Rules {
				rules = append(rules, r.rule(rule))
			}
			rules = append(rules, notFoundRoute())
			vr := kengine.Route{Handle: []kengine.Handler{kengine.Subroute{Routes: rules}}, Terminal: true}
			if vh.Hostname != "" && vh.Hostname != l.Hostname {
				vr.Match = []kengine.MatcherSet{hostMatcher(vh.Hostname)}
			}
			vhostRoutes = append(vhostRoutes, vr)
		}
		vhostRoutes = append(vhostRoutes, notFoundRoute())
		lr := kengine.Route{Handle: []kengine.Handler{kengine.Subroute{Routes: vhostRoutes}}, Terminal: true}
		if l.Hostname != "" {
			lr.Match = []kengine.MatcherSet{hostMatcher(l.Hostname)}
		}
		out.Routes = append(out.Routes, lr)
		if srv.TLS {
			p := kengine.TLSConnectionPolicy{CertificateSelection: &kengine.CertSelection{AnyTag: l.CertificateTags}}
			if l.Hostname != "" {
				p.Match = sniMatcher(l.Hostname)
			}
			out.TLSConnectionPolicies = append(out.TLSConnectionPolicies, p)
		}
	}
	out.Routes = append(out.Routes, notFoundRoute())
	return out
}

// hostMatcher matches a Gateway API hostname. Kengine's host matcher treats "*" as exactly one
// label, while a Gateway API wildcard covers one or more, so wildcards use a regexp on Host.
func hostMatcher(h string) kengine.MatcherSet {
	if strings.HasPrefix(h, "*.") {
		pattern := `(?i)^[^:]+\.` + regexp.QuoteMeta(h[2:]) + `(:[0-9]+)?$`
		return kengine.MatcherSet{HeaderRegexp: map[string]*kengine.RegexpMatcher{"Host": {Pattern: pattern}}}
	}
	return kengine.MatcherSet{Host: []string{h}}
}

// sniMatcher matches a listener hostname in the TLS handshake. Kengine's sni matcher, like its
// host matcher, treats "*" as exactly one label, so wildcards use a regexp.
func sniMatcher(h string) *kengine.TLSHandshakeMatch {
	if strings.HasPrefix(h, "*.") {
		return &kengine.TLSHandshakeMatch{SNIRegexp: &kengine.RegexpMatcher{Pattern: `(?i)^.+\.` + regexp.QuoteMeta(h[2:]) + `$`}}
	}
	return &kengine.TLSHandshakeMatch{SNI: []string{h}}
}

func notFoundRoute() kengine.Route { return staticRoute(http.StatusNotFound) }

func staticRoute(status int) kengine.Route {
	return kengine.Route{Handle: []kengine.Handler{kengine.StaticResponse{StatusCode: kengine.WeakString(strconv.Itoa(status))}}, Terminal: true}
}

// rule renders one match of one route rule: its matcher, its filters in order, and the
// terminal handler (redirect, proxy, or a failure status).
func (r *renderer) rule(rule *RouteRule) kengine.Route {
	route := kengine.Route{Terminal: true}
	ms, any, err := matcherFor(rule.Match)
	r.keep(err)
	if any {
		route.Match = []kengine.MatcherSet{ms}
	}
	handlers, proxyHeaders, redirected, err := filterHandlers(rule)
	r.keep(err)
	route.Handle = handlers
	if redirected {
		return route
	}
	route.Handle = append(route.Handle, r.backendHandler(rule.Backends, proxyHeaders))
	return route
}

// keep records the first error of a value that could not be written for Kengine. Translate
// already refused every such value with the same functions, so an error here is a bug, and it
// fails the render rather than change a value's meaning.
func (r *renderer) keep(err error) {
	if err != nil && r.err == nil {
		r.err = err
	}
}

// filterHandlers renders a rule's filters (and a single backend's own, which behave exactly
// like rule filters) in order. redirected is true when a redirect ends the route; headers are
// what the proxy must set upstream (a rewritten Host). Translate calls it to validate a rule,
// so a value it accepts is a value render can write.
func filterHandlers(rule *RouteRule) (handlers []kengine.Handler, proxyHeaders *kengine.ReverseProxyHeaders, redirected bool, err error) {
	filters := rule.Filters
	if len(rule.Backends) == 1 {
		filters = append(append([]gatewayv1.HTTPRouteFilter{}, filters...), rule.Backends[0].Filters...)
	}
	for _, f := range filters {
		switch f.Type {
		case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
			ops, err := headerOps(f.RequestHeaderModifier)
			if err != nil {
				return nil, nil, false, err
			}
			handlers = append(handlers, kengine.Headers{Request: ops})
		case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
			ops, err := headerOps(f.ResponseHeaderModifier)
			if err != nil {
				return nil, nil, false, err
			}
			handlers = append(handlers, kengine.Headers{Response: &kengine.RespHeaderOps{HeaderOps: ops, Deferred: true}})
		case gatewayv1.HTTPRouteFilterRequestRedirect:
			hs, err := redirectHandlers(rule, f.RequestRedirect)
			if err != nil {
				return nil, nil, false, err
			}
			return append(handlers, hs...), nil, true, nil
		case gatewayv1.HTTPRouteFilterURLRewrite:
			rw, err := pathRewrite(rule.Match, f.URLRewrite.Path)
			if err != nil {
				return nil, nil, false, err
			}
			if rw != nil {
				handlers = append(handlers, *rw)
			}
			if f.URLRewrite.Hostname != nil {
				host, err := kengine.EscapeHeaderValue(string(*f.URLRewrite.Hostname))
				if err != nil {
					return nil, nil, false, fmt.Errorf("urlRewrite hostname: %w", err)
				}
				proxyHeaders = &kengine.ReverseProxyHeaders{Request: &kengine.HeaderOps{Set: map[string][]string{"Host": {host}}}}
			}
		}
	}
	return handlers, proxyHeaders, false, nil
}

// matcherFor renders a match; any is false when the match admits every request.
func matcherFor(m gatewayv1.HTTPRouteMatch) (ms kengine.MatcherSet, any bool, err error) {
	value := *m.Path.Value
	switch *m.Path.Type {
	case gatewayv1.PathMatchExact:
		ms.PathRegexp = &kengine.RegexpMatcher{Pattern: "^" + regexp.QuoteMeta(value) + "$"}
	case gatewayv1.PathMatchPathPrefix:
		// Prefixes match whole segments: "/foo" admits "/foo" and "/foo/bar", not "/foobar".
		if trimmed := strings.TrimSuffix(value, "/"); trimmed != "" {
			ms.PathRegexp = &kengine.RegexpMatcher{Pattern: "^" + regexp.QuoteMeta(trimmed) + "(/.*)?$"}
		}
	case gatewayv1.PathMatchRegularExpression:
		ms.PathRegexp = &kengine.RegexpMatcher{Pattern: wholeValuePattern(value)}
	}
	any = ms.PathRegexp != nil
	for _, h := range m.Headers {
		name := http.CanonicalHeaderKey(string(h.Name))
		if ms.HeaderRegexp == nil {
			ms.HeaderRegexp = map[string]*kengine.RegexpMatcher{}
		}
		if _, dup := ms.HeaderRegexp[name]; dup {
			continue // the spec ignores every match after the first for one header name
		}
		pattern := "^" + regexp.QuoteMeta(h.Value) + "$"
		if h.Type != nil && *h.Type == gatewayv1.HeaderMatchRegularExpression {
			pattern = wholeValuePattern(h.Value)
		}
		ms.HeaderRegexp[name] = &kengine.RegexpMatcher{Pattern: pattern}
		any = true
	}
	for _, q := range m.QueryParams {
		name, err := kengine.EscapeQueryName(string(q.Name))
		if err != nil {
			return ms, false, err
		}
		value, err := kengine.EscapeQueryValue(q.Value)
		if err != nil {
			return ms, false, err
		}
		if ms.Query == nil {
			ms.Query = map[string][]string{}
		}
		if _, dup := ms.Query[name]; dup {
			continue
		}
		ms.Query[name] = []string{value}
		any = true
	}
	if m.Method != nil {
		ms.Method = []string{string(*m.Method)}
		any = true
	}
	return ms, any, nil
}

// headerOps renders a header filter; every name and value goes through the escaper of its
// context, so that it keeps its literal meaning (no placeholder, no wildcard).
func headerOps(f *gatewayv1.HTTPHeaderFilter) (*kengine.HeaderOps, error) {
	ops := &kengine.HeaderOps{}
	for _, h := range f.Set {
		name, value, err := escapeHeader(h)
		if err != nil {
			return nil, err
		}
		if ops.Set == nil {
			ops.Set = map[string][]string{}
		}
		ops.Set[name] = []string{value}
	}
	for _, h := range f.Add {
		name, value, err := escapeHeader(h)
		if err != nil {
			return nil, err
		}
		if ops.Add == nil {
			ops.Add = map[string][]string{}
		}
		ops.Add[name] = append(ops.Add[name], value)
	}
	for _, n := range f.Remove {
		name, err := kengine.EscapeDeletedHeaderName(n)
		if err != nil {
			return nil, err
		}
		ops.Delete = append(ops.Delete, name)
	}
	return ops, nil
}

func escapeHeader(h gatewayv1.HTTPHeader) (name, value string, err error) {
	if name, err = kengine.EscapeHeaderName(string(h.Name)); err != nil {
		return "", "", err
	}
	if value, err = kengine.EscapeHeaderValue(h.Value); err != nil {
		return "", "", err
	}
	return name, value, nil
}

// pathRewrite renders an HTTPPathModifier as a path_regexp rewrite, which changes only the
// path (the query string stays) and sends the new path as written, with what a path cannot
// carry percent-encoded (kengine.PathToWire).
func pathRewrite(match gatewayv1.HTTPRouteMatch, p *gatewayv1.HTTPPathModifier) (*kengine.Rewrite, error) {
	if p == nil {
		return nil, nil
	}
	switch p.Type {
	case gatewayv1.FullPathHTTPPathModifier:
		if p.ReplaceFullPath == nil {
			return nil, nil
		}
		full, err := kengine.EscapePathRegexpReplacement(kengine.PathToWire(*p.ReplaceFullPath))
		if err != nil {
			return nil, fmt.Errorf("replaceFullPath: %w", err)
		}
		return &kengine.Rewrite{PathRegexp: []kengine.RegexReplacement{{Find: "^.*$", Replace: full}}}, nil
	case gatewayv1.PrefixMatchHTTPPathModifier:
		if p.ReplacePrefixMatch == nil || *match.Path.Type != gatewayv1.PathMatchPathPrefix {
			return nil, nil
		}
		prefix := strings.TrimSuffix(*match.Path.Value, "/")
		replacement, err := kengine.EscapePathRegexpReplacement(kengine.PathToWire(strings.TrimSuffix(*p.ReplacePrefixMatch, "/")))
		if err != nil {
			return nil, fmt.Errorf("replacePrefixMatch: %w", err)
		}
		// "/prefix" + rest becomes replacement + rest; rest is empty or starts with "/". An
		// empty result is the root path.
		return &kengine.Rewrite{PathRegexp: []kengine.RegexReplacement{
			{Find: "^" + regexp.QuoteMeta(prefix) + "(/.*)?$", Replace: replacement + "$1"},
			{Find: "^$", Replace: "/"},
		}}, nil
	}
	return nil, nil
}

// redirectHandlers renders a RequestRedirect: an optional path rewrite, then a response whose
// Location is built from the rewritten URI. Ports follow the spec: an explicit port, else the
// scheme's well-known port when the scheme is set, else the listener's port; the port is left
// out when it is the scheme's default.
func redirectHandlers(rule *RouteRule, f *gatewayv1.HTTPRequestRedirectFilter) ([]kengine.Handler, error) {
	var out []kengine.Handler
	rw, err := pathRewrite(rule.Match, f.Path)
	if err != nil {
		return nil, err
	}
	if rw != nil {
		out = append(out, *rw)
	}
	scheme := "http"
	if rule.ListenerTLS {
		scheme = "https"
	}
	port := rule.ListenerPort
	if f.Scheme != nil {
		scheme = *f.Scheme
		switch scheme {
		case "http":
			port = 80
		case "https":
			port = 443
		}
	}
	if f.Port != nil {
		port = int32(*f.Port)
	}
	host := "{http.request.host}"
	if f.Hostname != nil {
		if host, err = kengine.EscapeHeaderValue(string(*f.Hostname)); err != nil {
			return nil, fmt.Errorf("requestRedirect hostname: %w", err)
		}
	}
	if scheme, err = kengine.EscapeHeaderValue(scheme); err != nil {
		return nil, fmt.Errorf("requestRedirect scheme: %w", err)
	}
	location := scheme + "://" + host
	if !(scheme == "http" && port == 80) && !(scheme == "https" && port == 443) {
		location += ":" + strconv.Itoa(int(port))
	}
	location += "{http.request.uri}"
	status := http.StatusFound
	if f.StatusCode != nil {
		status = *f.StatusCode
	}
	return append(out, kengine.StaticResponse{
		StatusCode: kengine.WeakString(strconv.Itoa(status)),
		Headers:    map[string][]string{"Location": {location}},
	}), nil
}

// backendHandler forwards to the rule's backends by weight. Shares that cannot be served go to
// a loopback server that answers the failure status, so each share keeps its exact weight.
func (r *renderer) backendHandler(backends []Backend, headers *kengine.ReverseProxyHeaders) kengine.Handler {
	type group struct {
		weight int
		dials  []string
	}
	var groups []group
	failures := map[int]int{}
	for _, b := range backends {
		if b.Weight <= 0 {
			continue
		}
		if b.FailureStatus != 0 {
			failures[b.FailureStatus] += int(b.Weight)
			continue
		}
		groups = append(groups, group{weight: int(b.Weight), dials: b.Endpoints})
	}
	statuses := make([]int, 0, len(failures))
	for s := range failures {
		statuses = append(statuses, s)
	}
	sort.Ints(statuses)
	if len(groups) == 0 {
		if len(statuses) == 1 && statuses[0] != 0 {
			return kengine.StaticResponse{StatusCode: kengine.WeakString(strconv.Itoa(statuses[0]))}
		}
		if len(statuses) == 0 {
			// No backendRefs, or every weight is zero: nothing may receive the request.
			return kengine.StaticResponse{StatusCode: "500"}
		}
	}
	if r.failurePorts == nil {
		r.failurePorts = map[int]bool{}
	}
	for _, s := range statuses {
		r.failurePorts[s] = true
		groups = append(groups, group{weight: failures[s], dials: []string{fmt.Sprintf("127.0.0.1:%d", r.failurePort(s))}})
	}
	var dials [][]string
	var shares []int
	for _, g := range groups {
		dials = append(dials, g.dials)
		shares = append(shares, g.weight)
	}
	ups, weights := splitWeights(dials, shares)
	proxy := kengine.ReverseProxy{Upstreams: ups, Headers: headers}
	if len(ups) > 1 {
		proxy.LoadBalancing = &kengine.LoadBalancing{SelectionPolicy: &kengine.SelectionPolicy{Policy: "weighted_round_robin", Weights: weights}}
	}
	return proxy
}

// maxExactScale bounds the common multiple used to split group weights exactly over their
// endpoints; beyond it the split is rounded, which is still within a tenth of a percent.
const maxExactScale = 1000

// splitWeights spreads each group's weight evenly over its endpoints and returns one upstream
// per endpoint with integer weights in the same proportions, reduced by their common divisor.
func splitWeights(dials [][]string, shares []int) ([]kengine.Upstream, []int) {
	scale := 1
	for _, d := range dials {
		scale = lcm(scale, len(d))
		if scale > maxExactScale {
			scale = 0
			break
		}
	}
	var ups []kengine.Upstream
	var weights []int
	for i, d := range dials {
		for _, dial := range d {
			var w int
			if scale > 0 {
				w = shares[i] * scale / len(d)
			} else {
				w = (shares[i]*maxExactScale + len(d)/2) / len(d)
				if w == 0 {
					w = 1
				}
			}
			ups = append(ups, kengine.Upstream{Dial: dial})
			weights = append(weights, w)
		}
	}
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	if g > 1 {
		for i := range weights {
			weights[i] /= g
		}
	}
	return ups, weights
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int) int {
	if a == 0 || b == 0 {
		return a + b
	}
	return a / gcd(a, b) * b
}
