package translate

import (
	"crypto/tls"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/status"
)

// GatewayReasonUnsupportedValue is the Gateway ResolvedRefs=False reason of a backend client
// certificate that resolves but cannot be presented. The specification lets implementations
// add reasons of their own.
const GatewayReasonUnsupportedValue gatewayv1.GatewayConditionReason = "UnsupportedValue"

// errNoBackendClientCertificate is why a valid spec.tls.backend.clientCertificateRef is not
// honoured: Kengine's reverse_proxy TLS transport (Caddy v2.11.9) presents a client
// certificate only from PEM files on the pod's disk (client_certificate_file) or by
// automating one (client_certificate_automate), which obtains a new certificate for the name
// from an issuer and picks among every cached certificate of that name; neither presents the
// key pair the controller loads with the config.
const errNoBackendClientCertificate = "clientCertificateRef resolves, but Kengine's reverse proxy cannot present it: its TLS transport takes a client certificate only from files on the pod or by obtaining one itself, never from a certificate loaded with the config; TLS backends are reached without a client certificate"

// backendClientCertificate checks the Gateway's spec.tls.backend.clientCertificateRef and
// returns its ResolvedRefs condition; ok is false when the Gateway sets none.
func (t *translator) backendClientCertificate() (c metav1.Condition, ok bool) {
	gw := t.s.Gateway
	if gw.Spec.TLS == nil || gw.Spec.TLS.Backend == nil || gw.Spec.TLS.Backend.ClientCertificateRef == nil {
		return c, false
	}
	ref := gw.Spec.TLS.Backend.ClientCertificateRef
	invalid := func(reason gatewayv1.GatewayConditionReason, format string, args ...any) (metav1.Condition, bool) {
		return status.Condition(gatewayv1.GatewayConditionResolvedRefs, false, reason,
			status.Truncate("spec.tls.backend.clientCertificateRef: "+fmt.Sprintf(format, args...)), gw.Generation), true
	}
	if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Secret") {
		return invalid(gatewayv1.GatewayReasonInvalidClientCertificateRef, "%q must be a core Secret", status.Truncate(string(ref.Name)))
	}
	nn, allowed := t.gatewayReference("Secret", ref.Namespace, ref.Name)
	if !allowed {
		return invalid(gatewayv1.GatewayReasonRefNotPermitted, "no ReferenceGrant allows a Gateway in %s to use Secret %s", gw.Namespace, nn)
	}
	sec, found := t.s.Secrets[nn]
	if !found {
		return invalid(gatewayv1.GatewayReasonInvalidClientCertificateRef, "Secret %s not found", nn)
	}
	if sec.Type != corev1.SecretTypeTLS {
		return invalid(gatewayv1.GatewayReasonInvalidClientCertificateRef, "Secret %s: type is %q, want %q", nn, sec.Type, corev1.SecretTypeTLS)
	}
	if _, err := tls.X509KeyPair(sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey]); err != nil {
		// The parse error never contains key material.
		return invalid(gatewayv1.GatewayReasonInvalidClientCertificateRef, "Secret %s: invalid key pair: %v", nn, err)
	}
	return status.Condition(gatewayv1.GatewayConditionResolvedRefs, false, GatewayReasonUnsupportedValue, errNoBackendClientCertificate, gw.Generation), true
}
