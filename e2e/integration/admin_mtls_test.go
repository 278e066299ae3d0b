package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/khulnasoft/gateway/controller/managed"
	"github.com/khulnasoft/gateway/kengine"
)

// managedKengine is a Kengine started like a managed pod: its bootstrap holds only the admin
// endpoints of managed.Admin, with the Gateway's intermediate and the root on disk.
type managedKengine struct {
	proc       *kengineProcess
	pki        *managed.AdminPKI
	identity   string
	dir        string
	remotePort int
	localAdmin string
}

func startManagedKengine(t *testing.T) *managedKengine {
	t.Helper()
	ctx := context.Background()
	pki, err := managed.LoadAdminPKI(ctx, kubefake.NewClientset(), managed.AdminPKIOptions{Namespace: "kengine-gateway-system", Name: "ca"})
	if err != nil {
		t.Fatal(err)
	}
	m := &managedKengine{pki: pki, identity: managed.AdminIdentity("infra", "gw"), dir: t.TempDir(), remotePort: freePort(t)}
	certPEM, keyPEM, err := pki.GatewayIntermediate(m.identity)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"root.crt": pki.RootPEM(), "intermediate.crt": certPEM, "intermediate.key": keyPEM} {
		if err := os.WriteFile(filepath.Join(m.dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if bytes := pki.RootPEM(); strings.Contains(string(bytes), "PRIVATE KEY") {
		t.Fatal("the root handed to pods must not contain its key")
	}
	m.proc = startKengineWith(t, func(adminListen string) any {
		m.localAdmin = adminListen
		admin, pkiApp := m.adminBlock()
		return kengine.Config{Admin: admin, Apps: kengine.Apps{PKI: pkiApp}}
	})
	// The remote endpoint serves once Kengine has issued its identity from the intermediate.
	client := m.controllerClient(t)
	eventually(t, 20*time.Second, "the remote admin endpoint", func() error {
		_, err := client.RunsVersion(context.Background(), kengine.Endpoint{Pod: "p", Address: "127.0.0.1"}, strings.Repeat("0", 64))
		return err
	})
	return m
}

// adminAccepts waits until the remote admin answers a client presenting cert; Kengine restarts
// its admin listener after each load, which a request can race.
func (m *managedKengine) adminAccepts(t *testing.T, cert *tls.Certificate) {
	t.Helper()
	eventually(t, 10*time.Second, "the remote admin to accept the certificate", func() error { return m.rawAdminGet(cert) })
}

// adminRefuses asserts that the remote admin refuses cert in the TLS handshake, retrying only
// the connection resets of a listener restart.
func (m *managedKengine) adminRefuses(t *testing.T, cert *tls.Certificate) {
	t.Helper()
	eventually(t, 10*time.Second, "the remote admin to refuse the certificate", func() error {
		err := m.rawAdminGet(cert)
		switch {
		case err == nil:
			return errStop{errors.New("the certificate was accepted")}
		case strings.Contains(err.Error(), "tls: certificate required"), strings.Contains(err.Error(), "tls: bad certificate"),
			strings.Contains(err.Error(), "tls: unknown certificate authority"):
			// Go's client sends no certificate when none matches the CAs the server names.
			return nil
		}
		return err
	})
}

// adminBlock is the admin block and pki app every config pushed to this Kengine carries, with
// the client CAs pinned at this moment.
func (m *managedKengine) adminBlock() (*kengine.Admin, *kengine.PKIApp) {
	return managed.Admin(managed.AdminParams{
		Identity: m.identity, Pins: m.pki.PinnedClientCAs(),
		RemoteListen: net.JoinHostPort("127.0.0.1", strconv.Itoa(m.remotePort)), LocalListen: m.localAdmin, Dir: m.dir,
	})
}

// controllerClient is the admin client the controller builds for this Gateway.
func (m *managedKengine) controllerClient(t *testing.T) *kengine.Client {
	c, err := kengine.NewClient(kengine.ClientOptions{Port: m.remotePort, TLSConfig: m.pki.ClientTLSConfig(m.identity), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// config renders a config that serves one static route on port and keeps the admin block.
func (m *managedKengine) config(port int, body string) ([]byte, string) {
	admin, pkiApp := m.adminBlock()
	cfg := &kengine.Config{Admin: admin, Apps: kengine.Apps{PKI: pkiApp, HTTP: &kengine.HTTPApp{Servers: map[string]*kengine.Server{
		"web": {
			Listen:         []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))},
			AutomaticHTTPS: &kengine.AutomaticHTTPS{Disable: true},
			Routes: []kengine.Route{
				{Handle: []kengine.Handler{kengine.StaticResponse{StatusCode: "200", Body: body}}},
			},
		},
	}}}}
	data, version, err := kengine.Finalize(cfg)
	if err != nil {
		panic(err)
	}
	return data, version
}

// rawAdminGet asks the remote admin API whether it runs a version, with an explicit client
// certificate (or none): an answer from the API (the ID is unknown) means the client got in.
func (m *managedKengine) rawAdminGet(cert *tls.Certificate) error {
	status, err := m.rawAdmin(cert, http.MethodGet, "/id/"+kengine.VersionAdminID(strings.Repeat("0", 64)))
	if err != nil {
		return err
	}
	if status != http.StatusNotFound {
		return fmt.Errorf("admin answered %d", status)
	}
	return nil
}

// rawAdmin sends one request to the remote admin API with an explicit client certificate
// (or none) and returns the status of the answer.
func (m *managedKengine) rawAdmin(cert *tls.Certificate, method, path string) (int, error) {
	cfg := m.pki.ClientTLSConfig(m.identity)
	cfg.GetClientCertificate = nil
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, Proxy: nil}}
	req, err := http.NewRequest(method, "https://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(m.remotePort))+path, strings.NewReader("{}"))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// The admin ACL grants the controller's certificate exactly what the controller uses: a
// config's private keys cannot be read back and nothing but a whole config can be loaded.
func TestManagedAdminACLAllowsOnlyWhatTheControllerUses(t *testing.T) {
	m := startManagedKengine(t)
	port := freePort(t)
	data, version := m.config(port, "one")
	client := m.controllerClient(t)
	ep := kengine.Endpoint{Pod: "p", Address: "127.0.0.1"}
	if r := client.Push(context.Background(), []kengine.Endpoint{ep}, data, version); r[0].Err != nil {
		t.Fatalf("POST /load must be allowed: %v", r[0].Err)
	}
	if runs, err := client.RunsVersion(context.Background(), ep, version); err != nil || !runs {
		t.Fatalf("GET /id/<version> must be allowed and report the version: %v, %v", runs, err)
	}
	leaf, err := m.pki.ClientTLSConfig(m.identity).GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/config/"},
		{http.MethodGet, "/config/apps/tls"},
		{http.MethodPost, "/config/"},
		{http.MethodDelete, "/config/apps"},
		{http.MethodGet, "/load"},
		{http.MethodPost, "/stop"},
		{http.MethodGet, "/pki/ca/kengine-admin"},
	} {
		eventually(t, 10*time.Second, c.method+" "+c.path+" to be forbidden", func() error {
			status, err := m.rawAdmin(leaf, c.method, c.path)
			if err != nil {
				return err // a listener restart after a load; try again
			}
			if status != http.StatusForbidden && status != http.StatusUnauthorized {
				return errStop{fmt.Errorf("%s %s answered %d, want forbidden", c.method, c.path, status)}
			}
			return nil
		})
	}
}

func TestManagedAdminAPIRequiresTheControllersCertificate(t *testing.T) {
	m := startManagedKengine(t)
	port := freePort(t)
	data, version := m.config(port, "one")
	if r := m.controllerClient(t).Push(context.Background(), []kengine.Endpoint{{Pod: "p", Address: "127.0.0.1"}}, data, version); r[0].Err != nil {
		t.Fatalf("the controller's client was refused: %v", r[0].Err)
	}
	m.adminRefuses(t, nil)
	stranger := selfSignedClientCert(t)
	m.adminRefuses(t, &stranger)
	// The plain admin endpoint stays on loopback: the pushed config kept it there.
	if !strings.HasPrefix(m.localAdmin, "127.0.0.1:") {
		t.Errorf("local admin listens on %s", m.localAdmin)
	}
	// A client that expects another Gateway's identity does not get in: the pod has no
	// certificate for that name (and could not mint one, see TestGatewayIntermediateIsNameConstrained).
	other, err := kengine.NewClient(kengine.ClientOptions{Port: m.remotePort, TLSConfig: m.pki.ClientTLSConfig(managed.AdminIdentity("infra", "other")), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.RunsVersion(context.Background(), kengine.Endpoint{Pod: "p", Address: "127.0.0.1"}, version); err == nil {
		t.Error("a pod must not be accepted as another Gateway's")
	}
}

func TestManagedAdminClientCARotationKeepsAccessAndTraffic(t *testing.T) {
	ctx := context.Background()
	m := startManagedKengine(t)
	ep := []kengine.Endpoint{{Pod: "p", Address: "127.0.0.1"}}
	port := freePort(t)
	client := m.controllerClient(t)
	data, version := m.config(port, "before")
	if r := client.Push(ctx, ep, data, version); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	// The leaf the controller presents before the rotation.
	oldLeaf, err := m.pki.ClientTLSConfig(m.identity).GetClientCertificate(&tls.CertificateRequestInfo{Version: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	m.adminAccepts(t, oldLeaf)

	// Traffic is served without a gap during the whole rotation. Each request opens a new
	// connection and is retried once on a connection error, as HTTP clients do for idempotent
	// requests: a reload (any reload, rotation or not) can close a connection at the instant
	// it is handed over, and that is not what this test is about. Two failures in a row fail.
	stop := make(chan struct{})
	failures := make(chan error, 1)
	go func() {
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
		for {
			select {
			case <-stop:
				close(failures)
				return
			default:
			}
			get := func() error {
				resp, err := c.Get("http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/")
				if err != nil {
					return err
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return errStop{fmt.Errorf("status %s", resp.Status)}
				}
				return nil
			}
			err := get()
			var stopErr errStop
			if err != nil && !errors.As(err, &stopErr) {
				err = get()
			}
			if err != nil {
				failures <- err
				close(failures)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	// 1. Rotate: the new client CA is pinned next to the old one, pushed with the old leaf.
	if _, err := m.pki.RotateClientCA(ctx, true); err != nil {
		t.Fatal(err)
	}
	if n := len(m.pki.PinnedClientCAs()); n != 2 {
		t.Fatalf("pins during the overlap = %d, want 2", n)
	}
	data, version = m.config(port, "during")
	if r := client.Push(ctx, ep, data, version); r[0].Err != nil {
		t.Fatalf("push during the overlap: %v", r[0].Err)
	}
	newLeaf, err := m.pki.ClientTLSConfig(m.identity).GetClientCertificate(&tls.CertificateRequestInfo{Version: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	if string(newLeaf.Leaf.RawIssuer) == string(oldLeaf.Leaf.RawIssuer) {
		t.Fatal("after the rotation the controller must present a leaf of the new client CA")
	}
	// 2. Unpin the old CA and push: from now on only the new CA's leaves get in.
	if _, err := m.pki.UnpinPreviousClientCA(ctx, true); err != nil {
		t.Fatal(err)
	}
	data, version = m.config(port, "after")
	if r := client.Push(ctx, ep, data, version); r[0].Err != nil {
		t.Fatalf("push unpinning the old CA: %v", r[0].Err)
	}
	m.adminRefuses(t, oldLeaf)
	m.adminAccepts(t, newLeaf)
	close(stop)
	if err := <-failures; err != nil {
		t.Errorf("traffic failed during the rotation: %v", err)
	}
	rep := getBody(t, port)
	if rep != "after" {
		t.Errorf("served %q, want the last pushed config", rep)
	}
}

func getBody(t *testing.T, port int) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}).Get("http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	buf := make([]byte, 64)
	n, _ := resp.Body.Read(buf)
	return string(buf[:n])
}

// selfSignedClientCert is a client certificate nobody pinned.
func selfSignedClientCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "intruder"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
