package render

import (
	"fmt"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// layer4 renders the TLS, TCP and UDP servers as the layer4 app; nil when there are none, so
// that a Kengine without the layer4 module still runs the HTTP config.
func (r *renderer) layer4(gw *ir.Gateway) *kengine.Layer4App {
	if len(gw.TLS)+len(gw.TCP)+len(gw.UDP) == 0 {
		return nil
	}
	servers := make(map[string]*kengine.Layer4Server, len(gw.TLS)+len(gw.TCP)+len(gw.UDP))
	for _, s := range gw.TLS {
		servers[fmt.Sprintf("gateway-tls-%d", s.Port)] = r.tlsServer(s)
	}
	for _, s := range gw.TCP {
		servers[fmt.Sprintf("gateway-tcp-%d", s.Port)] = r.streamServer(s, "")
	}
	for _, s := range gw.UDP {
		servers[fmt.Sprintf("gateway-udp-%d", s.Port)] = r.streamServer(s, "udp/")
	}
	return &kengine.Layer4App{Servers: servers}
}

// tlsServer renders a port whose TLS connections are routed by SNI: a route per hostname, the
// catch-all ("") last. A route either passes the connection through or terminates TLS first.
//
// A layer4 route whose handlers all hand the connection on (or that has none) does not end
// the routing: the next matching route runs too. So a route with no usable backend must not
// be left without handlers, or its connections would reach a less specific route's backends;
// it ends with a TLS handshake that its only policy drops, which closes the connection.
func (r *renderer) tlsServer(s *ir.TLSServer) *kengine.Layer4Server {
	out := &kengine.Layer4Server{Listen: []string{r.listenAddress(s.Port)}}
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
	for _, rt := range ordered {
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
			route.Handle = []kengine.Layer4Handler{kengine.Layer4TLS{ConnectionPolicies: []kengine.TLSConnectionPolicy{{Drop: true}}}}
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
