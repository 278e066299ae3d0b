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

// listener is translate's working state for one listener of the Gateway's merged list: its
// own listeners, then those of the ListenerSets it accepts.
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

	// set is the ListenerSet that declares the listener; nil for the Gateway's own.
	set *listenerSet
	// complete is served, whether or not the Kengine pods can run the listener (layer4).
	complete bool
}

// listenerConflict tells whether a listener, valid on its own, conflicts with others, and
// why (a ListenerConditionReason and a message); "" when it does not.
type listenerConflict func(spec gatewayv1.Listener) (reason gatewayv1.ListenerConditionReason, msg string)

// listenerEntry is a listener to validate and where its status goes.
type listenerEntry struct {
	spec   gatewayv1.Listener
	status *gatewayv1.ListenerStatus
}

// listeners validates the Gateway's own listeners and fills their status except Programmed.
// Among them, every listener of a conflict is refused: none is picked as the winner.
func (t *translator) listeners() []*listener {
	gw := t.s.Gateway
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
		protocolsByPort[k][protocolClass(l.Protocol)] = true
	}
	hostnamesByPort := map[string]int{}
	for _, l := range gw.Spec.Listeners {
		hostnamesByPort[portKey(l)+"/"+listenerHostname(l)]++
	}

	conflict := func(spec gatewayv1.Listener) (gatewayv1.ListenerConditionReason, string) {
		if len(protocolsByPort[portKey(spec)]) > 1 {
			return gatewayv1.ListenerReasonProtocolConflict, fmt.Sprintf("port %d is used by listeners of different protocols", spec.Port)
		}
		if hostnamesByPort[portKey(spec)+"/"+listenerHostname(spec)] > 1 {
			return hostnameConflict(spec, "another", "")
		}
		return "", ""
	}

	t.res.Gateway.Listeners = make([]gatewayv1.ListenerStatus, len(gw.Spec.Listeners))
	entries := make([]listenerEntry, len(gw.Spec.Listeners))
	for i, spec := range gw.Spec.Listeners {
		entries[i] = listenerEntry{spec: spec, status: &t.res.Gateway.Listeners[i]}
	}
	return t.buildListeners(entries, nil, gw.Generation, conflict)
}

// buildListeners validates listeners declared by the Gateway (set nil) or by a ListenerSet,
// in order, and fills their status except Programmed, with conditions of generation gen.
// conflict is asked last, only about a listener valid on its own: a listener it finds no
// conflict for is accepted.
func (t *translator) buildListeners(entries []listenerEntry, set *listenerSet, gen int64, conflict listenerConflict) []*listener {
	s, opts := t.s, t.opts
	out := make([]*listener, 0, len(entries))
	for _, e := range entries {
		spec, st := e.spec, e.status
		st.Name = spec.Name
		l := &listener{spec: spec, set: set, status: st, kinds: map[gatewayv1.Kind]bool{}, vhosts: map[string]*vhost{}}
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
		if msg, excluded := s.Excluded[l.ref()]; excluded && accepted {
			accepted = false
			acceptedReason, acceptedMsg = string(gatewayv1.ListenerReasonUnsupportedValue), status.Truncate("Kengine refused the Gateway's config with this listener: "+msg)
		}
		if accepted {
			if err := checkHostname(listenerHostname(spec)); err != nil {
				accepted = false
				acceptedReason, acceptedMsg = string(gatewayv1.ListenerReasonUnsupportedValue), err.Error()
			}
		}
		if accepted {
			if reason, msg := conflict(spec); reason != "" {
				accepted, conflicted = false, true
				acceptedReason, acceptedMsg = string(reason), msg
				conflictReason, conflictMsg = acceptedReason, acceptedMsg
			}
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
			tags, reason, msg := t.certificates(l)
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
		l.complete = accepted && certsResolved && len(l.kinds) > 0
		l.served = l.complete
		if l.served && s.Layer4Unavailable != "" && needsLayer4(spec.Protocol) {
			l.served = false
			unprogrammable := &t.res.Gateway.Unprogrammable
			if set != nil {
				unprogrammable = &set.res.Unprogrammable
			}
			if *unprogrammable == nil {
				*unprogrammable = map[gatewayv1.SectionName]string{}
			}
			(*unprogrammable)[spec.Name] = s.Layer4Unavailable
		}
	}
	return out
}

// hostnameConflict is the conflict of a listener with another one whose hostname (on the
// same port) it shares: HostnameConflict, or ProtocolConflict for TCP and UDP listeners,
// whose connections carry no hostname to tell them apart. The other listener is named
// "<article> [protocol] listener<which>".
func hostnameConflict(spec gatewayv1.Listener, article, which string) (gatewayv1.ListenerConditionReason, string) {
	if hostnameMatched(spec.Protocol) {
		return gatewayv1.ListenerReasonHostnameConflict, fmt.Sprintf("%s listener%s on port %d has the same hostname", article, which, spec.Port)
	}
	return gatewayv1.ListenerReasonProtocolConflict, fmt.Sprintf("%s %s listener%s uses port %d", article, spec.Protocol, which, spec.Port)
}

// protocolClass is the protocol a listener shares its port with: HTTPS and TLS listeners
// share one, told apart by SNI.
func protocolClass(p gatewayv1.ProtocolType) gatewayv1.ProtocolType {
	if p == gatewayv1.HTTPSProtocolType {
		return gatewayv1.TLSProtocolType
	}
	return p
}

// ref names the listener as a part of the config that can be left out on its own.
func (l *listener) ref() ObjectRef {
	if l.set == nil {
		return ListenerRef(l.spec.Name)
	}
	return ListenerSetListenerRef(l.set.obj.Namespace, l.set.obj.Name, l.spec.Name)
}

// modelName names the listener in the model: its name, prefixed for a ListenerSet's listener
// with the ListenerSet's namespace/name, since names are unique only within their object.
func (l *listener) modelName() string {
	if l.set == nil {
		return string(l.spec.Name)
	}
	return l.set.obj.Namespace + "/" + l.set.obj.Name + "/" + string(l.spec.Name)
}

// source is the listener as the source of a model entry.
func (l *listener) source() ir.Source {
	ref := l.ref()
	return ir.Source{Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name}
}

// home is the namespace of the object declaring the listener: allowedRoutes "Same" and
// certificateRefs without a namespace are relative to it.
func (l *listener) home(gw *gatewayv1.Gateway) string {
	if l.set == nil {
		return gw.Namespace
	}
	return l.set.obj.Namespace
}

// declaredBy is the kind of the object declaring the listener, as ReferenceGrants name it.
func (l *listener) declaredBy() gatewayv1.Kind {
	if l.set == nil {
		return KindGateway
	}
	return KindListenerSet
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
func (t *translator) certificates(l *listener) (tags []string, reason, msg string) {
	spec, home := l.spec, l.home(t.s.Gateway)
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
		nn, allowed := t.coreReference(l.declaredBy(), home, "Secret", ref.Namespace, ref.Name)
		if !allowed {
			fail(gatewayv1.ListenerReasonRefNotPermitted, "no ReferenceGrant allows a %s in %s to use Secret %s", l.declaredBy(), home, nn)
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

// namespaceAllowed applies a listener's allowedRoutes.namespaces to a route's namespace
// ("Same" by default: the namespace of the Gateway or ListenerSet declaring the listener).
func (t *translator) namespaceAllowed(l *listener, routeNamespace string) bool {
	if ar := l.spec.AllowedRoutes; ar != nil && ar.Namespaces != nil {
		return t.namespaceSelected(ar.Namespaces.From, gatewayv1.NamespacesFromSame, ar.Namespaces.Selector, l.home(t.s.Gateway), routeNamespace)
	}
	return routeNamespace == l.home(t.s.Gateway)
}

// namespaceSelected applies a "from" (All, Same as home, Selector, None; def when unset) to a
// namespace; an invalid selector, or one naming an unknown namespace, selects nothing.
func (t *translator) namespaceSelected(from *gatewayv1.FromNamespaces, def gatewayv1.FromNamespaces, selector *metav1.LabelSelector, home, namespace string) bool {
	if from != nil {
		def = *from
	}
	switch def {
	case gatewayv1.NamespacesFromAll:
		return true
	case gatewayv1.NamespacesFromSame:
		return namespace == home
	case gatewayv1.NamespacesFromSelector:
		if selector == nil {
			return false
		}
		sel, err := metav1.LabelSelectorAsSelector(selector)
		if err != nil {
			return false
		}
		ns, ok := t.s.Namespaces[namespace]
		if !ok {
			return false
		}
		return sel.Matches(labels.Set(ns.Labels))
	}
	return false
}
