package controller

import (
	"sort"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// sortRules orders a virtual host's rules by the HTTPRoute match precedence of the Gateway API:
// Exact path, then the longest prefix (regular expressions after prefixes, longest first, which
// the spec leaves to implementations), then a method match, then the most header matches, then
// the most query parameter matches; ties go to the oldest route, then to the route first by
// "namespace/name", then to the first rule and match in list order.
func sortRules(rules []*RouteRule) {
	sort.SliceStable(rules, func(i, j int) bool { return ruleLess(rules[i], rules[j]) })
}

func ruleLess(a, b *RouteRule) bool {
	if ra, rb := pathRank(a.Match), pathRank(b.Match); ra != rb {
		return ra < rb
	}
	if la, lb := len(*a.Match.Path.Value), len(*b.Match.Path.Value); la != lb {
		return la > lb
	}
	if ma, mb := a.Match.Method != nil, b.Match.Method != nil; ma != mb {
		return ma
	}
	if ha, hb := len(a.Match.Headers), len(b.Match.Headers); ha != hb {
		return ha > hb
	}
	if qa, qb := len(a.Match.QueryParams), len(b.Match.QueryParams); qa != qb {
		return qa > qb
	}
	if !a.created.Equal(&b.created) {
		return a.created.Before(&b.created)
	}
	if a.Route != b.Route {
		if a.Route.Namespace != b.Route.Namespace {
			return a.Route.Namespace < b.Route.Namespace
		}
		return a.Route.Name < b.Route.Name
	}
	if a.RuleIndex != b.RuleIndex {
		return a.RuleIndex < b.RuleIndex
	}
	return a.MatchIndex < b.MatchIndex
}

func pathRank(m gatewayv1.HTTPRouteMatch) int {
	switch *m.Path.Type {
	case gatewayv1.PathMatchExact:
		return 0
	case gatewayv1.PathMatchPathPrefix:
		return 1
	}
	return 2
}

// buildServers groups the served listeners by port and orders listeners, virtual hosts and
// rules for first-match evaluation.
func buildServers(m *Model, listeners []*listener) {
	byPort := map[int32]*ServerModel{}
	for _, l := range listeners {
		if !l.served {
			continue
		}
		port := int32(l.spec.Port)
		srv := byPort[port]
		if srv == nil {
			srv = &ServerModel{Port: port, TLS: l.spec.Protocol == gatewayv1.HTTPSProtocolType}
			byPort[port] = srv
			m.Servers = append(m.Servers, srv)
		}
		lm := l.model
		lm.VirtualHosts = lm.VirtualHosts[:0]
		for _, vh := range l.vhosts {
			sortRules(vh.Rules)
			lm.VirtualHosts = append(lm.VirtualHosts, vh)
		}
		sort.Slice(lm.VirtualHosts, func(i, j int) bool {
			return hostnameLess(lm.VirtualHosts[i].Hostname, lm.VirtualHosts[j].Hostname)
		})
		srv.Listeners = append(srv.Listeners, lm)
	}
	sort.Slice(m.Servers, func(i, j int) bool { return m.Servers[i].Port < m.Servers[j].Port })
	for _, srv := range m.Servers {
		sort.SliceStable(srv.Listeners, func(i, j int) bool {
			return hostnameLess(srv.Listeners[i].Hostname, srv.Listeners[j].Hostname)
		})
	}
}
