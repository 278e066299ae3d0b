package translate

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/controller/status"
)

// caCertificateKey is the key of the PEM bundle in a CA ConfigMap (BackendTLSPolicy spec).
const caCertificateKey = "ca.crt"

// Bounds on what a policy's CA bundle may hold: a tenant writes it, and every certificate in
// it is parsed here and again by each Kengine pod.
const (
	maxCABundleBytes   = 256 << 10
	maxCABundleEntries = 64
)

// errNoSANCheck is why a policy with subjectAltNames cannot be honoured.
var errNoSANCheck = errors.New("subjectAltNames cannot be checked: Kengine's reverse_proxy TLS transport (Caddy v2.11.9) verifies the backend certificate against the hostname (server_name) only and has no setting for other names; traffic to the targeted backend is refused rather than sent with a weaker check")

// tlsPolicyKey is the target of a policy: a Service and, optionally, one of its ports by name.
type tlsPolicyKey struct {
	service types.NamespacedName
	section string
}

// tlsPolicy is one BackendTLSPolicy as evaluated for this Gateway.
type tlsPolicy struct {
	p *gatewayv1.BackendTLSPolicy
	// tls is what a backend under the policy is spoken to with; nil when the policy cannot be
	// honoured, and the backend's traffic is then refused.
	tls *ir.BackendTLS
	// accepted and resolved are the policy's conditions for this Gateway, conflicts aside.
	accepted, resolved metav1.Condition
	// conflicted names the policy that takes precedence on one of this policy's targets.
	conflicted string
	// used is true once a backend of this Gateway's routes is a Service the policy targets.
	used bool
	// missingSection names a targeted port that the Service does not have.
	missingSection string
}

// backendTLSPolicies evaluates every policy of the snapshot and picks, for every target, the
// one that takes precedence: the oldest, then the first by namespace/name.
type backendTLSPolicies struct {
	byKey     map[tlsPolicyKey]*tlsPolicy
	byService map[types.NamespacedName][]*tlsPolicy
	all       []*tlsPolicy
}

// newBackendTLSPolicies evaluates the snapshot's policies; none is used until a backend asks.
func newBackendTLSPolicies(s *Snapshot) *backendTLSPolicies {
	ps := &backendTLSPolicies{byKey: map[tlsPolicyKey]*tlsPolicy{}, byService: map[types.NamespacedName][]*tlsPolicy{}}
	sorted := append([]*gatewayv1.BackendTLSPolicy(nil), s.BackendTLSPolicies...)
	sort.SliceStable(sorted, func(i, j int) bool { return policyPrecedes(sorted[i], sorted[j]) })
	for _, p := range sorted {
		tp := evaluateTLSPolicy(s, p)
		ps.all = append(ps.all, tp)
		for _, ref := range p.Spec.TargetRefs {
			if ref.Group != "" || ref.Kind != "Service" {
				continue
			}
			svc := types.NamespacedName{Namespace: p.Namespace, Name: string(ref.Name)}
			key := tlsPolicyKey{service: svc, section: ""}
			if ref.SectionName != nil {
				key.section = string(*ref.SectionName)
				if svcObj, ok := s.Services[svc]; ok && !hasPortNamed(svcObj, key.section) && tp.missingSection == "" {
					tp.missingSection = fmt.Sprintf("Service %s has no port named %q", svc, status.Truncate(key.section))
				}
			}
			if first, ok := ps.byKey[key]; ok {
				// A policy listing one target twice does not conflict with itself.
				if first != tp && tp.conflicted == "" {
					tp.conflicted = first.p.Namespace + "/" + first.p.Name
				}
			} else {
				ps.byKey[key] = tp
			}
			if l := ps.byService[svc]; len(l) == 0 || l[len(l)-1] != tp {
				ps.byService[svc] = append(l, tp)
			}
		}
	}
	return ps
}

// hasPortNamed reports whether a Service has a port of that name (a policy's sectionName).
func hasPortNamed(svc *corev1.Service, name string) bool {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
}

// policyPrecedes orders policies by precedence on a shared target: older first, then by
// namespace/name.
func policyPrecedes(a, b *gatewayv1.BackendTLSPolicy) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// forBackend returns the policy that applies to a Service port, nil for none, and marks
// every policy targeting the Service as used by this Gateway (they all report status to it).
// A policy naming the port takes precedence over one for the whole Service.
func (ps *backendTLSPolicies) forBackend(svc *corev1.Service, port *corev1.ServicePort) *tlsPolicy {
	nn := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	for _, tp := range ps.byService[nn] {
		tp.used = true
	}
	if port.Name != "" {
		if tp, ok := ps.byKey[tlsPolicyKey{service: nn, section: port.Name}]; ok {
			return tp
		}
	}
	return ps.byKey[tlsPolicyKey{service: nn}]
}

// evaluateTLSPolicy checks a policy's validation settings and resolves its CA references.
// Whatever Kengine cannot enforce makes the policy unusable: its backends are refused, never
// reached without the verification the policy asks for.
func evaluateTLSPolicy(s *Snapshot, p *gatewayv1.BackendTLSPolicy) *tlsPolicy {
	gen := p.Generation
	tp := &tlsPolicy{
		p:        p,
		accepted: status.Condition(gatewayv1.PolicyConditionAccepted, true, gatewayv1.PolicyReasonAccepted, "policy accepted", gen),
		resolved: status.Condition(gatewayv1.BackendTLSPolicyConditionResolvedRefs, true, gatewayv1.BackendTLSPolicyReasonResolvedRefs, "all CA certificate references resolved", gen),
	}
	invalid := func(msg string) *tlsPolicy {
		tp.tls = nil
		tp.accepted = status.Condition(gatewayv1.PolicyConditionAccepted, false, gatewayv1.PolicyReasonInvalid, msg, gen)
		return tp
	}
	v := p.Spec.Validation
	out := &ir.BackendTLS{ServerName: strings.ToLower(string(v.Hostname))}
	tp.tls = out
	cas, refErr := resolveCACertificates(s, p)
	if refErr != nil {
		tp.resolved = status.Condition(gatewayv1.BackendTLSPolicyConditionResolvedRefs, false, refErr.reason, status.Truncate(refErr.msg), gen)
	}
	switch {
	case len(v.CACertificateRefs) > 0 && v.WellKnownCACertificates != nil && *v.WellKnownCACertificates != "":
		return invalid("caCertificateRefs and wellKnownCACertificates are exclusive")
	case len(v.CACertificateRefs) > 0:
		if len(cas) == 0 {
			tp.tls = nil
			tp.accepted = status.Condition(gatewayv1.PolicyConditionAccepted, false, gatewayv1.BackendTLSPolicyReasonNoValidCACertificate,
				"no CA certificate reference is valid; traffic to the targeted backend is refused", gen)
			return tp
		}
		// A subset of the listed authorities trusts less, never more: the valid ones are used.
		out.CACertificates = cas
	case v.WellKnownCACertificates != nil && *v.WellKnownCACertificates == gatewayv1.WellKnownCACertificatesSystem:
		// No CA certificates: Kengine verifies against the system trust store.
	case v.WellKnownCACertificates != nil && *v.WellKnownCACertificates != "":
		return invalid(fmt.Sprintf("wellKnownCACertificates %q is not supported (only %q)", status.Truncate(string(*v.WellKnownCACertificates)), gatewayv1.WellKnownCACertificatesSystem))
	default:
		return invalid("neither caCertificateRefs nor wellKnownCACertificates is set")
	}
	if err := checkBackendServerName(out.ServerName); err != nil {
		return invalid(err.Error())
	}
	if len(v.SubjectAltNames) > 0 {
		return invalid(errNoSANCheck.Error())
	}
	if len(p.Spec.Options) > 0 {
		return invalid("options are not supported: Kengine would not apply them, and TLS settings a policy asks for are never ignored")
	}
	return tp
}

// checkBackendServerName checks a policy hostname in the form Kengine uses it: as the TLS
// server name, sent as SNI and verified against the certificate. The HTTP transport expands
// placeholders in it, so a brace could turn a tenant string into request data.
func checkBackendServerName(h string) error {
	if strings.ContainsAny(h, "{}") {
		return fmt.Errorf("hostname %q is not a DNS name", status.Truncate(h))
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return fmt.Errorf("hostname %q is an IP address; a TLS server name is a DNS name", h)
	}
	if strings.HasPrefix(h, "*") {
		return fmt.Errorf("hostname %q is a wildcard; a TLS server name is one DNS name", h)
	}
	if errs := validation.IsDNS1123Subdomain(h); len(errs) > 0 {
		return fmt.Errorf("hostname %q is not a DNS name: %s", status.Truncate(h), strings.Join(errs, "; "))
	}
	return checkHostname(h)
}

// caRefError is why a policy's CA references do not all resolve.
type caRefError struct {
	reason gatewayv1.PolicyConditionReason
	msg    string
}

// resolveCACertificates returns the PEM bundles of the policy's valid CA references, and
// the first problem with the others. Only ConfigMaps in the policy's namespace are read:
// the controller keeps no data of other Secrets than certificates in its cache.
func resolveCACertificates(s *Snapshot, p *gatewayv1.BackendTLSPolicy) ([]string, *caRefError) {
	var out []string
	var first *caRefError
	fail := func(reason gatewayv1.PolicyConditionReason, msg string) {
		if first == nil {
			first = &caRefError{reason: reason, msg: msg}
		}
	}
	for _, ref := range p.Spec.Validation.CACertificateRefs {
		if ref.Group == "" && ref.Kind == "Secret" {
			fail(gatewayv1.BackendTLSPolicyReasonInvalidKind, fmt.Sprintf("caCertificateRef %q: Secrets are not supported as CA certificates (only core ConfigMaps): the controller does not cache the data of Secrets other than listener certificates", ref.Name))
			continue
		}
		if ref.Group != "" || ref.Kind != "ConfigMap" {
			fail(gatewayv1.BackendTLSPolicyReasonInvalidKind, fmt.Sprintf("caCertificateRef %q: kind %q in group %q is not supported (only core ConfigMaps)", ref.Name, ref.Kind, ref.Group))
			continue
		}
		nn := types.NamespacedName{Namespace: p.Namespace, Name: string(ref.Name)}
		cm, ok := s.ConfigMaps[nn]
		if !ok {
			fail(gatewayv1.BackendTLSPolicyReasonInvalidCACertificateRef, fmt.Sprintf("caCertificateRef: ConfigMap %s not found", nn))
			continue
		}
		bundle, ok := cm.Data[caCertificateKey]
		if !ok || strings.TrimSpace(bundle) == "" {
			fail(gatewayv1.BackendTLSPolicyReasonInvalidCACertificateRef, fmt.Sprintf("caCertificateRef: ConfigMap %s has no %q", nn, caCertificateKey))
			continue
		}
		if err := checkCABundle(bundle); err != nil {
			fail(gatewayv1.BackendTLSPolicyReasonInvalidCACertificateRef, fmt.Sprintf("caCertificateRef: ConfigMap %s %q: %v", nn, caCertificateKey, err))
			continue
		}
		out = append(out, bundle)
	}
	return out, first
}

// checkCABundle checks a CA bundle the way render turns it into Kengine's inline pool: a
// bounded sequence of PEM certificates and nothing else, each of them parseable.
func checkCABundle(bundle string) error {
	if len(bundle) > maxCABundleBytes {
		return fmt.Errorf("%d bytes is more than the %d a CA bundle may hold", len(bundle), maxCABundleBytes)
	}
	rest := []byte(bundle)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if n++; n > maxCABundleEntries {
			return fmt.Errorf("more than %d certificates", maxCABundleEntries)
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("holds a %q PEM block; only certificates are allowed", status.Truncate(block.Type))
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate %d: %v", n, err)
		}
	}
	if n == 0 {
		return errors.New("no PEM certificate")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return errors.New("text that is not a PEM certificate follows the certificates")
	}
	return nil
}

// policyResults returns the status this Gateway owns in every policy of the snapshot: an
// ancestor entry in the policies its backends use, none in the others (which removes a
// stale one).
func (ps *backendTLSPolicies) policyResults(gw *gatewayv1.Gateway, controllerName string) []status.PolicyResult {
	out := make([]status.PolicyResult, 0, len(ps.all))
	group := gatewayv1.Group(gatewayv1.GroupName)
	kind := gatewayv1.Kind("Gateway")
	ns := gatewayv1.Namespace(gw.Namespace)
	for _, tp := range ps.all {
		pr := status.PolicyResult{Policy: tp.p}
		if tp.used {
			accepted := tp.accepted
			if tp.missingSection != "" && accepted.Status == metav1.ConditionTrue {
				accepted = status.Condition(gatewayv1.PolicyConditionAccepted, false, gatewayv1.PolicyReasonTargetNotFound, tp.missingSection, tp.p.Generation)
			}
			if tp.conflicted != "" {
				accepted = status.Condition(gatewayv1.PolicyConditionAccepted, false, gatewayv1.PolicyReasonConflicted,
					fmt.Sprintf("BackendTLSPolicy %s targets the same Service and section and takes precedence (older, or first by name)", tp.conflicted), tp.p.Generation)
			}
			pr.Ancestors = []gatewayv1.PolicyAncestorStatus{{
				AncestorRef:    gatewayv1.ParentReference{Group: &group, Kind: &kind, Namespace: &ns, Name: gatewayv1.ObjectName(gw.Name)},
				ControllerName: gatewayv1.GatewayController(controllerName),
				Conditions:     []metav1.Condition{accepted, tp.resolved},
			}}
		}
		out = append(out, pr)
	}
	return out
}
