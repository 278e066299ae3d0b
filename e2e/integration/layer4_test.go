package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// streamBackend is a TCP (optionally TLS) or UDP server on 127.0.0.1 that answers every
// connection or datagram with its name, then echoes what it reads.
type streamBackend struct {
	name string
	port int
}

// startTCPEcho starts a TCP echo backend; with cert, it speaks TLS. It stops with the test.
func startTCPEcho(t testing.TB, name string, cert *tls.Certificate) *streamBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12})
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { _ = conn.Close() }()
				_ = conn.SetDeadline(time.Now().Add(requestTimeout))
				if _, err := fmt.Fprintf(conn, "%s\n", name); err != nil {
					return
				}
				_, _ = io.Copy(conn, conn)
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	return &streamBackend{name: name, port: ln.Addr().(*net.TCPAddr).Port}
}

// startUDPEcho starts a UDP backend that answers each datagram with "name:payload".
func startUDPEcho(t testing.TB, name string) *streamBackend {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(name+":"+string(buf[:n])), addr)
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })
	return &streamBackend{name: name, port: pc.LocalAddr().(*net.UDPAddr).Port}
}

// streamService is a Service of appNamespace whose port servicePort (of the given protocol)
// is served by the backends.
func streamService(name string, proto corev1.Protocol, backends ...*streamBackend) serviceObjects {
	objs := serviceObjects{service: &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "stream", Port: servicePort, Protocol: proto}}},
	}}
	for i, b := range backends {
		objs.slices = append(objs.slices, &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: appNamespace, Name: fmt.Sprintf("%s-%d", name, i),
				Labels: map[string]string{discoveryv1.LabelServiceName: name},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("stream"), Port: ptr.To(int32(b.port)), Protocol: ptr.To(proto)}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		})
	}
	return objs
}

// streamListener is a TCP, UDP or TLS listener admitting routes from every namespace.
func streamListener(name string, proto gatewayv1.ProtocolType, port int) gatewayv1.Listener {
	l := httpListener(name, port, "")
	l.Protocol = proto
	return l
}

// backendRefs are weighted references to the Services' port servicePort; "name=weight".
func backendRefs(services ...string) []gatewayv1.BackendRef {
	var out []gatewayv1.BackendRef
	for _, s := range services {
		name, weight := s, int32(1)
		if i := strings.IndexByte(s, '='); i >= 0 {
			name = s[:i]
			_, _ = fmt.Sscan(s[i+1:], &weight)
		}
		out = append(out, gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr32(servicePort)},
			Weight:                 ptr.To(weight),
		})
	}
	return out
}

func streamParent(section string) []gatewayv1.ParentReference {
	return []gatewayv1.ParentReference{{
		Namespace: ptr.To(gatewayv1.Namespace(gatewayNamespace)), Name: gatewayName,
		SectionName: ptr.To(gatewayv1.SectionName(section)),
	}}
}

func tcpRoute(name, section string, created time.Time, services ...string) *gatewayv1.TCPRoute {
	return &gatewayv1.TCPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: name, Generation: 1, CreationTimestamp: metav1.NewTime(created)},
		Spec: gatewayv1.TCPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: streamParent(section)},
			Rules:           []gatewayv1.TCPRouteRule{{BackendRefs: backendRefs(services...)}},
		},
	}
}

func udpRoute(name, section string, services ...string) *gatewayv1.UDPRoute {
	return &gatewayv1.UDPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: name, Generation: 1, CreationTimestamp: metav1.NewTime(routeEpoch)},
		Spec: gatewayv1.UDPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: streamParent(section)},
			Rules:           []gatewayv1.UDPRouteRule{{BackendRefs: backendRefs(services...)}},
		},
	}
}

func tlsRoute(name, section string, hostnames []string, services ...string) *gatewayv1.TLSRoute {
	r := &gatewayv1.TLSRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: name, Generation: 1, CreationTimestamp: metav1.NewTime(routeEpoch)},
		Spec: gatewayv1.TLSRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: streamParent(section)},
			Rules:           []gatewayv1.TLSRouteRule{{BackendRefs: backendRefs(services...)}},
		},
	}
	for _, h := range hostnames {
		r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(h))
	}
	return r
}

// tcpHello connects to the Gateway's port, reads the backend's name, and checks the echo.
func tcpHello(port int) (string, error) {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), requestTimeout)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	return helloOver(conn)
}

// helloOver reads the backend's name line from an open connection and checks that it echoes.
func helloOver(conn net.Conn) (string, error) {
	_ = conn.SetDeadline(time.Now().Add(requestTimeout))
	if _, err := io.WriteString(conn, "ping\n"); err != nil {
		return "", err
	}
	rd := bufio.NewReader(conn)
	name, err := rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	echoed, err := rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	if echoed != "ping\n" {
		return "", fmt.Errorf("echo: got %q", echoed)
	}
	return strings.TrimSuffix(name, "\n"), nil
}

// tlsHello opens a TLS connection to the Gateway's port with serverName as SNI, trusting
// roots, and returns the name of the backend behind it and the leaf certificate presented.
func tlsHello(port int, serverName string, roots *x509.CertPool) (string, *x509.Certificate, error) {
	d := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: requestTimeout},
		Config:    &tls.Config{ServerName: serverName, RootCAs: roots, MinVersion: tls.VersionTLS12},
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", nil, err
	}
	defer func() { _ = conn.Close() }()
	leaf := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
	name, err := helloOver(conn)
	return name, leaf, err
}

// udpHello sends one datagram to the Gateway's port and returns the reply.
func udpHello(port int, payload string) (string, error) {
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(payload)); err != nil {
		return "", err
	}
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// keyPair turns a kubernetes.io/tls Secret into a certificate a backend can serve.
func keyPair(t testing.TB, s *corev1.Secret) *tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestTCPRouteForwardsToTheOldestRoutesWeightedBackends(t *testing.T) {
	h := newHarness(t)
	a, b, newer := startTCPEcho(t, "a", nil), startTCPEcho(t, "b", nil), startTCPEcho(t, "newer", nil)
	port := freePort(t)
	h.apply(snapshot(gateway(streamListener("tcp", gatewayv1.TCPProtocolType, port)),
		tcpRoute("older", "tcp", routeEpoch, "a=3", "b=1", "newer=0"),
		tcpRoute("newer", "tcp", routeEpoch.Add(time.Hour), "newer"),
		streamService("a", corev1.ProtocolTCP, a), streamService("b", corev1.ProtocolTCP, b),
		streamService("newer", corev1.ProtocolTCP, newer),
	))
	seen := map[string]int{}
	eventually(t, 10*time.Second, "TCP echo through the Gateway", func() error {
		_, err := tcpHello(port)
		return err
	})
	for range 40 {
		name, err := tcpHello(port)
		if err != nil {
			t.Fatal(err)
		}
		seen[name]++
	}
	// Weighted round robin: 3 of every 4 connections go to a; never to the newer route.
	if seen["a"] != 30 || seen["b"] != 10 || seen["newer"] != 0 {
		t.Errorf("connections per backend = %v; want a:30 b:10", seen)
	}
}

func TestUDPRouteForwardsDatagramsToTheServicesUDPPort(t *testing.T) {
	h := newHarness(t)
	dns := startUDPEcho(t, "dns")
	port := freePort(t)
	h.apply(snapshot(gateway(streamListener("udp", gatewayv1.UDPProtocolType, port)),
		udpRoute("dns", "udp", "dns"),
		streamService("dns", corev1.ProtocolUDP, dns),
	))
	eventually(t, 10*time.Second, "UDP echo through the Gateway", func() error {
		got, err := udpHello(port, "hello")
		if err != nil {
			return err
		}
		if got != "dns:hello" {
			return fmt.Errorf("got %q, want %q", got, "dns:hello")
		}
		return nil
	})
}

func TestTLSPassthroughRoutesBySNIAndTerminateUsesTheListenerCertificate(t *testing.T) {
	h := newHarness(t)
	ca := newTestCA(t)
	backendA := startTCPEcho(t, "a", keyPair(t, ca.serverSecret(t, "a", 10, "a.example.com")))
	backendWild := startTCPEcho(t, "wild", keyPair(t, ca.serverSecret(t, "wild", 11, "*.example.com")))
	plain := startTCPEcho(t, "plain", nil)
	listenerCert := ca.serverSecret(t, "secure-tls", 12, "secure.example.com")
	port := freePort(t)

	passthrough := streamListener("passthrough", gatewayv1.TLSProtocolType, port)
	passthrough.TLS = &gatewayv1.ListenerTLSConfig{Mode: ptr.To(gatewayv1.TLSModePassthrough)}
	terminate := streamListener("terminate", gatewayv1.TLSProtocolType, port)
	terminate.Hostname = ptr.To(gatewayv1.Hostname("secure.example.com"))
	terminate.TLS = &gatewayv1.ListenerTLSConfig{
		Mode:            ptr.To(gatewayv1.TLSModeTerminate),
		CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "secure-tls"}},
	}
	h.apply(snapshot(gateway(passthrough, terminate),
		tlsRoute("exact", "passthrough", []string{"a.example.com"}, "a"),
		tlsRoute("wildcard", "passthrough", []string{"*.example.com"}, "wild"),
		tlsRoute("secure", "terminate", []string{"secure.example.com"}, "plain"),
		streamService("a", corev1.ProtocolTCP, backendA), streamService("wild", corev1.ProtocolTCP, backendWild),
		streamService("plain", corev1.ProtocolTCP, plain), listenerCert,
	))
	for _, tc := range []struct {
		sni, backend, certName string
	}{
		{"a.example.com", "a", "a.example.com"},
		{"b.example.com", "wild", "*.example.com"},
		{"x.y.example.com", "wild", "*.example.com"},
		// Decrypted by the Gateway with the listener's certificate, forwarded in clear.
		{"secure.example.com", "plain", "secure.example.com"},
	} {
		t.Run(tc.sni, func(t *testing.T) {
			var name string
			var leaf *x509.Certificate
			roots := ca.pool
			if tc.sni == "x.y.example.com" {
				// A one-label wildcard certificate does not cover two labels; the backend
				// is still the one that answers, which is what is checked here.
				roots = nil
			}
			eventually(t, 10*time.Second, "TLS through the Gateway", func() error {
				var err error
				if roots == nil {
					name, leaf, err = tlsHelloInsecure(port, tc.sni)
				} else {
					name, leaf, err = tlsHello(port, tc.sni, roots)
				}
				return err
			})
			if name != tc.backend {
				t.Errorf("backend = %q, want %q", name, tc.backend)
			}
			if leaf.Subject.CommonName != tc.certName {
				t.Errorf("certificate = %q, want %q", leaf.Subject.CommonName, tc.certName)
			}
		})
	}
	t.Run("unknown SNI is refused", func(t *testing.T) {
		if _, _, err := tlsHelloInsecure(port, "other.test"); err == nil {
			t.Error("a handshake for a name no route answers succeeded")
		}
	})
}

// tlsHelloInsecure is tlsHello without verifying the certificate (for names it cannot cover).
func tlsHelloInsecure(port int, serverName string) (string, *x509.Certificate, error) {
	d := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: requestTimeout},
		Config:    &tls.Config{ServerName: serverName, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // the test checks the name itself
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", nil, err
	}
	defer func() { _ = conn.Close() }()
	leaf := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
	name, err := helloOver(conn)
	if err != nil && errors.Is(err, io.EOF) {
		return "", leaf, fmt.Errorf("connection closed: %w", err)
	}
	return name, leaf, err
}

func TestTLSPassthroughAndHTTPSShareAPortAndHTTPSKeepsHTTP2(t *testing.T) {
	h := newHarness(t)
	ca := newTestCA(t)
	pass := startTCPEcho(t, "pass", keyPair(t, ca.serverSecret(t, "pass", 20, "*.example.com")))
	web := startBackend(t, "web")
	port := freePort(t)
	passthrough := streamListener("passthrough", gatewayv1.TLSProtocolType, port)
	passthrough.TLS = &gatewayv1.ListenerTLSConfig{Mode: ptr.To(gatewayv1.TLSModePassthrough)}
	h.apply(snapshot(gateway(passthrough, httpsListener("https", port, "www.example.com", "www-tls")),
		tlsRoute("wildcard", "passthrough", []string{"*.example.com"}, "pass"),
		route("site", onListener("https"), withRules(rule(to("web")))),
		streamService("pass", corev1.ProtocolTCP, pass), service("web", web),
		ca.serverSecret(t, "www-tls", 21, "www.example.com"),
	))

	// SNI a.example.com: passed through, the backend's own certificate.
	var name string
	var leaf *x509.Certificate
	eventually(t, 10*time.Second, "TLS passthrough next to HTTPS", func() error {
		var err error
		name, leaf, err = tlsHello(port, "a.example.com", ca.pool)
		return err
	})
	if name != "pass" || leaf.Subject.CommonName != "*.example.com" {
		t.Errorf("a.example.com: backend %q, certificate %q; want pass, *.example.com", name, leaf.Subject.CommonName)
	}

	// SNI www.example.com: the HTTPS listener, over HTTP/2 (negotiated by ALPN behind the
	// wrapper).
	protocols := new(http.Protocols)
	protocols.SetHTTP2(true)
	client := &http.Client{Timeout: requestTimeout, Transport: &http.Transport{
		Proxy: nil, Protocols: protocols,
		TLSClientConfig: &tls.Config{ServerName: "www.example.com", RootCAs: ca.pool, MinVersion: tls.VersionTLS12},
	}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/", port), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "www.example.com"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || !strings.Contains(string(body), `"backend":"web"`) {
		t.Errorf("HTTPS: %s %s %.200s; want 200 over HTTP/2 from web", resp.Proto, resp.Status, body)
	}

	// A name no listener owns more specifically than the passthrough listener's catch-all.
	if _, _, err := tlsHelloInsecure(port, "other.test"); err == nil {
		t.Error("a handshake for a name no route answers succeeded")
	}
}
