package integration

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net/http"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/translate"
)

// clientCert issues a client certificate (clientAuth usage) for commonName.
func (ca *testCA) clientCert(t testing.TB, serial int64, commonName string) tls.Certificate {
	t.Helper()
	der, key := ca.issue(t, serial, pkix.Name{CommonName: commonName}, nil, x509.ExtKeyUsageClientAuth)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// pem returns the CA certificate in PEM, as a ca.crt ConfigMap holds it.
func (ca *testCA) pem() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}))
}

// withFrontendValidation sets the Gateway's client certificate validation and adds the CA
// ConfigMaps it references (name → PEM, in the Gateway's namespace) to the snapshot.
func withFrontendValidation(s *translate.Snapshot, frontend *gatewayv1.FrontendTLSConfig, caConfigMaps map[string]string) *translate.Snapshot {
	s.Gateway.Spec.TLS = &gatewayv1.GatewayTLSConfig{Frontend: frontend}
	addCAConfigMaps(s, gatewayNamespace, caConfigMaps)
	return s
}

// caValidation references CA ConfigMaps of the Gateway's namespace in the given mode.
func caValidation(mode gatewayv1.FrontendValidationModeType, configMaps ...string) *gatewayv1.FrontendTLSValidation {
	v := &gatewayv1.FrontendTLSValidation{Mode: mode}
	for _, name := range configMaps {
		v.CACertificateRefs = append(v.CACertificateRefs, gatewayv1.ObjectReference{Kind: "ConfigMap", Name: gatewayv1.ObjectName(name)})
	}
	return v
}

// sendTLSAs makes one HTTP/2 (or HTTP/1.1) request over TLS with serverName as SNI, r.host as
// the Host header and cert, when given, as the client certificate.
func (h *harness) sendTLSAs(port int, r request, roots *x509.CertPool, serverName string, cert *tls.Certificate) (reply, error) {
	cfg := &tls.Config{ServerName: serverName, RootCAs: roots, MinVersion: tls.VersionTLS12}
	if serverName == "" {
		// No SNI: Go sends none for the IP address it dials, and cannot verify the
		// certificate for it, so the chain alone is checked here.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	client := &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			Proxy:             nil,
			DisableKeepAlives: true,
			ForceAttemptHTTP2: true,
			TLSClientConfig:   cfg,
		},
	}
	return h.do(client, "https", port, r)
}

// Client certificate validation (GEP-91) on real connections: AllowValidOnly admits a client
// whose certificate chains to the listener's CA and refuses the handshake of one with no
// certificate or one from another CA; AllowInsecureFallback (here a per-port override) admits
// all three. A listener whose only CA reference does not resolve is not served at all.
func TestFrontendClientCertificateValidation(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "strict", "fallback")
	serverCA, clientCA, otherCA := newTestCA(t), newTestCA(t), newTestCA(t)
	strictPort, fallbackPort, brokenPort := freePort(t), freePort(t), freePort(t)
	s := snapshot(gateway(
		httpsListener("strict", strictPort, "", "site"),
		httpsListener("fallback", fallbackPort, "", "site"),
		httpsListener("broken", brokenPort, "", "site"),
	),
		serverCA.serverSecret(t, "site", 2, "site.example.com"),
		route("on-strict", onListener("strict"), withRules(rule(to("strict")))),
		route("on-fallback", onListener("fallback"), withRules(rule(to("fallback")))),
		service("strict", be["strict"]), service("fallback", be["fallback"]),
	)
	h.apply(withFrontendValidation(s, &gatewayv1.FrontendTLSConfig{
		Default: gatewayv1.TLSConfig{Validation: caValidation(gatewayv1.AllowValidOnly, "clients-ca")},
		PerPort: []gatewayv1.TLSPortConfig{
			{Port: gatewayv1.PortNumber(fallbackPort), TLS: gatewayv1.TLSConfig{Validation: caValidation(gatewayv1.AllowInsecureFallback, "clients-ca")}},
			{Port: gatewayv1.PortNumber(brokenPort), TLS: gatewayv1.TLSConfig{Validation: caValidation(gatewayv1.AllowValidOnly, "missing-ca")}},
		},
	}, map[string]string{"clients-ca": clientCA.pem()}))

	valid := clientCA.clientCert(t, 10, "valid client")
	foreign := otherCA.clientCert(t, 11, "foreign client")
	req := request{host: "site.example.com", path: "/"}
	for _, tc := range []struct {
		name    string
		port    int
		cert    *tls.Certificate
		backend string // "" expects the connection to fail
	}{
		{"strict/valid certificate", strictPort, &valid, "strict"},
		{"strict/no certificate", strictPort, nil, ""},
		{"strict/certificate from another CA", strictPort, &foreign, ""},
		{"fallback/valid certificate", fallbackPort, &valid, "fallback"},
		{"fallback/no certificate", fallbackPort, nil, "fallback"},
		{"fallback/certificate from another CA", fallbackPort, &foreign, "fallback"},
		{"broken CA reference/valid certificate", brokenPort, &valid, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := h.sendTLSAs(tc.port, req, serverCA.pool, req.host, tc.cert)
			if tc.backend == "" {
				if err == nil {
					t.Fatalf("want the connection refused, got %v", rep)
				}
				return
			}
			if err != nil {
				t.Fatalf("HTTPS request: %v", err)
			}
			expectReply(t, rep, http.StatusOK, tc.backend)
		})
	}
}

// HTTPS listeners sharing a port answer 421 to a request whose Host selects another listener
// than the connection's server name, and 404 when the Host selects the same listener but no
// route: the cases of the conformance test HTTPRouteHTTPSListenerDetectMisdirectedRequests.
// A connection without SNI belongs to the listener without a hostname. Client validation on
// the port does not make Kengine's own Host-equals-SNI rule refuse a wildcard's other names.
func TestHTTPSListenerDetectsMisdirectedRequests(t *testing.T) {
	h := newHarness(t)
	be := startBackends(t, "v1", "v2", "v3")
	serverCA, clientCA := newTestCA(t), newTestCA(t)
	port := freePort(t)
	s := snapshot(gateway(
		httpsListener("https", port, "", "site"),
		httpsListener("second", port, "second-example.org", "site"),
		httpsListener("wildcard", port, "*.wildcard.org", "site"),
		httpsListener("fourth", port, "fourth-example.wildcard.org", "site"),
	),
		serverCA.serverSecret(t, "site", 2, "example.org", "second-example.org", "unknown-example.org", "*.wildcard.org"),
		route("r1", onListener("https"), withHostnames("example.org"), withRules(rule(to("v1")))),
		route("r2", onListener("second"), withRules(rule(to("v2")))),
		route("r3", onListener("wildcard"), withRules(rule(to("v3")))),
		route("r4", onListener("fourth"), withRules(rule(to("v1")))),
		service("v1", be["v1"]), service("v2", be["v2"]), service("v3", be["v3"]),
	)
	h.apply(s)

	cases := []struct {
		serverName, host string
		status           int
		backend          string
	}{
		{"example.org", "example.org", 200, "v1"},
		{"example.org", "second-example.org", 421, ""},
		{"example.org", "unknown-example.org", 404, ""},
		{"second-example.org", "second-example.org", 200, "v2"},
		{"second-example.org", "example.org", 421, ""},
		{"second-example.org", "unknown-example.org", 421, ""},
		{"third-example.wildcard.org", "third-example.wildcard.org", 200, "v3"},
		{"third-example.wildcard.org", "fith-example.wildcard.org", 200, "v3"},
		{"third-example.wildcard.org", "fourth-example.wildcard.org", 421, ""},
		{"third-example.wildcard.org", "second-example.org", 421, ""},
		{"third-example.wildcard.org", "unknown-example.org", 421, ""},
		{"fourth-example.wildcard.org", "fourth-example.wildcard.org", 200, "v1"},
		{"fourth-example.wildcard.org", "fith-example.wildcard.org", 421, ""},
		{"unknown-example.org", "example.org", 200, "v1"},
		{"unknown-example.org", "unknown-example.org", 404, ""},
		{"SECOND-example.org", "second-example.ORG", 200, "v2"},
	}
	run := func(t *testing.T, cert *tls.Certificate) {
		for _, tc := range cases {
			t.Run(tc.serverName+"/"+tc.host, func(t *testing.T) {
				rep, err := h.sendTLSAs(port, request{host: tc.host, path: "/detect"}, serverCA.pool, tc.serverName, cert)
				if err != nil {
					t.Fatalf("HTTPS request: %v", err)
				}
				expectReply(t, rep, tc.status, tc.backend)
			})
		}
	}
	t.Run("without client validation", func(t *testing.T) { run(t, nil) })

	// No SNI at all (a client dialling the address): the connection gets the policy of the
	// listener without a hostname, so only that listener's hosts are served on it.
	t.Run("no server name", func(t *testing.T) {
		for _, tc := range []struct {
			host    string
			status  int
			backend string
		}{{"example.org", 200, "v1"}, {"second-example.org", 421, ""}, {"x.wildcard.org", 421, ""}} {
			rep, err := h.sendTLSAs(port, request{host: tc.host, path: "/"}, serverCA.pool, "", nil)
			if err != nil {
				t.Fatalf("HTTPS request without SNI for %s: %v", tc.host, err)
			}
			expectReply(t, rep, tc.status, tc.backend)
		}
	})

	valid := clientCA.clientCert(t, 10, "client")
	h.apply(withFrontendValidation(s, &gatewayv1.FrontendTLSConfig{
		Default: gatewayv1.TLSConfig{Validation: caValidation(gatewayv1.AllowValidOnly, "clients-ca")},
	}, map[string]string{"clients-ca": clientCA.pem()}))
	t.Run("with client validation", func(t *testing.T) { run(t, &valid) })
}
