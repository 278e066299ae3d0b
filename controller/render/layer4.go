package render

import (
	"fmt"
	"strings"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// layer4 renders the TLS, TCP and UDP servers as the layer4 app, but for the TLS ports in
// wrapped, which an HTTPS server's listener wrapper serves; nil when no server is left, so
// that a Kengine without the layer4 module still runs the HTTP config.
func (r *renderer) layer4(gw *ir.Gateway, wrapped map[int]bool) *kengine.Layer4App {
	servers := make(map[string]*kengine.Layer4Server, len(gw.TLS)+len(gw.TCP)+len(gw.UDP))
	for _, s := range gw.TLS {
		if !wrapped[s.Port] {
			servers[fmt.Sprintf("gateway-tls-%d", s.Port)] = r.tlsServer(s)
		}
	}
	for _, s := range gw.TCP {
		servers[fmt.Sprintf("gateway-tcp-%d", s.Port)] = r.streamServer(s, "")
	}
	for _, s := range gw.UDP {
		servers[fmt.Sprintf("gateway-udp-%d", s.Port)] = r.streamServer(s, "udp/")
	}
	if len(servers) == 0 {
		return nil
	}
	return &kengine.Layer4App{Servers: servers}
}

// tlsServerOn is the model's TLS server on port; nil when there is none.
func tlsServerOn(gw *ir.Gateway, port int) *ir.TLSServer {
	for _, s := range gw.TLS {
		if s.Port == port {
			return s
		}
	}
	return nil
}

// sniWrapper serves a TLS port that an HTTPS server shares (TLS and HTTPS listeners on one
// port): the layer4 listener wrapper runs the TLS server's SNI routes on each connection
// before the HTTP server's own TLS, and a connection none of them takes continues to the
// HTTPS server, which keeps HTTP/2 and everything else. A TLS route must not take a name an
// HTTPS listener of the port owns more specifically than the route's own hostname (the
// listener isolation of the model), so such names are excluded from its match.
func (r *renderer) sniWrapper(s *ir.TLSServer, https *ir.HTTPServer) kengine.Layer4ListenerWrapper {
	routes := r.tlsServer(s).Routes
	ordered := orderedTLSRoutes(s)
	for i, rt := range ordered {
		var not []kengine.Layer4MatcherSet
		for _, l := range https.Listeners {
			if moreSpecificWithin(l.Hostname, rt.Hostname) {
				not = append(not, kengine.Layer4MatcherSet{TLS: sniMatcher(l.Hostname)})
			}
		}
		if len(not) > 0 {
			routes[i].Match[0].Not = not
		}
	}
	return kengine.Layer4ListenerWrapper{Routes: routes}
}

// moreSpecificWithin reports whether every name host admits is admitted by pattern, and host
// is the more specific of the two ("" admits every name; "*.example.com" admits names with
// one or more labels before ".example.com").
func moreSpecificWithin(host, pattern string) bool {
	switch {
	case host == "" || host == pattern:
		return false
	case pattern == "":
		return true
	case strings.HasPrefix(pattern, "*."):
		suffix := pattern[1:] // ".example.com"
		name := strings.TrimPrefix(host, "*")
		return strings.HasSuffix(name, suffix) && len(name) > len(suffix)
	}
	return false
}

// tlsServer renders a port whose TLS connections are routed by SNI: a route per hostname, the
// catch-all ("") last. A route either passes the connection through or terminates TLS first.
//
// A layer4 route whose handlers all hand the connection on (or that has none) does not end
// the routing: the next matching route runs too. So a route with no usable backend must not
// be left without handlers, or its connections would reach a less specific route's backends;
// it closes the connection (caddy-l4's "close" handler), so the client sees it end rather than
// a TLS alert, as for a name nobody serves.
func (r *renderer) tlsServer(s *ir.TLSServer) *kengine.Layer4Server {
	out := &kengine.Layer4Server{Listen: []string{r.listenAddress(s.Port)}}
	for _, rt := range orderedTLSRoutes(s) {
		// Even the catch-all requires a ClientHello: what is not TLS is not forwarded.
		match := &kengine.TLSHandshakeMatch{}
		if rt.Hostname != "" {
			match = sniMatcher(rt.Hostname)
		}
		route := kengine.Layer4Route{Match: []kengine.Layer4MatcherSet{{TLS: match}}}
		proxy, ok, err := layer4Proxy(rt.Backends, "")
		r.keep(sourceError(rt.Source, err))
		switch {
		case !ok:
			route.Handle = []kengine.Layer4Handler{kengine.Layer4Close{}}
		case rt.Terminate != nil:
			p, err := connectionPolicy(rt.Terminate)
			r.keep(sourceError(rt.Source, err))
			// Offer no application protocol: the stream goes to a backend whose protocol
			// render does not know, and Kengine's default would make clients pick h2.
			p.ALPN = []string{}
			route.Handle = []kengine.Layer4Handler{kengine.Layer4TLS{ConnectionPolicies: []kengine.TLSConnectionPolicy{p}}, proxy}
		default:
			route.Handle = []kengine.Layer4Handler{proxy}
		}
		out.Routes = append(out.Routes, route)
	}
	return out
}

// orderedTLSRoutes are a TLS server's routes in the order they are rendered: the catch-all
// ("") last, each route rendered as one layer4 route with one matcher set.
func orderedTLSRoutes(s *ir.TLSServer) []*ir.TLSRoute {
	ordered := make([]*ir.TLSRoute, 0, len(s.Routes))
	for _, rt := range s.Routes {
		if rt.Hostname != "" {
			ordered = append(ordered, rt)
		}
	}
	for _, rt := range s.Routes {
		if rt.Hostname == "" {
			ordered = append(ordered, rt)
		}
	}
	return ordered
}

// streamServer renders a TCP (network "") or UDP (network "udp/") port forwarded to its
// backends. Without a usable backend it has no route, and every connection is closed.
func (r *renderer) streamServer(s *ir.StreamServer, network string) *kengine.Layer4Server {
	out := &kengine.Layer4Server{Listen: []string{network + r.listenAddress(s.Port)}}
	proxy, ok, err := layer4Proxy(s.Backends, network)
	r.keep(sourceError(s.Source, err))
	if ok {
		out.Routes = []kengine.Layer4Route{{Handle: []kengine.Layer4Handler{proxy}}}
	}
	return out
}

// layer4Proxy forwards connections to the backends by weight, one upstream per endpoint (an
// upstream with several dial addresses would connect to all of them at once). Failed
// backends are left out: a connection cannot be answered with a status. ok is false when no
// endpoint is left. Protocol is not consulted: a stream proxy forwards bytes.
func layer4Proxy(backends []ir.Backend, network string) (proxy kengine.Layer4Proxy, ok bool, err error) {
	var dials [][]string
	var shares []int
	var tls []*kengine.TransportTLS
	for _, b := range backends {
		if b.Weight <= 0 || b.Failure != 0 || len(b.Endpoints) == 0 {
			continue
		}
		var t *kengine.TransportTLS
		if b.TLS != nil {
			if t, err = transportTLS(b.TLS); err != nil {
				return proxy, false, fmt.Errorf("backend %s: %w", b.Name, err)
			}
		}
		dials = append(dials, b.Endpoints)
		shares = append(shares, int(b.Weight))
		tls = append(tls, t)
	}
	if len(dials) == 0 {
		return proxy, false, nil
	}
	addrs, weights := splitWeights(dials, shares)
	proxy.Upstreams = make([]kengine.Layer4Upstream, 0, len(addrs))
	i := 0
	for g, d := range dials {
		for range d {
			proxy.Upstreams = append(proxy.Upstreams, kengine.Layer4Upstream{Dial: []string{network + addrs[i]}, TLS: tls[g]})
			i++
		}
	}
	if len(proxy.Upstreams) > 1 {
		for i := range proxy.Upstreams {
			proxy.Upstreams[i].Weight = weights[i]
		}
		proxy.LoadBalancing = &kengine.Layer4LoadBalancing{Selection: &kengine.Layer4SelectionPolicy{Policy: "weighted_round_robin"}}
	}
	return proxy, true, nil
}
