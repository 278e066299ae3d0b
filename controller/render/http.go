package render

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// httpServer renders one HTTP port: a route per listener (most specific hostname first), each
// holding a route per virtual host, each holding the routes in precedence order. A request is
// thus compared with a few hostnames and then with one host's routes only.
func (r *renderer) httpServer(srv *ir.HTTPServer) *kengine.Server {
	out := &kengine.Server{
		Listen:         []string{r.listenAddress(srv.Port)},
		AutomaticHTTPS: &kengine.AutomaticHTTPS{Disable: true},
		Protocols:      []string{"h1", "h2c"},
	}
	if srv.TLS {
		out.Protocols = []string{"h1", "h2"}
		// Kengine's own check (on by default once a policy asks for client certificates)
		// wants the Host to equal the server name, which refuses a wildcard listener's other
		// hosts; misdirectedRoute compares the listeners the two select instead.
		out.StrictSNIHost = new(bool)
	}
	for i, l := range srv.Listeners {
		vhostRoutes := make([]kengine.Route, 0, len(l.VirtualHosts)+2)
		if srv.TLS {
			if mr, ok := misdirectedRoute(srv.Listeners, i); ok {
				vhostRoutes = append(vhostRoutes, mr)
			}
		}
		for _, vh := range l.VirtualHosts {
			vr := kengine.Route{Handle: []kengine.Handler{r.virtualHostHandler(vh)}, Terminal: true}
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
			p, err := connectionPolicy(l.TLS)
			if err != nil {
				r.keep(fmt.Errorf("listener %s: %w", l.Name, err))
			}
			if l.Hostname != "" {
				p.Match = sniMatcher(l.Hostname)
			}
			out.TLSConnectionPolicies = append(out.TLSConnectionPolicies, p)
		}
	}
	out.Routes = append(out.Routes, notFoundRoute())
	return out
}

// httpRoute renders one route: its matcher, its filters in order, and the handler of its
// action (a redirect, a fixed response, or forwarding to its backends).
func (r *renderer) httpRoute(rt *ir.HTTPRoute) kengine.Route {
	route := kengine.Route{Terminal: true}
	ms, restricted, err := matcherFor(rt.Match)
	r.keep(sourceError(rt.Source, err))
	if restricted {
		route.Match = []kengine.MatcherSet{ms}
	}
	handlers, proxyHeaders, err := filterHandlers(rt.Filters)
	r.keep(sourceError(rt.Source, err))
	switch {
	case rt.Redirect != nil:
		hs, err := redirectHandlers(rt.Redirect)
		r.keep(sourceError(rt.Source, err))
		handlers = append(handlers, hs...)
	case rt.Response != nil:
		if err := checkStatus(rt.Response.StatusCode); err != nil {
			r.keep(sourceError(rt.Source, fmt.Errorf("direct response: %w", err)))
		}
		handlers = append(handlers, staticResponse(rt.Response.StatusCode))
	default:
		h, err := r.forwardHandler(rt, proxyHeaders)
		r.keep(sourceError(rt.Source, err))
		handlers = append(handlers, h)
	}
	route.Handle = handlers
	return route
}

// checkStatus refuses a status an HTTP response cannot carry.
func checkStatus(status int) error {
	if status < 100 || status > 999 {
		return fmt.Errorf("status %d is not an HTTP status code", status)
	}
	return nil
}

// hostMatcher matches a hostname of the model. Kengine's host matcher treats "*" as exactly one
// label, while a model wildcard covers one or more, so wildcards use a regexp on Host.
func hostMatcher(h string) kengine.MatcherSet {
	if strings.HasPrefix(h, "*.") {
		pattern := `(?i)^[^:]+\.` + regexp.QuoteMeta(h[2:]) + `(:[0-9]+)?$`
		return kengine.MatcherSet{HeaderRegexp: map[string]*kengine.RegexpMatcher{"Host": {Pattern: pattern}}}
	}
	return kengine.MatcherSet{Host: []string{h}}
}

// sniMatcher matches a hostname in the TLS handshake. Kengine's sni matcher, like its host
// matcher, treats "*" as exactly one label, so wildcards use a regexp.
func sniMatcher(h string) *kengine.TLSHandshakeMatch {
	if strings.HasPrefix(h, "*.") {
		return &kengine.TLSHandshakeMatch{SNIRegexp: &kengine.RegexpMatcher{Pattern: sniPattern(h)}}
	}
	return &kengine.TLSHandshakeMatch{SNI: []string{h}}
}

// sniPattern is the regular expression a server name matches when it selects the listener
// hostname h (not ""): the name itself, or one or more labels before a wildcard's suffix,
// in any case, as Kengine's sni matcher compares.
func sniPattern(h string) string {
	if strings.HasPrefix(h, "*.") {
		return `(?i)^.+\.` + regexp.QuoteMeta(h[2:]) + `$`
	}
	return `(?i)^` + regexp.QuoteMeta(h) + `$`
}

// serverNamePlaceholder is the connection's TLS server name (SNI), "" when the client sent
// none.
const serverNamePlaceholder = "{http.request.tls.server_name}"

// misdirectedRoute answers 421 to the requests that reached listener i by their Host but
// whose connection's server name selected another listener of the port (and so another
// connection policy: certificate and client validation). The connection policies are tried
// in listener order, like the Host routes, so the server name selects listener i when it
// matches i's hostname and no earlier one; a connection without a server name gets the
// policy of the listener without a hostname. ok is false when no request can be misdirected
// to the listener: it is alone on the port.
func misdirectedRoute(listeners []*ir.HTTPListener, i int) (route kengine.Route, ok bool) {
	if len(listeners) < 2 {
		return route, false
	}
	var sets []kengine.MatcherSet
	for _, earlier := range listeners[:i] {
		if earlier.Hostname == "" {
			continue
		}
		sets = append(sets, kengine.MatcherSet{VarsRegexp: map[string]*kengine.RegexpMatcher{
			serverNamePlaceholder: {Pattern: sniPattern(earlier.Hostname)},
		}})
	}
	if h := listeners[i].Hostname; h != "" {
		sets = append(sets, kengine.MatcherSet{Not: []kengine.MatcherSet{{VarsRegexp: map[string]*kengine.RegexpMatcher{
			serverNamePlaceholder: {Pattern: sniPattern(h)},
		}}}})
	}
	if len(sets) == 0 {
		return route, false
	}
	return kengine.Route{Match: sets, Handle: []kengine.Handler{staticResponse(http.StatusMisdirectedRequest)}, Terminal: true}, true
}

// connectionPolicy renders how a listener terminates TLS: the certificates it may present
// and, with client validation, the authorities client certificates must chain to. The
// caller adds the SNI match. The policy selects by tag even without tags, as it always did.
func connectionPolicy(t *ir.ListenerTLS) (kengine.TLSConnectionPolicy, error) {
	p := kengine.TLSConnectionPolicy{CertificateSelection: &kengine.CertSelection{}}
	if t == nil {
		return p, nil
	}
	p.CertificateSelection.AnyTag = t.CertificateTags
	if cv := t.ClientValidation; cv != nil {
		pool, err := inlineCAPool(cv.CACertificates)
		if err != nil {
			return p, fmt.Errorf("client validation: %w", err)
		}
		var mode string
		switch cv.Mode {
		case ir.ClientCertRequired:
			mode = "require_and_verify"
		case ir.ClientCertUnverified:
			// Go's RequestClientCert: the CAs are named in the request, nothing is checked.
			mode = "request"
		default:
			return p, fmt.Errorf("client validation: unknown mode %q", cv.Mode)
		}
		p.ClientAuthentication = &kengine.ClientAuthentication{CA: pool, Mode: mode}
	}
	return p, nil
}
