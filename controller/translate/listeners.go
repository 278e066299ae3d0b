package translate

import (
	"crypto/tls"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/controller/status"
)

// Route kinds translate knows.
const (
	// KindHTTPRoute is the HTTPRoute kind.
	KindHTTPRoute gatewayv1.Kind = "HTTPRoute"
	// KindGRPCRoute is the GRPCRoute kind.
	KindGRPCRoute gatewayv1.Kind = "GRPCRoute"
	// KindTLSRoute is the TLSRoute kind.
	KindTLSRoute gatewayv1.Kind = "TLSRoute"
	// KindTCPRoute is the TCPRoute kind.
	KindTCPRoute gatewayv1.Kind = "TCPRoute"
	// KindUDPRoute is the UDPRoute kind.
	KindUDPRoute gatewayv1.Kind = "UDPRoute"
	// KindGateway is the Gateway kind, as a parent and as a ReferenceGrant source.
	KindGateway gatewayv1.Kind = "Gateway"
)

// listener is translate's working state for one Gateway listener.
type listener struct {
	spec       gatewayv1.Listener
	status     *gatewayv1.ListenerStatus
	attachable bool // routes may attach (accepted, not conflicted)
	served     bool // attachable, its certificates resolved and some route kind valid
	kinds      map[gatewayv1.Kind]bool
	tls        *ir.ListenerTLS
	vhosts     map[string]*vhost
	// streams are the TLSRoutes, TCPRoutes or UDPRoutes attached to a listener of protocol
	// TLS, TCP or UDP, in attachment order.
	streams []streamAttachment
}

// listeners validates every listener and fills its status except Programmed.
func (t *translator) listeners() []*listener {
	s, opts := t.s, t.opts
	gw := s.Gateway
	gen := gw.Generation
	// A TCP port shared by listeners of different protocols cannot be served by one Kengine
	// server; UDP ports are apart from TCP ports. TLS listeners (Terminate or Passthrough) and
	// HTTPS listeners share a port: the SNI picks the listener, through the layer4 listener
	// wrapper in front of the HTTPS server, so they count as one protocol here.
	protocolsByPort := map[string]map[gatewayv1.ProtocolType]bool{}
	for _, l := range gw.Spec.Listeners {
		k := portKey(l)
		if protocolsByPort[k] == nil {
			protocolsByPort[k] = map[gatewayv1.ProtocolType]bool{}
		}
		p := l.Protocol
		if p == gatewayv1.HTTPSProtocolType {
			p = gatewayv1.TLSProtocolType
		}
		protocolsByPort[k][p] = true
	}
	hostnamesByPort := map[string]int{}
	for _, l := range gw.Spec.Listeners {
		hostnamesByPort[portKey(l)+"/"+listenerHostname(l)]++
	}

	t.res.Gateway.Listeners = make([]gatewayv1.ListenerStatus, len(gw.Spec.Listeners))
	out := make([]*listener, 0, len(gw.Spec.Listeners))
	for i, spec := range gw.Spec.Listeners {
		st := &t.res.Gateway.Listeners[i]
		st.Name = spec.Name
		l := &listener{spec: spec, status: st, kinds: map[gatewayv1.Kind]bool{}, vhosts: map[string]*vhost{}}
		out = append(out, l)

		accepted, conflicted, resolved := true, false, true
		// An invalid route kind makes ResolvedRefs false but does not stop the valid kinds
		// from being served; a certificate that does not resolve does.
		certsResolved := true
		acceptedReason, acceptedMsg := string(gatewayv1.ListenerReasonAccepted), "listener accepted"
		conflictReason, conflictMsg := string(gatewayv1.ListenerReasonNoConflicts), "no conflicts"
		resolvedReason, resolvedMsg := string(gatewayv1.ListenerReasonResolvedRefs), "all references resolved"

		switch spec.Protocol {
		case gatewayv1.HTTPProtocolType, gatewayv1.HTTPSProtocolType, gatewayv1.TLSProtocolType, gatewayv1.TCPProtocolType, gatewayv1.UDPProtocolType:
		default:
			accepted = false
			acceptedReason, acceptedMsg = string(gatewayv1.ListenerReasonUnsupportedProtocol),
				fmt.Sprintf("protocol %q is not supported", spec.Protocol)
		}
		if accepted && slices.Contains(opts.ReservedPorts, int(spec.Port)) {
			accepted = false
			acceptedReason, acceptedMsg = string(gatewayv1.ListenerReasonPortUnavailable),
				fmt.Sprintf("port %d is used by Kengine itself (admin, readiness or internal answers)", spec.Port)
		}
		if msg, excluded := s.Excluded[ListenerRef(spec.Name)]; excluded && accepted {
			accepted = false
			acceptedReason, acceptedMsg = string(gatewayv1.ListenerReasonUnsupportedValue), status.Truncate("Kengine refused the Gateway's config with this listener: "+msg)
		}
		if accepted {
			if err := checkHostname(listenerHostname(spec)); err != nil {
				accepted = false
				acceptedReason, acceptedMsg = string(gatewayv1.ListenerReasonUnsupportedValue), err.Error()
			}
		}
		if accepted && len(protocolsByPort[portKey(spec)]) > 1 {
			accepted, conflicted = false, true
			acceptedReason = string(gatewayv1.ListenerReasonProtocolConflict)
			conflictReason = acceptedReason
			acceptedMsg = fmt.Sprintf("port %d is used by listeners of different protocols", spec.Port)
			conflictMsg = acceptedMsg
		} else if accepted && hostnamesByPort[portKey(spec)+"/"+listenerHostname(spec)] > 1 {
			accepted, conflicted = false, true
			if hostnameMatched(spec.Protocol) {
				acceptedReason = string(gatewayv1.ListenerReasonHostnameConflict)
				acceptedMsg = fmt.Sprintf("another listener on port %d has the same hostname", spec.Port)
			} else {
				// TCP and UDP connections carry no hostname: two such listeners on one port
				// cannot be told apart.
				acceptedReason = string(gatewayv1.ListenerReasonProtocolConflict)
				acceptedMsg = fmt.Sprintf("another %s listener uses port %d", spec.Protocol, spec.Port)
			}
			conflictReason, conflictMsg = acceptedReason, acceptedMsg
		}

		// Route kinds.
		st.SupportedKinds = []gatewayv1.RouteGroupKind{}
		if spec.AllowedRoutes != nil && len(spec.AllowedRoutes.Kinds) > 0 {
			var invalid []string
			for _, k := range spec.AllowedRoutes.Kinds {
				if routeKindSupported(spec.Protocol, k) {
					l.kinds[k.Kind] = true
					st.SupportedKinds = append(st.SupportedKinds, routeGroupKind(k.Kind))
				} else {
					invalid = append(invalid, string(k.Kind))
				}
			}
			if len(invalid) > 0 {
				resolved = false
				resolvedReason = string(gatewayv1.ListenerReasonInvalidRouteKinds)
				resolvedMsg = fmt.Sprintf("route kinds not supported on this listener: %s", strings.Join(invalid, ", "))
			}
		} else if accepted || conflicted {
			for _, k := range defaultRouteKinds(spec.Protocol) {
				l.kinds[k] = true
				st.SupportedKinds = append(st.SupportedKinds, routeGroupKind(k))
			}
		}

		// Certificates: HTTPS listeners, and TLS listeners that terminate (the default mode).
		if accepted && terminatesTLS(spec) {
			tags, reason, msg := t.certificates(spec)
			if reason != "" {
				certsResolved = false
				if resolved {
					resolved, resolvedReason, resolvedMsg = false, reason, msg
				}
			}
			l.tls = &ir.ListenerTLS{CertificateTags: tags}
			if len(tags) == 0 {
				resolved, certsResolved = false, false
			}
			fv := t.frontendValidation(spec)
			l.tls.ClientValidation = fv.cv
			if fv.reason != "" && resolved {
				resolved, resolvedReason, resolvedMsg = false, string(fv.reason), status.Truncate(fv.msg)
			}
			if fv.noValidCA {
				// Serving the listener without the validation its owner asked for would let
				// in every client: it is refused instead.
				accepted = false
				acceptedReason, acceptedMsg = string(gatewayv1.ListenerReasonNoValidCACertificate), status.Truncate("no client validation CA certificate is usable: "+fv.msg)
			}
		}

		st.Conditions = []metav1.Condition{
			status.Condition(gatewayv1.ListenerConditionAccepted, accepted, acceptedReason, acceptedMsg, gen),
			status.Condition(gatewayv1.ListenerConditionConflicted, conflicted, conflictReason, conflictMsg, gen),
			status.Condition(gatewayv1.ListenerConditionResolvedRefs, resolved, resolvedReason, resolvedMsg, gen),
		}
		l.attachable = accepted
		l.served = accepted && certsResolved && len(l.kinds) > 0
		if l.served && s.Layer4Unavailable != "" && needsLayer4(spec.Protocol) {
			l.served = false
			if t.res.Gateway.Unprogrammable == nil {
				t.res.Gateway.Unprogrammable = map[gatewayv1.SectionName]string{}
			}
			t.res.Gateway.Unprogrammable[spec.Name] = s.Layer4Unavailable
		}
	}
	return out
}

// needsLayer4 reports whether Kengine serves a listener of the protocol with its layer4 app.
func needsLayer4(p gatewayv1.ProtocolType) bool {
	return p == gatewayv1.TLSProtocolType || p == gatewayv1.TCPProtocolType || p == gatewayv1.UDPProtocolType
}

// portKey names the socket a listener binds: UDP ports are apart from TCP ports.
func portKey(l gatewayv1.Listener) string {
	if l.Protocol == gatewayv1.UDPProtocolType {
		return fmt.Sprintf("udp/%d", l.Port)
	}
	return fmt.Sprintf("tcp/%d", l.Port)
}

// hostnameMatched reports whether a protocol's connections carry a hostname a listener can
// match (Host header or SNI); TCP and UDP listeners ignore their hostname, as the
// specification says of protocols without one.
func hostnameMatched(p gatewayv1.ProtocolType) bool {
	return p != gatewayv1.TCPProtocolType && p != gatewayv1.UDPProtocolType
}

// listenerHostname is the hostname a listener matches: "" (every host) for TCP and UDP.
func listenerHostname(l gatewayv1.Listener) string {
	if !hostnameMatched(l.Protocol) {
		return ""
	}
	return hostnameOf(l.Hostname)
}

// terminatesTLS reports whether a listener terminates TLS with its certificateRefs: every
// HTTPS listener, and a TLS listener unless its mode is Passthrough.
func terminatesTLS(l gatewayv1.Listener) bool {
	switch l.Protocol {
	case gatewayv1.HTTPSProtocolType:
		return true
	case gatewayv1.TLSProtocolType:
		return l.TLS == nil || l.TLS.Mode == nil || *l.TLS.Mode != gatewayv1.TLSModePassthrough
	}
	return false
}

func routeGroupKind(k gatewayv1.Kind) gatewayv1.RouteGroupKind {
	g := gatewayv1.Group(gatewayv1.GroupName)
	return gatewayv1.RouteGroupKind{Group: &g, Kind: k}
}

// defaultRouteKinds are the kinds a listener accepts when allowedRoutes.kinds is empty. HTTP
// listeners speak HTTP/2 with prior knowledge (h2c) and HTTPS listeners offer it by ALPN, as
// the GRPCRoute specification requires of both.
func defaultRouteKinds(p gatewayv1.ProtocolType) []gatewayv1.Kind {
	switch p {
	case gatewayv1.HTTPProtocolType, gatewayv1.HTTPSProtocolType:
		return []gatewayv1.Kind{KindHTTPRoute, KindGRPCRoute}
	case gatewayv1.TLSProtocolType:
		return []gatewayv1.Kind{KindTLSRoute}
	case gatewayv1.TCPProtocolType:
		return []gatewayv1.Kind{KindTCPRoute}
	case gatewayv1.UDPProtocolType:
		return []gatewayv1.Kind{KindUDPRoute}
	}
	return nil
}

func routeKindSupported(p gatewayv1.ProtocolType, k gatewayv1.RouteGroupKind) bool {
	if k.Group != nil && *k.Group != gatewayv1.GroupName {
		return false
	}
	return slices.Contains(defaultRouteKinds(p), k.Kind)
}

// certificates loads an HTTPS (or terminating TLS) listener's certificate Secrets into the model and returns their
// tags, or the ResolvedRefs reason and message of the first reference that fails.
func (t *translator) certificates(spec gatewayv1.Listener) (tags []string, reason, msg string) {
	gw := t.s.Gateway
	if spec.TLS == nil || len(spec.TLS.CertificateRefs) == 0 {
		return nil, string(gatewayv1.ListenerReasonInvalidCertificateRef), fmt.Sprintf("%s listener has no certificateRefs", spec.Protocol)
	}
	if spec.TLS.Mode != nil && *spec.TLS.Mode != gatewayv1.TLSModeTerminate {
		return nil, string(gatewayv1.ListenerReasonInvalidCertificateRef), fmt.Sprintf("only TLS mode Terminate is supported on %s listeners", spec.Protocol)
	}
	fail := func(r gatewayv1.ListenerConditionReason, format string, args ...any) {
		if reason == "" {
			reason, msg = string(r), fmt.Sprintf(format, args...)
		}
	}
	for _, ref := range spec.TLS.CertificateRefs {
		if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Secret") {
			fail(gatewayv1.ListenerReasonInvalidCertificateRef, "certificateRef %s must be a core Secret", ref.Name)
			continue
		}
		nn, allowed := t.gatewayReference("Secret", ref.Namespace, ref.Name)
		if !allowed {
			fail(gatewayv1.ListenerReasonRefNotPermitted, "no ReferenceGrant allows a Gateway in %s to use Secret %s", gw.Namespace, nn)
			continue
		}
		sec, ok := t.s.Secrets[nn]
		if !ok {
			fail(gatewayv1.ListenerReasonInvalidCertificateRef, "Secret %s not found", nn)
			continue
		}
		if err := validKeyPair(sec); err != nil {
			fail(gatewayv1.ListenerReasonInvalidCertificateRef, "Secret %s: %v", nn, err)
			continue
		}
		tag := nn.String()
		tags = append(tags, tag)
		t.addCertificate(ir.Certificate{Tag: tag, CertPEM: string(sec.Data[corev1.TLSCertKey]), KeyPEM: string(sec.Data[corev1.TLSPrivateKeyKey])})
	}
	return tags, reason, msg
}

func validKeyPair(sec *corev1.Secret) error {
	if sec.Type != corev1.SecretTypeTLS {
		return fmt.Errorf("type is %q, want %q", sec.Type, corev1.SecretTypeTLS)
	}
	pair, err := tls.X509KeyPair(sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		// The parse error never contains key material.
		return fmt.Errorf("invalid key pair: %v", err)
	}
	if pair.Leaf == nil || len(certificateNames(pair.Leaf)) == 0 {
		return fmt.Errorf("the certificate carries no name (no common name, DNS name, IP address, e-mail address or URI), which Kengine cannot serve")
	}
	return nil
}

// addCertificate adds a key pair to the model once, keeping Certificates sorted by tag.
func (t *translator) addCertificate(c ir.Certificate) {
	certs := t.out.Certificates
	i := sort.Search(len(certs), func(i int) bool { return certs[i].Tag >= c.Tag })
	if i < len(certs) && certs[i].Tag == c.Tag {
		return
	}
	t.out.Certificates = slices.Insert(certs, i, c)
}

// namespaceAllowed applies a listener's allowedRoutes.namespaces to a route's namespace.
func (t *translator) namespaceAllowed(spec gatewayv1.Listener, routeNamespace string) bool {
	from := gatewayv1.NamespacesFromSame
	var selector *metav1.LabelSelector
	if spec.AllowedRoutes != nil && spec.AllowedRoutes.Namespaces != nil {
		if spec.AllowedRoutes.Namespaces.From != nil {
			from = *spec.AllowedRoutes.Namespaces.From
		}
		selector = spec.AllowedRoutes.Namespaces.Selector
	}
	switch from {
	case gatewayv1.NamespacesFromAll:
		return true
	case gatewayv1.NamespacesFromSame:
		return routeNamespace == t.s.Gateway.Namespace
	case gatewayv1.NamespacesFromSelector:
		if selector == nil {
			return false
		}
		sel, err := metav1.LabelSelectorAsSelector(selector)
		if err != nil {
			return false
		}
		ns, ok := t.s.Namespaces[routeNamespace]
		if !ok {
			return false
		}
		return sel.Matches(labels.Set(ns.Labels))
	}
	return false
}
