package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testCA signs the listener certificates of one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Kengine integration test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(72 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// serverSecret issues a serving certificate for dnsNames and returns it as a kubernetes.io/tls
// Secret of the Gateway's namespace.
func (ca *testCA) serverSecret(t testing.TB, name string, serial int64, dnsNames ...string) *corev1.Secret {
	t.Helper()
	der, key := ca.issue(t, serial, pkix.Name{CommonName: dnsNames[0]}, dnsNames, x509.ExtKeyUsageServerAuth)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: gatewayNamespace, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		},
	}
}

// issue signs a fresh P-256 key for subject, valid from an hour ago for three days, with the
// extended key usage given, and returns the certificate's DER and the key.
func (ca *testCA) issue(t testing.TB, serial int64, subject pkix.Name, dnsNames []string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      subject,
		DNSNames:     dnsNames,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(72 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func TestHTTPSListenersServeTheirOwnCertificateBySNI(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "a", "wild")
	ca := newTestCA(t)
	port := freePort(t)
	// The wildcard certificate also covers *.b.example.com, so that a client can verify it
	// for a name two labels under the listener's wildcard, which that listener serves.
	h.apply(snapshot(gateway(
		httpsListener("a", port, "a.example.com", "cert-a"),
		httpsListener("wild", port, "*.example.com", "cert-wild"),
	),
		ca.serverSecret(t, "cert-a", 2, "a.example.com"),
		ca.serverSecret(t, "cert-wild", 3, "*.example.com", "*.b.example.com"),
		route("on-a", onListener("a"), withRules(rule(to("a")))),
		route("on-wild", onListener("wild"), withRules(rule(to("wild")))),
		service("a", be["a"]), service("wild", be["wild"]),
	))

	for _, tc := range []struct {
		serverName string
		wantCert   []string // the DNS names of the certificate served; nil expects no handshake
		want       string
	}{
		{"a.example.com", []string{"a.example.com"}, "a"},
		{"x.example.com", []string{"*.example.com", "*.b.example.com"}, "wild"},
		{"y.b.example.com", []string{"*.example.com", "*.b.example.com"}, "wild"},
		{"other.test", nil, ""},
	} {
		t.Run(tc.serverName, func(t *testing.T) {
			rep, leaf, err := h.sendTLS(port, request{host: tc.serverName, path: "/"}, ca.pool)
			if tc.wantCert == nil {
				if err == nil {
					t.Fatalf("a server name no listener serves got %v with certificate %v", rep, leaf.DNSNames)
				}
				return
			}
			if err != nil {
				t.Fatalf("HTTPS request: %v", err)
			}
			if !slices.Equal(leaf.DNSNames, tc.wantCert) {
				t.Errorf("served certificate for %q, want %q", leaf.DNSNames, tc.wantCert)
			}
			expectReply(t, rep, http.StatusOK, tc.want)
		})
	}
}
