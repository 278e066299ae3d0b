package translate

import (
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/controller/status"
)

// The stream route kinds forward whole connections (TLSRoute, TCPRoute) or UDP sessions
// (UDPRoute) to weighted backends: their rules hold nothing but backendRefs. They share
// attachment, allowedRoutes, ReferenceGrants and backend resolution with the HTTP kinds
// through the route interface; only the model they build differs (ir.TLSServer and
// ir.StreamServer instead of virtual hosts).

// tlsRoute is a TLSRoute seen through the route interface; its hostnames are SNI names.
type tlsRoute struct{ r *gatewayv1.TLSRoute }

func (g tlsRoute) kind() gatewayv1.Kind                    { return KindTLSRoute }
func (g tlsRoute) object() metav1.Object                   { return g.r }
func (g tlsRoute) meta() *metav1.ObjectMeta                { return &g.r.ObjectMeta }
func (g tlsRoute) parentRefs() []gatewayv1.ParentReference { return g.r.Spec.ParentRefs }
func (g tlsRoute) hostnames() []gatewayv1.Hostname         { return g.r.Spec.Hostnames }
func (g tlsRoute) build(t *translator) *builtRoute {
	rules := make([]streamRule, len(g.r.Spec.Rules))
	for i, r := range g.r.Spec.Rules {
		rules[i] = streamRule{name: r.Name, backendRefs: r.BackendRefs}
	}
	out := t.buildStreamRoute(g, rules)
	for _, hn := range g.r.Spec.Hostnames {
		if err := checkSNIHostname(string(hn)); err != nil && out.problem == nil {
			out.problem = &routeCondition{reason: gatewayv1.RouteReasonUnsupportedValue, message: status.Truncate(err.Error())}
		}
	}
	return out
}

// tcpRoute is a TCPRoute seen through the route interface.
type tcpRoute struct{ r *gatewayv1.TCPRoute }

func (g tcpRoute) kind() gatewayv1.Kind                    { return KindTCPRoute }
func (g tcpRoute) object() metav1.Object                   { return g.r }
func (g tcpRoute) meta() *metav1.ObjectMeta                { return &g.r.ObjectMeta }
func (g tcpRoute) parentRefs() []gatewayv1.ParentReference { return g.r.Spec.ParentRefs }
func (g tcpRoute) hostnames() []gatewayv1.Hostname         { return nil }
func (g tcpRoute) build(t *translator) *builtRoute {
	rules := make([]streamRule, len(g.r.Spec.Rules))
	for i, r := range g.r.Spec.Rules {
		rules[i] = streamRule{name: r.Name, backendRefs: r.BackendRefs}
	}
	return t.buildStreamRoute(g, rules)
}

// udpRoute is a UDPRoute seen through the route interface.
type udpRoute struct{ r *gatewayv1.UDPRoute }

func (g udpRoute) kind() gatewayv1.Kind                    { return KindUDPRoute }
func (g udpRoute) object() metav1.Object                   { return g.r }
func (g udpRoute) meta() *metav1.ObjectMeta                { return &g.r.ObjectMeta }
func (g udpRoute) parentRefs() []gatewayv1.ParentReference { return g.r.Spec.ParentRefs }
func (g udpRoute) hostnames() []gatewayv1.Hostname         { return nil }
func (g udpRoute) build(t *translator) *builtRoute {
	rules := make([]streamRule, len(g.r.Spec.Rules))
	for i, r := range g.r.Spec.Rules {
		rules[i] = streamRule{name: r.Name, backendRefs: r.BackendRefs}
	}
	return t.buildStreamRoute(g, rules)
}

// streamRule is the part every stream route kind's rule has.
type streamRule struct {
	name        *gatewayv1.SectionName
	backendRefs []gatewayv1.BackendRef
}

// streamAttachment is a stream route attached to a TLS, TCP or UDP listener.
type streamAttachment struct {
	r route
	// hostnames are the SNI names the route answers on the listener (TLSRoute only).
	hostnames []string
	source    ir.Source
	backends  []ir.Backend
}

// buildStreamRoute resolves a stream route's backends. The kinds allow exactly one rule (the
// CRDs say so); were there more, the first is served and the others are dropped. Backends
// that do not resolve stay in the model as failures, which render leaves out, so their
// connections are refused, and ResolvedRefs names the first of them.
func (t *translator) buildStreamRoute(r route, rules []streamRule) *builtRoute {
	m := r.meta()
	out := &builtRoute{problem: t.routeProblem(r)}
	refsReason, refsMsg := gatewayv1.RouteReasonResolvedRefs, "all references resolved"
	var backends []ir.Backend
	src := ir.Source{Kind: string(r.kind()), Namespace: m.Namespace, Name: m.Name}
	for ri, rule := range rules {
		if ri > 0 {
			out.dropped = append(out.dropped, fmt.Sprintf("%s: only one rule is supported", ruleLabel(ri, rule.name)))
			continue
		}
		if rule.name != nil {
			src.RuleName = string(*rule.name)
		}
		for _, ref := range rule.backendRefs {
			b, reason, msg := t.resolveBackend(r, ref)
			if reason != "" && refsReason == gatewayv1.RouteReasonResolvedRefs {
				refsReason, refsMsg = reason, msg
			}
			// Render forwards bytes: the application protocol of the port is not its
			// business, and a stream has no status to answer a failure with.
			b.Protocol = ""
			if b.Weight > 0 {
				backends = append(backends, b)
			}
		}
	}
	out.refs = status.Condition(gatewayv1.RouteConditionResolvedRefs, refsReason == gatewayv1.RouteReasonResolvedRefs, refsReason, status.Truncate(refsMsg), m.Generation)
	out.attach = func(l *listener, hostnames []string) {
		l.streams = append(l.streams, streamAttachment{r: r, hostnames: hostnames, source: src, backends: backends})
	}
	return out
}

// buildStreamServers adds the served TLS, TCP and UDP listeners to the model.
//
// A TCP or UDP connection carries nothing to choose a route by, so a TCP or UDP listener
// forwards to the backends of one route: the oldest attached (then first by namespace/name),
// as the specification's conflict rule asks. The others stay Accepted and counted in
// attachedRoutes, and take over when it goes.
//
// A TLS port routes by SNI. Its listeners are taken most specific hostname first, and a
// hostname answered by a more specific listener, or on one listener by an older route, is
// not answered again. Every listener also answers its own hostname, without a backend when
// no route covers it, so that a handshake for a name it owns never reaches a less specific
// listener's routes.
func (t *translator) buildStreamServers(listeners []*listener) {
	tlsByPort := map[int][]*listener{}
	for _, l := range listeners {
		if !l.served {
			continue
		}
		port := int(l.spec.Port)
		switch l.spec.Protocol {
		case gatewayv1.TCPProtocolType, gatewayv1.UDPProtocolType:
			// Without a route, the listener still binds its port and closes every connection.
			srv := &ir.StreamServer{Port: port, Source: l.source()}
			if a := oldestAttachment(l.streams); a != nil {
				srv.Source, srv.Backends = a.source, a.backends
			}
			if l.spec.Protocol == gatewayv1.TCPProtocolType {
				t.out.TCP = append(t.out.TCP, srv)
			} else {
				t.out.UDP = append(t.out.UDP, srv)
			}
		case gatewayv1.TLSProtocolType:
			tlsByPort[port] = append(tlsByPort[port], l)
		}
	}
	for port, ls := range tlsByPort {
		t.out.TLS = append(t.out.TLS, tlsServer(port, ls))
	}
	sort.Slice(t.out.TCP, func(i, j int) bool { return t.out.TCP[i].Port < t.out.TCP[j].Port })
	sort.Slice(t.out.UDP, func(i, j int) bool { return t.out.UDP[i].Port < t.out.UDP[j].Port })
	sort.Slice(t.out.TLS, func(i, j int) bool { return t.out.TLS[i].Port < t.out.TLS[j].Port })
}

// tlsServer builds the SNI routes of the TLS listeners of one port.
func tlsServer(port int, ls []*listener) *ir.TLSServer {
	sort.SliceStable(ls, func(i, j int) bool {
		return hostnameLess(listenerHostname(ls[i].spec), listenerHostname(ls[j].spec))
	})
	srv := &ir.TLSServer{Port: port}
	taken := map[string]bool{}
	for _, l := range ls {
		streams := append([]streamAttachment(nil), l.streams...)
		sort.SliceStable(streams, func(i, j int) bool { return routeOlder(streams[i].r, streams[j].r) })
		for _, a := range streams {
			for _, hn := range a.hostnames {
				if taken[hn] {
					continue
				}
				taken[hn] = true
				srv.Routes = append(srv.Routes, &ir.TLSRoute{Source: a.source, Hostname: hn, Terminate: l.tls, Backends: a.backends})
			}
		}
		if own := listenerHostname(l.spec); !taken[own] {
			taken[own] = true
			srv.Routes = append(srv.Routes, &ir.TLSRoute{
				Source:   l.source(),
				Hostname: own,
			})
		}
	}
	sort.SliceStable(srv.Routes, func(i, j int) bool { return hostnameLess(srv.Routes[i].Hostname, srv.Routes[j].Hostname) })
	return srv
}

// oldestAttachment is the stream route a TCP or UDP listener serves; nil when none attached.
func oldestAttachment(streams []streamAttachment) *streamAttachment {
	var oldest *streamAttachment
	for i := range streams {
		if oldest == nil || routeOlder(streams[i].r, oldest.r) {
			oldest = &streams[i]
		}
	}
	return oldest
}
