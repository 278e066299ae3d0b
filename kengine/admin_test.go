package kengine

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// newTestClient builds a plain-HTTP client for port, failing the test on error.
func newTestClient(t *testing.T, opts ClientOptions) *Client {
	t.Helper()
	c, err := NewClient(opts)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func TestLoad(t *testing.T) {
	pod := &fakeKengine{}
	port, eps := startPods(t, nil, pod)
	c := newTestClient(t, ClientOptions{Port: port, Insecure: true})

	config := []byte(`{"apps":{}}`)
	if err := c.Load(context.Background(), eps[0], config); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if loads, _ := pod.counts(); loads != 1 {
		t.Fatalf("pod served %d loads, want 1", loads)
	}
	if got := string(pod.bodies[0]); got != string(config) {
		t.Errorf("pod received %s, want %s", got, config)
	}
	if got := pod.headers[0].Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if _, sent := pod.headers[0]["Idempotency-Key"]; sent {
		t.Error("the Idempotency-Key marker went on the wire")
	}
}

func TestLoadErrors(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name       string
		status     int
		body       string
		wantStatus int
		wantMsg    string
	}{
		{
			name:       "kengine error body",
			status:     http.StatusBadRequest,
			body:       `{"error":"loading config: json: unknown field \"bogus\""}` + "\n",
			wantStatus: http.StatusBadRequest,
			wantMsg:    `loading config: json: unknown field "bogus"`,
		},
		{
			name:       "non-JSON body",
			status:     http.StatusBadGateway,
			body:       "<html>upstream down</html>\n",
			wantStatus: http.StatusBadGateway,
			wantMsg:    "<html>upstream down</html>",
		},
		{
			name:       "JSON without error member",
			status:     http.StatusInternalServerError,
			body:       `{"status":"bad"}`,
			wantStatus: http.StatusInternalServerError,
			wantMsg:    `{"status":"bad"}`,
		},
		{
			name:       "long body is truncated",
			status:     http.StatusInternalServerError,
			body:       long,
			wantStatus: http.StatusInternalServerError,
			wantMsg:    long[:1024],
		},
		{
			name:       "cut rune is dropped",
			status:     http.StatusInternalServerError,
			body:       strings.Repeat("a", 1023) + "é and more",
			wantStatus: http.StatusInternalServerError,
			wantMsg:    strings.Repeat("a", 1023),
		},
		{
			name:       "empty body",
			status:     http.StatusForbidden,
			wantStatus: http.StatusForbidden,
			wantMsg:    "Forbidden",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &fakeKengine{}
			pod.setFailLoad(tt.status, tt.body)
			port, eps := startPods(t, nil, pod)
			c := newTestClient(t, ClientOptions{Port: port, Insecure: true})

			err := c.Load(context.Background(), eps[0], []byte(`{}`))
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Load error = %v, want an *APIError", err)
			}
			if apiErr.StatusCode != tt.wantStatus || apiErr.Message != tt.wantMsg {
				t.Errorf("APIError = {%d, %q}, want {%d, %q}", apiErr.StatusCode, apiErr.Message, tt.wantStatus, tt.wantMsg)
			}
			if want := "kengine admin API: "; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), eps[0].Pod) {
				t.Errorf("error %q should name the pod and contain %q", err, want)
			}
		})
	}
}

func TestAPIErrorString(t *testing.T) {
	err := &APIError{StatusCode: 400, Message: "bad config"}
	if got, want := err.Error(), "kengine admin API: 400: bad config"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestLoadTimeout(t *testing.T) {
	blocked := blockingHandler()
	port, eps := startPods(t, nil, blocked)
	c := newTestClient(t, ClientOptions{Port: port, Insecure: true, Timeout: 50 * time.Millisecond})

	start := time.Now()
	err := c.Load(context.Background(), eps[0], []byte(`{}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Load error = %v, want a deadline error", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Load took %v with a 50ms timeout", elapsed)
	}
}

func TestRunsVersion(t *testing.T) {
	version := strings.Repeat("ab", 32)
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		want       bool
		wantStatus int // the APIError's status when an error is expected
	}{
		{
			name: "runs it",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if want := "/id/kengine-gateway-version-" + version; r.Method != http.MethodGet || r.URL.Path != want {
					t.Errorf("request %s %s, want GET %s", r.Method, r.URL.Path, want)
				}
				_, _ = w.Write([]byte(`{"listen":"localhost:2019"}`))
			},
			want: true,
		},
		{
			name: "unknown id",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeKengineError(w, http.StatusNotFound, "unknown object ID 'kengine-gateway-version-"+version+"'")
			},
			want: false,
		},
		{
			name: "server error",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeKengineError(w, http.StatusInternalServerError, "boom")
			},
			wantStatus: http.StatusInternalServerError,
		},
		{
			// The pod allows /id/ but not the /config/admin it redirects to.
			name: "forbidden path",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeKengineError(w, http.StatusForbidden, "not authorized to access this path")
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name: "other success status",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			},
			wantStatus: http.StatusNoContent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, eps := startPods(t, nil, tt.handler)
			c := newTestClient(t, ClientOptions{Port: port, Insecure: true})
			got, err := c.RunsVersion(context.Background(), eps[0], version)
			if tt.wantStatus != 0 {
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantStatus {
					t.Fatalf("RunsVersion error = %v, want an *APIError with status %d", err, tt.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatalf("RunsVersion: %v", err)
			}
			if got != tt.want {
				t.Errorf("RunsVersion = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRunsVersionRejectsWhatIsNoVersion(t *testing.T) {
	pod := &fakeKengine{}
	port, eps := startPods(t, nil, pod)
	c := newTestClient(t, ClientOptions{Port: port, Insecure: true})
	for _, v := range []string{"", "../config/", strings.Repeat("A", 64)} {
		if _, err := c.RunsVersion(context.Background(), eps[0], v); err == nil {
			t.Errorf("RunsVersion(%q) succeeded, want an error", v)
		}
	}
	if _, gets := pod.counts(); gets != 0 {
		t.Errorf("the pod was asked %d times, want never", gets)
	}
}

// TestRunsVersionOnFake checks the fake pod the push tests rely on: it knows the version of
// the config it loaded, and only that one.
func TestRunsVersionOnFake(t *testing.T) {
	pod := &fakeKengine{}
	port, eps := startPods(t, nil, pod)
	c := newTestClient(t, ClientOptions{Port: port, Insecure: true})
	ctx := context.Background()
	v1Config, v1 := versionedConfig(t, "v1")
	_, v2 := versionedConfig(t, "v2")

	check := func(step, version string, want bool) {
		t.Helper()
		got, err := c.RunsVersion(ctx, eps[0], version)
		if err != nil || got != want {
			t.Errorf("%s: RunsVersion(%s) = %v, %v; want %v", step, version, got, err, want)
		}
	}
	check("before any load", v1, false)
	if err := c.Load(ctx, eps[0], v1Config); err != nil {
		t.Fatal(err)
	}
	check("after loading v1", v1, true)
	check("after loading v1", v2, false)
	pod.restart()
	check("after a restart", v1, false)
}

func TestControllerPermissions(t *testing.T) {
	want := []AdminPermissions{
		{Paths: []string{"/load"}, Methods: []string{"POST"}},
		{Paths: []string{"/id/", "/config/admin"}, Methods: []string{"GET"}},
	}
	got := ControllerPermissions()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ControllerPermissions (-want +got):\n%s", diff)
	}
	// A caller that edits its copy must not change the next caller's.
	got[0].Paths[0] = "/"
	if again := ControllerPermissions(); again[0].Paths[0] != "/load" {
		t.Errorf("ControllerPermissions shares its slices: %v", again)
	}
}

// testPKI is a CA with a server certificate for one name and a client certificate, written
// to files as well.
type testPKI struct {
	caPool                               *x509.CertPool
	serverCert, clientCert               tls.Certificate
	caFile, clientCrtFile, clientKeyFile string
}

// newTestPKI issues a server certificate for serverNames and a client certificate.
func newTestPKI(t *testing.T, serverNames ...string) *testPKI {
	t.Helper()
	caKey := newKey(t)
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test admin CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, usage x509.ExtKeyUsage, names []string) (tls.Certificate, []byte, []byte) {
		key := newKey(t)
		template := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: "test"},
			DNSNames:     names,
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, template, caCert, key.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return pair, certPEM, keyPEM
	}
	p := &testPKI{caPool: x509.NewCertPool()}
	p.caPool.AddCert(caCert)
	p.serverCert, _, _ = issue(2, x509.ExtKeyUsageServerAuth, serverNames)
	var clientCrt, clientKey []byte
	p.clientCert, clientCrt, clientKey = issue(3, x509.ExtKeyUsageClientAuth, nil)

	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p.caFile = write("ca.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	p.clientCrtFile = write("client.crt", clientCrt)
	p.clientKeyFile = write("client.key", clientKey)
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// serverTLS requires and verifies client certificates, as Kengine's remote admin does.
func (p *testPKI) serverTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{p.serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.caPool,
		MinVersion:   tls.VersionTLS12,
	}
}

func TestLoadMutualTLS(t *testing.T) {
	// The server certificate names pod-0 only: the ServerName pattern must expand per pod.
	pki := newTestPKI(t, "pod-0.default.admin.kengine.invalid")
	pod := &fakeKengine{}
	port, eps := startPods(t, pki.serverTLS(), pod)

	tests := []struct {
		name    string
		opts    ClientOptions
		wantErr string
	}{
		{
			name: "client certificate and expanded server name",
			opts: ClientOptions{CAFile: pki.caFile, CertFile: pki.clientCrtFile, KeyFile: pki.clientKeyFile, ServerName: "{pod}.{namespace}.admin.kengine.invalid"},
		},
		{
			name: "TLSConfig takes precedence over files",
			opts: ClientOptions{
				TLSConfig:  &tls.Config{RootCAs: pki.caPool, Certificates: []tls.Certificate{pki.clientCert}},
				CAFile:     "/nonexistent/ca.crt",
				ServerName: "{pod}.default.admin.kengine.invalid",
			},
		},
		{
			name:    "no client certificate",
			opts:    ClientOptions{CAFile: pki.caFile, ServerName: "{pod}.{namespace}.admin.kengine.invalid"},
			wantErr: "certificate",
		},
		{
			name:    "server name for another pod",
			opts:    ClientOptions{CAFile: pki.caFile, CertFile: pki.clientCrtFile, KeyFile: pki.clientKeyFile, ServerName: "{pod}.other.admin.kengine.invalid"},
			wantErr: "certificate is valid for pod-0.default.admin.kengine.invalid",
		},
		{
			name:    "no server name verifies the IP",
			opts:    ClientOptions{CAFile: pki.caFile, CertFile: pki.clientCrtFile, KeyFile: pki.clientKeyFile},
			wantErr: "127.0.0.1",
		},
		{
			name:    "untrusted server",
			opts:    ClientOptions{CertFile: pki.clientCrtFile, KeyFile: pki.clientKeyFile, ServerName: "{pod}.{namespace}.admin.kengine.invalid"},
			wantErr: "certificate",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Port = port
			tt.opts.Timeout = 5 * time.Second
			c := newTestClient(t, tt.opts)
			err := c.Load(context.Background(), eps[0], []byte(`{}`))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewClientValidation(t *testing.T) {
	pki := newTestPKI(t, "x")
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    ClientOptions
		wantErr string
	}{
		{"insecure", ClientOptions{Port: 2019, Insecure: true}, ""},
		{"system roots", ClientOptions{Port: 2021}, ""},
		{"files", ClientOptions{Port: 2021, CAFile: pki.caFile, CertFile: pki.clientCrtFile, KeyFile: pki.clientKeyFile}, ""},
		{"server name pattern", ClientOptions{Port: 2021, ServerName: "{pod}.{namespace}.svc"}, ""},
		{"no port", ClientOptions{Insecure: true}, "port"},
		{"port too high", ClientOptions{Port: 70000, Insecure: true}, "port"},
		{"insecure with CA", ClientOptions{Port: 1, Insecure: true, CAFile: pki.caFile}, "insecure"},
		{"insecure with client cert", ClientOptions{Port: 1, Insecure: true, CertFile: pki.clientCrtFile, KeyFile: pki.clientKeyFile}, "insecure"},
		{"insecure with TLS config", ClientOptions{Port: 1, Insecure: true, TLSConfig: &tls.Config{}}, "insecure"},
		{"insecure with server name", ClientOptions{Port: 1, Insecure: true, ServerName: "{pod}"}, "insecure"},
		{"cert without key", ClientOptions{Port: 1, CertFile: pki.clientCrtFile}, "together"},
		{"key without cert", ClientOptions{Port: 1, KeyFile: pki.clientKeyFile}, "together"},
		{"missing CA file", ClientOptions{Port: 1, CAFile: "/nonexistent/ca.crt"}, "CA bundle"},
		{"CA file without PEM", ClientOptions{Port: 1, CAFile: notPEM}, "no PEM certificate"},
		{"unusable client cert", ClientOptions{Port: 1, CertFile: notPEM, KeyFile: notPEM}, "client certificate"},
		{"mismatched client key", ClientOptions{Port: 1, CertFile: pki.clientCrtFile, KeyFile: pki.caFile}, "client certificate"},
		{"unknown placeholder", ClientOptions{Port: 1, ServerName: "{pod}.{cluster}"}, "placeholders"},
		{"negative timeout", ClientOptions{Port: 1, Insecure: true, Timeout: -time.Second}, "timeout"},
		{"negative concurrency", ClientOptions{Port: 1, Insecure: true, Concurrency: -1}, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.opts)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("NewClient: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewClient error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewClientDefaults(t *testing.T) {
	c := newTestClient(t, ClientOptions{Port: 2019, Insecure: true})
	if c.timeout != defaultTimeout || c.concurrency != defaultConcurrency {
		t.Errorf("defaults: timeout %v concurrency %d, want %v and %d", c.timeout, c.concurrency, defaultTimeout, defaultConcurrency)
	}
	if got := c.url(Endpoint{Address: "fd00::1"}, "/load"); got != "http://[fd00::1]:2019/load" {
		t.Errorf("url = %s", got)
	}
}
