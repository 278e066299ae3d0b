package controller

import (
	"crypto/tls"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/informers"
)

// Translation is what translate derives from a Snapshot: the model to serve and the status
// of every object it looked at. It is a pure function of the snapshot.
type Translation struct {
	// Model is what the Kengine pods must serve.
	Model *Model
	// GatewayConditions holds Accepted (Programmed is decided after the push).
	GatewayConditions []metav1.Condition
	// Listeners is the desired status of every listener, in spec order, without Programmed.
	Listeners []gatewayv1.ListenerStatus
	// ListenerValid tells, per listener name, whether the listener is served.
	ListenerValid map[gatewayv1.SectionName]bool
	// Routes holds, for every HTTPRoute in the snapshot, the status entries for the
	// parentRefs that point at this Gateway (none when the route left the Gateway).
	Routes []RouteStatus
}

// RouteStatus is the status one Gateway owns in one route.
type RouteStatus struct {
	// Route is the route as read from the cache.
	Route *gatewayv1.HTTPRoute
	// Parents are the entries for parentRefs that select this Gateway.
	Parents []gatewayv1.RouteParentStatus
}

// TranslateOptions are the controller settings translate depends on.
type TranslateOptions struct {
	// ControllerName is written into route parent status.
	ControllerName gatewayv1.GatewayController
	// ReservedPorts are ports the proxy uses itself (admin, readiness, failure answers); a
	// listener on one of them is not accepted (PortUnavailable).
	ReservedPorts []int
	// AllowExternalNameBackends admits Services of type ExternalName as backends; the
	// GatewayClass parameters decide it (managed.ParamAllowExternalNameBackends).
	AllowExternalNameBackends bool
	// AllowLoopbackBackends admits loopback backend addresses. Only tests whose backends run
	// on the host's loopback set it; the controller never does.
	AllowLoopbackBackends bool

	// addressPolicy is built by Translate, once per Gateway, from the snapshot's proxy
	// addresses and AllowLoopbackBackends.
	addressPolicy backendAddressPolicy
}

// listener is translate's working state for one Gateway listener.
type listener struct {
	spec       gatewayv1.Listener
	status     *gatewayv1.ListenerStatus
	attachable bool // routes may attach (accepted, not conflicted)
	served     bool // attachable and every reference resolved
	kinds      map[gatewayv1.Kind]bool
	model      *ListenerModel
	vhosts     map[string]*VirtualHost
}

// Translate turns a snapshot into a model and status. It never fails: whatever is invalid is
// reported in status and left out of the model, so one bad object cannot take down the rest.
func Translate(s *Snapshot, opts TranslateOptions) *Translation {
	opts.addressPolicy = newBackendAddressPolicy(s.ProxyAddresses, opts.AllowLoopbackBackends)
	gw := s.Gateway
	gen := gw.Generation
	t := &Translation{
		Model:         &Model{Gateway: types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}},
		ListenerValid: map[gatewayv1.SectionName]bool{},
	}
	listeners := translateListeners(s, opts, t)

	valid := 0
	for _, l := range listeners {
		if l.attachable {
			valid++
		}
	}
	switch {
	case len(gw.Spec.Addresses) > 0:
		t.GatewayConditions = append(t.GatewayConditions, condition(gatewayv1.GatewayConditionAccepted, false,
			gatewayv1.GatewayReasonUnsupportedAddress, "spec.addresses is not supported; the address comes from the Kengine Service", gen))
		for _, l := range listeners {
			l.attachable, l.served = false, false
		}
	case valid == 0 && len(listeners) > 0:
		t.GatewayConditions = append(t.GatewayConditions, condition(gatewayv1.GatewayConditionAccepted, false,
			gatewayv1.GatewayReasonListenersNotValid, "no listener is valid", gen))
	case valid < len(listeners):
		t.GatewayConditions = append(t.GatewayConditions, condition(gatewayv1.GatewayConditionAccepted, true,
			gatewayv1.GatewayReasonListenersNotValid, "some listeners are not valid; see their conditions", gen))
	default:
		t.GatewayConditions = append(t.GatewayConditions, condition(gatewayv1.GatewayConditionAccepted, true,
			gatewayv1.GatewayReasonAccepted, "Gateway accepted", gen))
	}

	for _, r := range s.HTTPRoutes {
		t.Routes = append(t.Routes, RouteStatus{Route: r, Parents: attachHTTPRoute(s, opts, listeners, r)})
	}
	buildServers(t.Model, listeners)
	for _, l := range listeners {
		t.ListenerValid[l.spec.Name] = l.served
	}
	return t
}

// translateListeners validates every listener and fills its status except Programmed.
func translateListeners(s *Snapshot, opts TranslateOptions, t *Translation) []*listener {
	gw := s.Gateway
	gen := gw.Generation
	// Ports shared by listeners of different protocols cannot be served by one Kengine server.
	protocolsByPort := map[gatewayv1.PortNumber]map[gatewayv1.ProtocolType]bool{}
	for _, l := range gw.Spec.Listeners {
		if protocolsByPort[l.Port] == nil {
			protocolsByPort[l.Port] = map[gatewayv1.ProtocolType]bool{}
		}
		protocolsByPort[l.Port][l.Protocol] = true
	}
	hostnamesByPort := map[string]int{}
	for _, l := range gw.Spec.Listeners {
		hostnamesByPort[fmt.Sprintf("%d/%s", l.Port, hostnameOf(l.Hostname))]++
	}

	t.Listeners = make([]gatewayv1.ListenerStatus, len(gw.Spec.Listeners))
	out := make([]*listener, 0, len(gw.Spec.Listeners))
	for i, spec := range gw.Spec.Listeners {
		st := &t.Listeners[i]
		st.Name = spec.Name
		l := &listener{spec: spec, status: st, kinds: map[gatewayv1.Kind]bool{}, vhosts: map[string]*VirtualHost{}}
		out = append(out, l)

		var conds []metav1.Condition
		accepted, conflicted, resolved := true, false, true
		acceptedReason, acceptedMsg := string(gatewayv1.ListenerReasonAccepted), "listener accepted"
		conflictReason, conflictMsg := string(gatewayv1.ListenerReasonNoConflicts), "no conflicts"
		resolvedReason, resolvedMsg := string(gatewayv1.ListenerReasonResolvedRefs), "all references resolved"

		switch spec.Protocol {
		case gatewayv1.HTTPProtocolType, gatewayv1.HTTPSProtocolType:
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
			acceptedReason, acceptedMsg = string(gatewayv1.ListenerReasonUnsupportedValue), truncate("Kengine refused the Gateway's config with this listener: "+msg)
		}
		if accepted {
			if err := checkHostname(hostnameOf(spec.Hostname)); err != nil {
				accepted = false
				acceptedReason, acceptedMsg = string(gatewayv1.ListenerReasonUnsupportedValue), err.Error()
			}
		}
		if accepted && len(protocolsByPort[spec.Port]) > 1 {
			accepted, conflicted = false, true
			acceptedReason = string(gatewayv1.ListenerReasonProtocolConflict)
			conflictReason = acceptedReason
			acceptedMsg = fmt.Sprintf("port %d is used by listeners of different protocols", spec.Port)
			conflictMsg = acceptedMsg
		} else if accepted && hostnamesByPort[fmt.Sprintf("%d/%s", spec.Port, hostnameOf(spec.Hostname))] > 1 {
			accepted, conflicted = false, true
			acceptedReason = string(gatewayv1.ListenerReasonHostnameConflict)
			conflictReason = acceptedReason
			acceptedMsg = fmt.Sprintf("another listener on port %d has the same hostname", spec.Port)
			conflictMsg = acceptedMsg
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

		// Certificates.
		if spec.Protocol == gatewayv1.HTTPSProtocolType && accepted {
			tags, reason, msg := resolveCertificates(s, spec, t.Model)
			if reason != "" && resolved {
				resolved, resolvedReason, resolvedMsg = false, reason, msg
			}
			if l.model == nil {
				l.model = &ListenerModel{Name: string(spec.Name), Hostname: hostnameOf(spec.Hostname)}
			}
			l.model.CertificateTags = tags
			if len(tags) == 0 {
				resolved = false
			}
		}

		conds = append(conds,
			condition(gatewayv1.ListenerConditionAccepted, accepted, acceptedReason, acceptedMsg, gen),
			condition(gatewayv1.ListenerConditionConflicted, conflicted, conflictReason, conflictMsg, gen),
			condition(gatewayv1.ListenerConditionResolvedRefs, resolved, resolvedReason, resolvedMsg, gen),
		)
		st.Conditions = conds
		l.attachable = accepted
		l.served = accepted && resolved
		if l.model == nil {
			l.model = &ListenerModel{Name: string(spec.Name), Hostname: hostnameOf(spec.Hostname)}
		}
	}
	return out
}

func hostnameOf(h *gatewayv1.Hostname) string {
	if h == nil {
		return ""
	}
	return strings.ToLower(string(*h))
}

func routeGroupKind(k gatewayv1.Kind) gatewayv1.RouteGroupKind {
	g := gatewayv1.Group(gatewayv1.GroupName)
	return gatewayv1.RouteGroupKind{Group: &g, Kind: k}
}

// defaultRouteKinds are the kinds a listener accepts when allowedRoutes.kinds is empty.
func defaultRouteKinds(p gatewayv1.ProtocolType) []gatewayv1.Kind {
	switch p {
	case gatewayv1.HTTPProtocolType, gatewayv1.HTTPSProtocolType:
		return []gatewayv1.Kind{informers.KindHTTPRoute}
	}
	return nil
}

func routeKindSupported(p gatewayv1.ProtocolType, k gatewayv1.RouteGroupKind) bool {
	if k.Group != nil && *k.Group != gatewayv1.GroupName {
		return false
	}
	for _, d := range defaultRouteKinds(p) {
		if d == k.Kind {
			return true
		}
	}
	return false
}

// resolveCertificates loads an HTTPS listener's certificate Secrets into the model and returns
// their tags, or the ResolvedRefs reason and message of the first reference that fails.
func resolveCertificates(s *Snapshot, spec gatewayv1.Listener, m *Model) (tags []string, reason, msg string) {
	gw := s.Gateway
	if spec.TLS == nil || len(spec.TLS.CertificateRefs) == 0 {
		return nil, string(gatewayv1.ListenerReasonInvalidCertificateRef), "HTTPS listener has no certificateRefs"
	}
	if spec.TLS.Mode != nil && *spec.TLS.Mode != gatewayv1.TLSModeTerminate {
		return nil, string(gatewayv1.ListenerReasonInvalidCertificateRef), "only TLS mode Terminate is supported on HTTPS listeners"
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
		ns := gw.Namespace
		if ref.Namespace != nil && *ref.Namespace != "" {
			ns = string(*ref.Namespace)
		}
		if !referenceAllowed(s.ReferenceGrants, reference{
			fromGroup: gatewayv1.GroupName, fromKind: informers.KindGateway, fromNamespace: gw.Namespace,
			toGroup: "", toKind: "Secret", toNamespace: ns, toName: string(ref.Name),
		}) {
			fail(gatewayv1.ListenerReasonRefNotPermitted, "no ReferenceGrant allows a Gateway in %s to use Secret %s/%s", gw.Namespace, ns, ref.Name)
			continue
		}
		nn := types.NamespacedName{Namespace: ns, Name: string(ref.Name)}
		sec, ok := s.Secrets[nn]
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
		addCertificate(m, Certificate{Tag: tag, CertPEM: sec.Data[corev1.TLSCertKey], KeyPEM: sec.Data[corev1.TLSPrivateKeyKey]})
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

func addCertificate(m *Model, c Certificate) {
	i := sort.Search(len(m.Certificates), func(i int) bool { return m.Certificates[i].Tag >= c.Tag })
	if i < len(m.Certificates) && m.Certificates[i].Tag == c.Tag {
		return
	}
	m.Certificates = append(m.Certificates, Certificate{})
	copy(m.Certificates[i+1:], m.Certificates[i:])
	m.Certificates[i] = c
}

// namespaceAllowed applies a listener's allowedRoutes.namespaces to a route's namespace.
func namespaceAllowed(s *Snapshot, spec gatewayv1.Listener, routeNamespace string) bool {
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
		return routeNamespace == s.Gateway.Namespace
	case gatewayv1.NamespacesFromSelector:
		if selector == nil {
			return false
		}
		sel, err := metav1.LabelSelectorAsSelector(selector)
		if err != nil {
			return false
		}
		ns, ok := s.Namespaces[routeNamespace]
		if !ok {
			return false
		}
		return sel.Matches(labels.Set(ns.Labels))
	}
	return false
}
