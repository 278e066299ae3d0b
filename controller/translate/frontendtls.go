package translate

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/controller/status"
)

// frontendValidation is the client certificate validation of one HTTPS listener, resolved.
type frontendValidation struct {
	// cv is what the listener asks of clients; nil when no validation applies, or when none of
	// its CA references is usable (then the listener is not accepted).
	cv *ir.ClientValidation
	// reason and msg are the ResolvedRefs=False reason and message of the first reference
	// that does not resolve; empty when every reference resolves.
	reason gatewayv1.ListenerConditionReason
	msg    string
	// noValidCA is true when validation is asked for and no CA reference is usable: the
	// listener is then refused rather than served without the check.
	noValidCA bool
}

// frontendTLSConfig returns the Gateway's client validation settings for an HTTPS listener
// on port: the per-port entry for the port if there is one, the default otherwise; nil when
// clients are not validated.
func frontendTLSConfig(gw *gatewayv1.Gateway, port gatewayv1.PortNumber) *gatewayv1.FrontendTLSValidation {
	if gw.Spec.TLS == nil || gw.Spec.TLS.Frontend == nil {
		return nil
	}
	f := gw.Spec.TLS.Frontend
	for _, pp := range f.PerPort {
		if pp.Port == port {
			return pp.TLS.Validation
		}
	}
	return f.Default.Validation
}

// frontendValidation resolves the client validation an HTTPS listener is subject to. The
// Gateway owner writes the references, but the CA bundles are checked as render compiles
// them, so a bad one is reported here and never reaches Kengine.
func (t *translator) frontendValidation(spec gatewayv1.Listener) frontendValidation {
	var out frontendValidation
	v := frontendTLSConfig(t.s.Gateway, spec.Port)
	if v == nil || spec.Protocol != gatewayv1.HTTPSProtocolType {
		return out
	}
	var mode ir.ClientValidationMode
	switch v.Mode {
	case "", gatewayv1.AllowValidOnly:
		mode = ir.ClientCertRequired
	case gatewayv1.AllowInsecureFallback:
		mode = ir.ClientCertUnverified
	default:
		out.noValidCA = true
		out.reason, out.msg = gatewayv1.ListenerReasonInvalidCACertificateRef, fmt.Sprintf("client validation mode %q is not supported", status.Truncate(string(v.Mode)))
		return out
	}
	fail := func(reason gatewayv1.ListenerConditionReason, format string, args ...any) {
		if out.reason == "" {
			out.reason, out.msg = reason, fmt.Sprintf(format, args...)
		}
	}
	gw := t.s.Gateway
	var cas []string
	for _, ref := range v.CACertificateRefs {
		if ref.Group != "" || ref.Kind != "ConfigMap" {
			fail(gatewayv1.ListenerReasonInvalidCACertificateKind, "caCertificateRef %q: kind %q in group %q is not supported (only core ConfigMaps with %q)",
				status.Truncate(string(ref.Name)), status.Truncate(string(ref.Kind)), status.Truncate(string(ref.Group)), caCertificateKey)
			continue
		}
		nn, allowed := t.gatewayReference("ConfigMap", ref.Namespace, ref.Name)
		if !allowed {
			fail(gatewayv1.ListenerReasonRefNotPermitted, "caCertificateRef: no ReferenceGrant allows a Gateway in %s to use ConfigMap %s", gw.Namespace, nn)
			continue
		}
		cm, ok := t.s.ConfigMaps[nn]
		if !ok {
			fail(gatewayv1.ListenerReasonInvalidCACertificateRef, "caCertificateRef: ConfigMap %s not found", nn)
			continue
		}
		bundle, ok := cm.Data[caCertificateKey]
		if !ok || strings.TrimSpace(bundle) == "" {
			fail(gatewayv1.ListenerReasonInvalidCACertificateRef, "caCertificateRef: ConfigMap %s has no %q", nn, caCertificateKey)
			continue
		}
		if err := checkCABundle(bundle); err != nil {
			fail(gatewayv1.ListenerReasonInvalidCACertificateRef, "caCertificateRef: ConfigMap %s %q: %v", nn, caCertificateKey, err)
			continue
		}
		cas = append(cas, bundle)
	}
	if len(cas) == 0 {
		out.noValidCA = true
		if out.reason == "" {
			out.reason, out.msg = gatewayv1.ListenerReasonInvalidCACertificateRef, "client validation has no caCertificateRefs"
		}
		return out
	}
	// A subset of the listed authorities trusts fewer clients, never more: the valid ones
	// are used while the others are reported.
	out.cv = &ir.ClientValidation{CACertificates: cas, Mode: mode}
	return out
}

// insecureFrontendCondition is the Gateway's InsecureFrontendValidationMode condition: present
// (True) while its default or a per-port client validation accepts clients without a valid
// certificate, absent otherwise.
func insecureFrontendCondition(gw *gatewayv1.Gateway) (metav1.Condition, bool) {
	if gw.Spec.TLS == nil || gw.Spec.TLS.Frontend == nil {
		return metav1.Condition{}, false
	}
	f := gw.Spec.TLS.Frontend
	insecure := []string{}
	if v := f.Default.Validation; v != nil && v.Mode == gatewayv1.AllowInsecureFallback {
		insecure = append(insecure, "default")
	}
	for _, pp := range f.PerPort {
		if v := pp.TLS.Validation; v != nil && v.Mode == gatewayv1.AllowInsecureFallback {
			insecure = append(insecure, fmt.Sprintf("port %d", pp.Port))
		}
	}
	if len(insecure) == 0 {
		return metav1.Condition{}, false
	}
	return status.Condition(gatewayv1.GatewayConditionInsecureFrontendValidationMode, true, gatewayv1.GatewayReasonConfigurationChanged,
		fmt.Sprintf("client validation (%s) is AllowInsecureFallback: clients without a valid certificate are accepted", strings.Join(insecure, ", ")), gw.Generation), true
}
