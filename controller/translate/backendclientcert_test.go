package translate_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
)

// The Gateway's backend client certificate reference gets the ResolvedRefs reasons the
// specification lists for a bad reference, and a valid one is reported as not honoured
// (Kengine cannot present it) instead of being silently accepted. The Gateway stays Accepted.
func TestBackendClientCertificateStatus(t *testing.T) {
	withRef := func(ref gatewayv1.SecretObjectReference) *gatewayv1.Gateway {
		gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
		gw.Spec.TLS = &gatewayv1.GatewayTLSConfig{Backend: &gatewayv1.GatewayBackendTLS{ClientCertificateRef: &ref}}
		return gw
	}
	valid := testobj.TLSSecret(t, "infra", "client", "gateway.example.com")
	opaque := valid.DeepCopy()
	opaque.Name, opaque.Type = "opaque", corev1.SecretTypeOpaque
	broken := valid.DeepCopy()
	broken.Name, broken.Data = "broken", map[string][]byte{corev1.TLSCertKey: []byte("junk"), corev1.TLSPrivateKeyKey: []byte("junk")}
	elsewhere := testobj.TLSSecret(t, "certs", "client", "gateway.example.com")
	tests := []struct {
		name string
		gw   *gatewayv1.Gateway
		objs []any
		want string // ResolvedRefs; "" expects no such condition
	}{
		{name: "none", gw: testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, "")), want: ""},
		{name: "missing", gw: withRef(gatewayv1.SecretObjectReference{Name: "absent"}), want: "False/InvalidClientCertificateRef"},
		{name: "other kind", gw: withRef(gatewayv1.SecretObjectReference{Kind: ptr.To(gatewayv1.Kind("ConfigMap")), Name: "client"}), objs: []any{valid}, want: "False/InvalidClientCertificateRef"},
		{name: "other group", gw: withRef(gatewayv1.SecretObjectReference{Group: ptr.To(gatewayv1.Group("example.com")), Name: "client"}), objs: []any{valid}, want: "False/InvalidClientCertificateRef"},
		{name: "not a TLS Secret", gw: withRef(gatewayv1.SecretObjectReference{Name: "opaque"}), objs: []any{opaque}, want: "False/InvalidClientCertificateRef"},
		{name: "malformed", gw: withRef(gatewayv1.SecretObjectReference{Name: "broken"}), objs: []any{broken}, want: "False/InvalidClientCertificateRef"},
		{name: "other namespace without grant", gw: withRef(gatewayv1.SecretObjectReference{Name: "client", Namespace: ptr.To(gatewayv1.Namespace("certs"))}), objs: []any{elsewhere}, want: "False/RefNotPermitted"},
		{name: "other namespace with grant", gw: withRef(gatewayv1.SecretObjectReference{Name: "client", Namespace: ptr.To(gatewayv1.Namespace("certs"))}),
			objs: []any{elsewhere, grant("certs", "infra", "Gateway", "Secret", "client")}, want: "False/UnsupportedValue"},
		{name: "valid", gw: withRef(gatewayv1.SecretObjectReference{Name: "client"}), objs: []any{valid}, want: "False/UnsupportedValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := run(testobj.Snapshot(tc.gw, tc.objs...))
			got := conds(res.Status.Gateway.Conditions)
			if got["ResolvedRefs"] != tc.want {
				t.Errorf("ResolvedRefs = %q, want %q", got["ResolvedRefs"], tc.want)
			}
			if got["Accepted"] != "True/Accepted" {
				t.Errorf("Accepted = %q, want True/Accepted", got["Accepted"])
			}
		})
	}
}
