package translate_test

import (
	"crypto/x509"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/translate"
)

// caPEM returns a fresh self-signed CA certificate in PEM.
func caPEM(t *testing.T) string {
	t.Helper()
	s := testobj.SelfSignedSecret(t, "x", "x", &x509.Certificate{
		SerialNumber: big.NewInt(1), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	})
	return string(s.Data[corev1.TLSCertKey])
}

func tlsPolicy(name, service, hostname string, mods ...func(*gatewayv1.BackendTLSPolicy)) *gatewayv1.BackendTLSPolicy {
	p := &gatewayv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: name, Generation: 3}}
	p.Spec.TargetRefs = []gatewayv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{Kind: "Service", Name: gatewayv1.ObjectName(service)}}}
	p.Spec.Validation.Hostname = gatewayv1.PreciseHostname(hostname)
	p.Spec.Validation.CACertificateRefs = []gatewayv1.LocalObjectReference{{Kind: "ConfigMap", Name: "ca"}}
	for _, m := range mods {
		m(p)
	}
	return p
}

func caConfigMap(bundle string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "ca"}, Data: map[string]string{"ca.crt": bundle}}
}

// Every value a policy author sets is checked in the form Kengine uses it; a hostile one
// makes only the targeted backend answer 500 (never a connection without verification), the
// policy says why, and the rest of the config still renders.
func TestBackendTLSPolicyHostileValues(t *testing.T) {
	ca := caPEM(t)
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	route := testobj.Route("infra", "r", testobj.Parent("", "gw", ""), testobj.Rule(nil, nil, testobj.Backend("", "target", 443, 1)))
	svc, slice := testobj.Service("infra", "target", 443, 8443, "10.0.0.5")
	garbageDER := "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	tests := []struct {
		name       string
		policy     *gatewayv1.BackendTLSPolicy
		bundle     string
		wantReason string // Accepted reason; "Accepted" means the backend is spoken to over TLS
	}{
		{name: "valid", policy: tlsPolicy("p", "target", "backend.example.com"), bundle: ca, wantReason: "Accepted"},
		{name: "placeholder in hostname", policy: tlsPolicy("p", "target", "{http.request.host}"), bundle: ca, wantReason: "Invalid"},
		{name: "env placeholder in hostname", policy: tlsPolicy("p", "target", "{env.KENGINE_ADMIN}.example.com"), bundle: ca, wantReason: "Invalid"},
		{name: "wildcard hostname", policy: tlsPolicy("p", "target", "*.example.com"), bundle: ca, wantReason: "Invalid"},
		{name: "IP hostname", policy: tlsPolicy("p", "target", "10.0.0.5"), bundle: ca, wantReason: "Invalid"},
		{name: "hostname with spaces", policy: tlsPolicy("p", "target", "a b.example.com"), bundle: ca, wantReason: "Invalid"},
		{name: "huge hostname", policy: tlsPolicy("p", "target", strings.Repeat("a.", 200)+"com"), bundle: ca, wantReason: "Invalid"},
		{name: "bad punycode hostname", policy: tlsPolicy("p", "target", "xn--0.example.com"), bundle: ca, wantReason: "Invalid"},
		{name: "huge bundle", policy: tlsPolicy("p", "target", "backend.example.com"), bundle: strings.Repeat(ca, 300*1024/len(ca)), wantReason: "NoValidCACertificate"},
		{name: "too many certificates", policy: tlsPolicy("p", "target", "backend.example.com"), bundle: strings.Repeat(ca, 65), wantReason: "NoValidCACertificate"},
		{name: "not PEM", policy: tlsPolicy("p", "target", "backend.example.com"), bundle: "hello", wantReason: "NoValidCACertificate"},
		{name: "text after the certificate", policy: tlsPolicy("p", "target", "backend.example.com"), bundle: ca + "}\"}, {\"insecure_skip_verify\": true", wantReason: "NoValidCACertificate"},
		{name: "garbage DER", policy: tlsPolicy("p", "target", "backend.example.com"), bundle: garbageDER, wantReason: "NoValidCACertificate"},
		{name: "subjectAltNames", policy: tlsPolicy("p", "target", "backend.example.com", func(p *gatewayv1.BackendTLSPolicy) {
			p.Spec.Validation.SubjectAltNames = []gatewayv1.SubjectAltName{{Type: gatewayv1.URISubjectAltNameType, URI: "spiffe://x/y"}}
		}), bundle: ca, wantReason: "Invalid"},
		{name: "unknown well-known set", policy: tlsPolicy("p", "target", "backend.example.com", func(p *gatewayv1.BackendTLSPolicy) {
			p.Spec.Validation.CACertificateRefs = nil
			p.Spec.Validation.WellKnownCACertificates = ptr.To(gatewayv1.WellKnownCACertificatesType("example.com/mine"))
		}), bundle: ca, wantReason: "Invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := translate.Translate(testobj.Snapshot(gw, route, svc, slice, tt.policy, caConfigMap(tt.bundle)), translate.Options{ControllerName: testobj.ControllerName})
			if len(tr.Status.Policies) != 1 || len(tr.Status.Policies[0].Ancestors) != 1 {
				t.Fatalf("policy status = %+v, want one ancestor", tr.Status.Policies)
			}
			accepted := meta.FindStatusCondition(tr.Status.Policies[0].Ancestors[0].Conditions, string(gatewayv1.PolicyConditionAccepted))
			if accepted.Reason != tt.wantReason || accepted.ObservedGeneration != 3 {
				t.Fatalf("Accepted = %s/%s (%s), generation %d; want reason %s", accepted.Status, accepted.Reason, accepted.Message, accepted.ObservedGeneration, tt.wantReason)
			}
			if len(accepted.Message) > 1024 {
				t.Errorf("message of %d bytes", len(accepted.Message))
			}
			b := tr.Gateway.HTTP[0].Listeners[0].VirtualHosts[0].Routes[0].Backends[0]
			if tt.wantReason == "Accepted" {
				if b.TLS == nil || b.TLS.ServerName != "backend.example.com" || b.Failure != 0 {
					t.Errorf("backend = %+v, want TLS to backend.example.com", b)
				}
			} else if b.Failure != 500 || b.TLS != nil || len(b.Endpoints) != 0 {
				t.Errorf("backend = %+v, want a 500 share and nothing dialled", b)
			}
			cfg, err := render.Config(tr.Gateway, testobj.RenderOptions())
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			data, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), "insecure_skip_verify") {
				t.Error("rendered config skips verification")
			}
		})
	}
}

// A policy for a port (sectionName) takes precedence over one for the Service; two for the
// same target conflict and the older wins, then the first by name.
func TestBackendTLSPolicyPrecedence(t *testing.T) {
	ca := caPEM(t)
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	route := testobj.Route("infra", "r", testobj.Parent("", "gw", ""), testobj.Rule(nil, nil, testobj.Backend("", "target", 443, 1)))
	svc, slice := testobj.Service("infra", "target", 443, 8443, "10.0.0.5")
	at := func(sec int64) func(*gatewayv1.BackendTLSPolicy) {
		return func(p *gatewayv1.BackendTLSPolicy) { p.CreationTimestamp = metav1.Unix(sec, 0) }
	}
	section := func(p *gatewayv1.BackendTLSPolicy) {
		p.Spec.TargetRefs[0].SectionName = ptr.To(gatewayv1.SectionName(svc.Spec.Ports[0].Name))
	}
	tests := []struct {
		name     string
		policies []*gatewayv1.BackendTLSPolicy
		want     string // the server name used
		accepted map[string]string
	}{
		{name: "older wins", policies: []*gatewayv1.BackendTLSPolicy{tlsPolicy("b", "target", "old.example.com", at(1)), tlsPolicy("a", "target", "new.example.com", at(2))},
			want: "old.example.com", accepted: map[string]string{"b": "Accepted", "a": "Conflicted"}},
		{name: "same age: first by name", policies: []*gatewayv1.BackendTLSPolicy{tlsPolicy("b", "target", "b.example.com", at(1)), tlsPolicy("a", "target", "a.example.com", at(1))},
			want: "a.example.com", accepted: map[string]string{"a": "Accepted", "b": "Conflicted"}},
		{name: "section beats whole Service", policies: []*gatewayv1.BackendTLSPolicy{tlsPolicy("a", "target", "svc.example.com", at(1)), tlsPolicy("b", "target", "port.example.com", at(2), section)},
			want: "port.example.com", accepted: map[string]string{"a": "Accepted", "b": "Accepted"}},
		{name: "an invalid older policy still wins, and its backend is refused", policies: []*gatewayv1.BackendTLSPolicy{
			tlsPolicy("a", "target", "{bad}", at(1)), tlsPolicy("b", "target", "good.example.com", at(2))},
			want: "", accepted: map[string]string{"a": "Invalid", "b": "Conflicted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := []any{route, svc, slice, caConfigMap(ca)}
			for _, p := range tt.policies {
				objs = append(objs, p)
			}
			tr := translate.Translate(testobj.Snapshot(gw, objs...), translate.Options{ControllerName: testobj.ControllerName})
			b := tr.Gateway.HTTP[0].Listeners[0].VirtualHosts[0].Routes[0].Backends[0]
			got := ""
			if b.TLS != nil {
				got = b.TLS.ServerName
			}
			if got != tt.want {
				t.Errorf("server name %q, want %q (backend %+v)", got, tt.want, b)
			}
			for _, pr := range tr.Status.Policies {
				c := meta.FindStatusCondition(pr.Ancestors[0].Conditions, string(gatewayv1.PolicyConditionAccepted))
				if c.Reason != tt.accepted[pr.Policy.Name] {
					t.Errorf("policy %s: Accepted %s (%s), want %s", pr.Policy.Name, c.Reason, c.Message, tt.accepted[pr.Policy.Name])
				}
			}
		})
	}
}

// A policy that lists its target twice is not in conflict with itself.
func TestBackendTLSPolicyDuplicateTargetIsNoConflict(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	route := testobj.Route("infra", "r", testobj.Parent("", "gw", ""), testobj.Rule(nil, nil, testobj.Backend("", "target", 443, 1)))
	svc, slice := testobj.Service("infra", "target", 443, 8443, "10.0.0.5")
	p := tlsPolicy("p", "target", "backend.example.com", func(p *gatewayv1.BackendTLSPolicy) {
		p.Spec.TargetRefs = append(p.Spec.TargetRefs, p.Spec.TargetRefs[0])
	})
	tr := translate.Translate(testobj.Snapshot(gw, route, svc, slice, p, caConfigMap(caPEM(t))), translate.Options{ControllerName: testobj.ControllerName})
	c := meta.FindStatusCondition(tr.Status.Policies[0].Ancestors[0].Conditions, string(gatewayv1.PolicyConditionAccepted))
	if c.Reason != "Accepted" {
		t.Errorf("Accepted = %s (%s)", c.Reason, c.Message)
	}
}

// A sectionName that names no port of the Service is TargetNotFound and applies to nothing.
func TestBackendTLSPolicyMissingSection(t *testing.T) {
	gw := testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, ""))
	route := testobj.Route("infra", "r", testobj.Parent("", "gw", ""), testobj.Rule(nil, nil, testobj.Backend("", "target", 443, 1)))
	svc, slice := testobj.Service("infra", "target", 443, 8443, "10.0.0.5")
	p := tlsPolicy("p", "target", "backend.example.com", func(p *gatewayv1.BackendTLSPolicy) {
		p.Spec.TargetRefs[0].SectionName = ptr.To(gatewayv1.SectionName("no-such-port"))
	})
	tr := translate.Translate(testobj.Snapshot(gw, route, svc, slice, p, caConfigMap(caPEM(t))), translate.Options{ControllerName: testobj.ControllerName})
	c := meta.FindStatusCondition(tr.Status.Policies[0].Ancestors[0].Conditions, string(gatewayv1.PolicyConditionAccepted))
	if c.Reason != string(gatewayv1.PolicyReasonTargetNotFound) {
		t.Errorf("Accepted = %s (%s), want TargetNotFound", c.Reason, c.Message)
	}
	if b := tr.Gateway.HTTP[0].Listeners[0].VirtualHosts[0].Routes[0].Backends[0]; b.TLS != nil {
		t.Errorf("backend = %+v, want no TLS from a policy for another port", b)
	}
}
