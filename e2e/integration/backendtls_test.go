package integration

import (
	"crypto/tls"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/translate"
)

// backendCert issues a serving certificate for the DNS names from ca, for a TLS backend.
func backendCert(t *testing.T, ca *testCA, names ...string) tls.Certificate {
	t.Helper()
	sec := ca.serverSecret(t, "backend", 2, names...)
	cert, err := tls.X509KeyPair(sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// caPEM is the CA's certificate in PEM, as a ConfigMap's ca.crt holds it.
func caPEM(ca *testCA) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}))
}

// tlsBackend is a backend that speaks only TLS on 127.0.0.1; it counts the requests that
// reached it and reports the SNI it was sent in a response header.
type tlsBackend struct {
	*backend
	requests atomic.Int64
}

const backendSNIHeader = "X-Backend-Sni"

// backendHostHeader is the response header in which a TLS backend reports the Host it saw.
const backendHostHeader = "X-Backend-Host"

func startTLSBackend(t *testing.T, name string, cert tls.Certificate) *tlsBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &tlsBackend{backend: &backend{name: name, port: ln.Addr().(*net.TCPAddr).Port}}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.requests.Add(1)
			w.Header().Set(backendSNIHeader, r.TLS.ServerName)
			w.Header().Set(backendHostHeader, r.Host)
			b.backend.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		// Refused handshakes are what some tests expect; they are not worth a log line.
		ErrorLog:  log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return b
}

// tlsService is a Service whose port says it speaks HTTPS, served by a TLS backend.
func tlsService(name string, b *tlsBackend) serviceObjects {
	objs := service(name, b.backend)
	svc := objs.service.DeepCopy()
	svc.Spec.Ports[0].AppProtocol = ptr.To("https")
	objs.service = svc
	return objs
}

func backendTLSPolicyFor(service, hostname, caConfigMap string, mods ...func(*gatewayv1.BackendTLSPolicy)) *gatewayv1.BackendTLSPolicy {
	p := &gatewayv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: service, Generation: 1}}
	p.Spec.TargetRefs = []gatewayv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{Kind: "Service", Name: gatewayv1.ObjectName(service)}}}
	p.Spec.Validation.Hostname = gatewayv1.PreciseHostname(hostname)
	p.Spec.Validation.CACertificateRefs = []gatewayv1.LocalObjectReference{{Kind: "ConfigMap", Name: gatewayv1.ObjectName(caConfigMap)}}
	for _, m := range mods {
		m(p)
	}
	return p
}

// withBackendTLS adds policies and CA ConfigMaps (name → PEM) to a snapshot.
func withBackendTLS(s *translate.Snapshot, policies []*gatewayv1.BackendTLSPolicy, caConfigMaps map[string]string) *translate.Snapshot {
	s.BackendTLSPolicies = policies
	s.ConfigMaps = nil
	addCAConfigMaps(s, appNamespace, caConfigMaps)
	return s
}

// addCAConfigMaps adds ConfigMaps of namespace (name → PEM in "ca.crt") to a snapshot.
func addCAConfigMaps(s *translate.Snapshot, namespace string, caConfigMaps map[string]string) {
	if s.ConfigMaps == nil {
		s.ConfigMaps = map[types.NamespacedName]*corev1.ConfigMap{}
	}
	for name, pem := range caConfigMaps {
		s.ConfigMaps[types.NamespacedName{Namespace: namespace, Name: name}] = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			Data:       map[string]string{"ca.crt": pem},
		}
	}
}

// Kengine speaks TLS to a backend a BackendTLSPolicy targets: with the policy's hostname as
// SNI, verified against the policy's CA. A certificate from another CA, or not for the
// hostname, is refused (502) and a policy Kengine cannot enforce answers 500: no request ever
// reaches those backends, in plaintext or otherwise. Swapping the CA in the ConfigMap takes
// effect with the next config.
func TestBackendTLSPolicyVerifiesTheBackend(t *testing.T) {
	h := newHarness(t)
	ca, otherCA := newTestCA(t), newTestCA(t)
	good := startTLSBackend(t, "good", backendCert(t, ca, "backend.example.com"))
	wrongCA := startTLSBackend(t, "wrong-ca", backendCert(t, otherCA, "backend.example.com"))
	wrongHost := startTLSBackend(t, "wrong-host", backendCert(t, ca, "other.example.com"))
	san := startTLSBackend(t, "san", backendCert(t, ca, "backend.example.com"))
	noPolicy := startTLSBackend(t, "no-policy", backendCert(t, ca, "backend.example.com"))
	plain := startBackend(t, "plain")
	port := freePort(t)
	build := func(wrongCAConfigMap string) *translate.Snapshot {
		return withBackendTLS(snapshot(gateway(httpListener("http", port, "")),
			route("tls", withRules(
				rule(matching(match(prefix("/good"))), to("good")),
				rule(matching(match(prefix("/wrong-ca"))), to("wrong-ca")),
				rule(matching(match(prefix("/wrong-host"))), to("wrong-host")),
				rule(matching(match(prefix("/san"))), to("san")),
				rule(matching(match(prefix("/no-policy"))), to("no-policy")),
				rule(matching(match(prefix("/mixed"))), to("good"), to("plain")),
			)),
			service("plain", plain),
			tlsService("good", good), tlsService("wrong-ca", wrongCA), tlsService("wrong-host", wrongHost),
			tlsService("san", san), tlsService("no-policy", noPolicy),
		), []*gatewayv1.BackendTLSPolicy{
			backendTLSPolicyFor("good", "backend.example.com", "ca"),
			backendTLSPolicyFor("wrong-ca", "backend.example.com", wrongCAConfigMap),
			backendTLSPolicyFor("wrong-host", "backend.example.com", "ca"),
			backendTLSPolicyFor("san", "backend.example.com", "ca", func(p *gatewayv1.BackendTLSPolicy) {
				p.Spec.Validation.SubjectAltNames = []gatewayv1.SubjectAltName{{Type: gatewayv1.HostnameSubjectAltNameType, Hostname: "backend.example.com"}}
			}),
		}, map[string]string{"ca": caPEM(ca), "other-ca": caPEM(otherCA)})
	}
	h.apply(build("ca"))

	rep := h.send(port, request{host: "tls.example.com", path: "/good"})
	expectReply(t, rep, http.StatusOK, "good")
	if sni := rep.header.Get(backendSNIHeader); sni != "backend.example.com" {
		t.Errorf("backend saw SNI %q, want backend.example.com", sni)
	}
	// The request's own Host reaches the backend, not the backend's address (which Kengine's
	// TLS transport would send by default).
	if host := rep.header.Get(backendHostHeader); host != "tls.example.com" && !strings.HasPrefix(host, "tls.example.com:") {
		t.Errorf("backend saw Host %q, want the request's tls.example.com", host)
	}
	expectReply(t, h.send(port, request{host: "tls.example.com", path: "/wrong-ca"}), http.StatusBadGateway, "")
	expectReply(t, h.send(port, request{host: "tls.example.com", path: "/wrong-host"}), http.StatusBadGateway, "")
	expectReply(t, h.send(port, request{host: "tls.example.com", path: "/san"}), http.StatusInternalServerError, "")
	expectReply(t, h.send(port, request{host: "tls.example.com", path: "/no-policy"}), http.StatusInternalServerError, "")
	for _, b := range []*tlsBackend{wrongCA, wrongHost, san, noPolicy} {
		if n := b.requests.Load(); n != 0 {
			t.Errorf("backend %s received %d requests, want none", b.name, n)
		}
	}

	// A rule sharing requests between the TLS backend and a plain one keeps each transport.
	seen := map[string]bool{}
	for i := 0; i < 40 && len(seen) < 2; i++ {
		rep := h.send(port, request{host: "tls.example.com", path: "/mixed"})
		if rep.status != http.StatusOK {
			t.Fatalf("mixed: %v", rep)
		}
		seen[rep.backend()] = true
	}
	if !seen["good"] || !seen["plain"] {
		t.Errorf("mixed rule reached %v, want good and plain", seen)
	}

	// The policy's CA becomes the one that signed the backend's certificate: traffic follows.
	h.apply(build("other-ca"))
	expectReply(t, h.send(port, request{host: "tls.example.com", path: "/wrong-ca"}), http.StatusOK, "wrong-ca")
	if n := wrongCA.requests.Load(); n != 1 {
		t.Errorf("backend wrong-ca received %d requests, want 1", n)
	}
}
