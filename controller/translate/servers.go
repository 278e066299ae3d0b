package translate

import (
	"sort"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
)

// vhost is translate's working state for the routes of one hostname on one listener.
type vhost struct {
	hostname string
	rules    []placedRule
}

// vhost returns the listener's virtual host for a hostname, creating it on first use.
func (l *listener) vhost(hostname string) *vhost {
	vh := l.vhosts[hostname]
	if vh == nil {
		vh = &vhost{hostname: hostname}
		l.vhosts[hostname] = vh
	}
	return vh
}

// placedRule is a model route placed on a host, with the key that orders it there: key for
// an HTTPRoute rule, grpc for a GRPCRoute rule (exactly one is set).
type placedRule struct {
	route *ir.HTTPRoute
	key   *precedence
	grpc  *grpcPrecedence
}

// less orders the rules of one host by the precedence of their kind. The two kinds never share
// a host (settleKindConflicts keeps them apart); were they to, GRPCRoute rules, which match
// only gRPC paths, would go before HTTPRoute rules, whose catch-alls would otherwise take
// every gRPC call.
func (a placedRule) less(b placedRule) bool {
	switch {
	case a.grpc != nil && b.grpc != nil:
		return a.grpc.less(b.grpc)
	case a.grpc != nil || b.grpc != nil:
		return a.grpc != nil
	}
	return a.key.less(b.key)
}

// buildServers groups the served listeners by port and orders listeners, virtual hosts and
// routes for first-match evaluation.
func (t *translator) buildServers(listeners []*listener) {
	byPort := map[int]*ir.HTTPServer{}
	for _, l := range listeners {
		if !l.served || (l.spec.Protocol != gatewayv1.HTTPProtocolType && l.spec.Protocol != gatewayv1.HTTPSProtocolType) {
			continue
		}
		port := int(l.spec.Port)
		srv := byPort[port]
		if srv == nil {
			srv = &ir.HTTPServer{Port: port, TLS: l.spec.Protocol == gatewayv1.HTTPSProtocolType}
			byPort[port] = srv
			t.out.HTTP = append(t.out.HTTP, srv)
		}
		il := &ir.HTTPListener{Name: l.modelName(), Hostname: hostnameOf(l.spec.Hostname), TLS: l.tls}
		for _, vh := range l.vhosts {
			sort.SliceStable(vh.rules, func(i, j int) bool { return vh.rules[i].less(vh.rules[j]) })
			routes := make([]*ir.HTTPRoute, len(vh.rules))
			for i, pr := range vh.rules {
				routes[i] = pr.route
			}
			il.VirtualHosts = append(il.VirtualHosts, &ir.VirtualHost{Hostname: vh.hostname, Routes: routes})
		}
		sort.Slice(il.VirtualHosts, func(i, j int) bool {
			return hostnameLess(il.VirtualHosts[i].Hostname, il.VirtualHosts[j].Hostname)
		})
		srv.Listeners = append(srv.Listeners, il)
	}
	sort.Slice(t.out.HTTP, func(i, j int) bool { return t.out.HTTP[i].Port < t.out.HTTP[j].Port })
	for _, srv := range t.out.HTTP {
		sort.SliceStable(srv.Listeners, func(i, j int) bool {
			return hostnameLess(srv.Listeners[i].Hostname, srv.Listeners[j].Hostname)
		})
	}
}
