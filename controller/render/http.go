package render

import (
	"fmt"
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
	}
	for _, l := range srv.Listeners {
		vhostRoutes := make([]kengine.Route, 0, len(l.VirtualHosts)+1)
		for _, vh := range l.VirtualHosts {
			routes := make([]kengine.Route, 0, len(vh.Routes)+1)
			for _, rt := range vh.Routes {
				routes = append(routes, r.httpRoute(rt))
			}
			routes = append(routes, notFoundRoute())
			vr := kengine.Route{Handle: []kengine.Handler{kengine.Subroute{Routes: routes}}, Terminal: true}
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
		return &kengine.TLSHandshakeMatch{SNIRegexp: &kengine.RegexpMatcher{Pattern: `(?i)^.+\.` + regexp.QuoteMeta(h[2:]) + `$`}}
	}
	return &kengine.TLSHandshakeMatch{SNI: []string{h}}
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
		mode := "require_and_verify"
		if cv.Optional {
			mode = "verify_if_given"
		}
		p.ClientAuthentication = &kengine.ClientAuthentication{CA: pool, Mode: mode}
	}
	return p, nil
}
