package devenv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// The example's HTTPS listener (example/30-gateway.yaml) serves this host name with the
// certificate of this Secret, which the environment creates before applying the example.
const (
	exampleNamespace = "kengine-example"
	exampleGateway   = "example"
	exampleTLSSecret = "example-tls"
	exampleHost      = "example.local"
)

// ExampleCertFile is the self-signed certificate of the example's HTTPS listener, the CA
// file for curl --cacert.
func (e *Env) ExampleCertFile() string { return filepath.Join(e.pkiDir(), "example-tls.crt") }

func (e *Env) exampleKeyFile() string { return filepath.Join(e.pkiDir(), "example-tls.key") }

// ensureExampleTLS creates the example namespace and its kubernetes.io/tls Secret with a
// self-signed certificate for example.local, generated once per environment.
func (e *Env) ensureExampleTLS(ctx context.Context) error {
	if !exists(e.ExampleCertFile()) || !exists(e.exampleKeyFile()) {
		if err := writeSelfSigned(e.ExampleCertFile(), e.exampleKeyFile(), exampleHost); err != nil {
			return fmt.Errorf("creating the example certificate: %w", err)
		}
	}
	certPEM, err := os.ReadFile(e.ExampleCertFile())
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(e.exampleKeyFile())
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: exampleNamespace}}
	if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", exampleNamespace, err)
	}
	want := &v1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: exampleTLSSecret, Namespace: exampleNamespace},
		Type:       v1.SecretTypeTLS,
		Data:       map[string][]byte{v1.TLSCertKey: certPEM, v1.TLSPrivateKeyKey: keyPEM},
	}
	secrets := c.CoreV1().Secrets(exampleNamespace)
	live, err := secrets.Get(ctx, exampleTLSSecret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = secrets.Create(ctx, want, metav1.CreateOptions{})
	case err == nil && (live.Type != want.Type || !bytes.Equal(live.Data[v1.TLSCertKey], certPEM) || !bytes.Equal(live.Data[v1.TLSPrivateKeyKey], keyPEM)):
		if live.Type != want.Type { // the type is immutable
			if err = secrets.Delete(ctx, exampleTLSSecret, metav1.DeleteOptions{}); err == nil {
				_, err = secrets.Create(ctx, want, metav1.CreateOptions{})
			}
		} else {
			live.Data = want.Data
			_, err = secrets.Update(ctx, live, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("writing Secret %s/%s: %w", exampleNamespace, exampleTLSSecret, err)
	}
	return nil
}

// writeSelfSigned writes a self-signed ECDSA server certificate for host, valid for a year.
func writeSelfSigned(certPath, keyPath, host string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: host, Organization: []string{"kengine-gateway example"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{host},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	return os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// HTTPSTarget is how to reach the example's HTTPS listener.
type HTTPSTarget struct {
	// Host is the listener's host name (the SNI and Host header).
	Host string
	// Address is the Gateway's address and the listener port ("127.0.100.1:443").
	Address string
	// CAFile verifies the listener's certificate.
	CAFile string
}

// Curl is the curl command line that reaches the listener, verifying its certificate.
func (t HTTPSTarget) Curl() string {
	host, port, _ := net.SplitHostPort(t.Address)
	return fmt.Sprintf("curl -sS --resolve %s:%s:%s --cacert %s 'https://%s:%s/'", t.Host, port, host, t.CAFile, t.Host, port)
}

// waitExampleHTTPS waits until the example Gateway's HTTPS listener answers 200 with the
// example certificate. It reports false when the example has no such listener.
func (e *Env) waitExampleHTTPS(ctx context.Context, timeout time.Duration) (HTTPSTarget, bool, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", e.Kubeconfig())
	if err != nil {
		return HTTPSTarget{}, false, err
	}
	gw, err := gatewayclient.NewForConfig(cfg)
	if err != nil {
		return HTTPSTarget{}, false, err
	}
	caPEM, err := os.ReadFile(e.ExampleCertFile())
	if err != nil {
		return HTTPSTarget{}, false, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := errors.New("no address yet")
	for {
		g, err := gw.GatewayV1().Gateways(exampleNamespace).Get(ctx, exampleGateway, metav1.GetOptions{})
		if err != nil {
			return HTTPSTarget{}, false, err
		}
		var port int
		for _, l := range g.Spec.Listeners {
			if l.Protocol == gatewayv1.HTTPSProtocolType && l.Hostname != nil && string(*l.Hostname) == exampleHost {
				port = int(l.Port)
			}
		}
		if port == 0 {
			return HTTPSTarget{}, false, nil
		}
		if len(g.Status.Addresses) > 0 {
			t := HTTPSTarget{Host: exampleHost, Address: net.JoinHostPort(g.Status.Addresses[0].Value, strconv.Itoa(port)), CAFile: e.ExampleCertFile()}
			if last = probeHTTPS(ctx, t, pool); last == nil {
				return t, true, nil
			}
		}
		select {
		case <-ctx.Done():
			return HTTPSTarget{}, true, fmt.Errorf("the example's HTTPS listener did not answer within %s: %v", timeout, last)
		case <-time.After(time.Second):
		}
	}
}

func probeHTTPS(ctx context.Context, t HTTPSTarget, pool *x509.CertPool) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: t.Host, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, t.Address)
		},
	}}
	defer client.CloseIdleConnections()
	_, port, _ := net.SplitHostPort(t.Address)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+net.JoinHostPort(t.Host, port)+"/", nil)
	if err != nil {
		return err
	}
	return expectOK(client, req)
}
