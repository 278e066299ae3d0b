package render

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// backendHandler forwards to a route's backends by weight. Shares that cannot be served go to
// a loopback server that answers the failure status, so each share keeps its exact weight; a
// route whose only shares fail with one status answers it directly, and a route without
// backends answers 500.
func (r *renderer) backendHandler(backends []ir.Backend, headers *kengine.ReverseProxyHeaders) (kengine.Handler, error) {
	var dials [][]string
	var shares []int
	var first *ir.Backend
	failures := map[int]int{}
	for i := range backends {
		b := &backends[i]
		if b.Weight <= 0 {
			continue
		}
		if b.Failure != 0 {
			if b.Failure != http.StatusInternalServerError && b.Failure != http.StatusServiceUnavailable {
				return nil, fmt.Errorf("backend %s: failure status %d has no failure server (500 or 503)", b.Name, b.Failure)
			}
			failures[b.Failure] += int(b.Weight)
			continue
		}
		if first == nil {
			first = b
		} else if b.Protocol != first.Protocol || !equalBackendTLS(b.TLS, first.TLS) {
			return nil, fmt.Errorf("backends %s and %s differ in protocol or TLS, and one reverse proxy has one transport", first.Name, b.Name)
		}
		dials = append(dials, b.Endpoints)
		shares = append(shares, int(b.Weight))
	}
	statuses := make([]int, 0, len(failures))
	for s := range failures {
		statuses = append(statuses, s)
	}
	sort.Ints(statuses)
	if len(dials) == 0 {
		if len(statuses) == 1 {
			return staticResponse(statuses[0]), nil
		}
		if len(statuses) == 0 {
			// No backends: nothing may receive the request.
			return staticResponse(http.StatusInternalServerError), nil
		}
	}
	var transport *kengine.HTTPTransport
	if first != nil {
		var err error
		if transport, err = httpTransport(first); err != nil {
			return nil, fmt.Errorf("backend %s: %w", first.Name, err)
		}
	}
	if r.failurePorts == nil && len(statuses) > 0 {
		r.failurePorts = map[int]bool{}
	}
	for _, s := range statuses {
		r.failurePorts[s] = true
		port := r.failurePort(s)
		dials = append(dials, []string{fmt.Sprintf("127.0.0.1:%d", port)})
		shares = append(shares, failures[s])
		if transport == nil {
			continue
		}
		// The failure servers are plain HTTP on loopback.
		if transport.TLS != nil {
			transport.TLS.ExceptPorts = append(transport.TLS.ExceptPorts, strconv.Itoa(port))
		}
		if slices.Contains(transport.Versions, "h2c") {
			r.failureH2C = true
		}
	}
	addrs, weights := splitWeights(dials, shares)
	ups := make([]kengine.Upstream, len(addrs))
	for i, a := range addrs {
		ups[i] = kengine.Upstream{Dial: a}
	}
	if transport != nil && transport.TLS != nil {
		headers = keepHostOverTLS(headers)
	}
	proxy := kengine.ReverseProxy{Transport: transport, Upstreams: ups, Headers: headers}
	if len(ups) > 1 {
		proxy.LoadBalancing = &kengine.LoadBalancing{SelectionPolicy: &kengine.SelectionPolicy{Policy: "weighted_round_robin", Weights: weights}}
	}
	return proxy, nil
}

// keepHostOverTLS makes the proxy send the request's own Host to a TLS backend, as the
// Gateway API requires: Kengine's TLS transport otherwise replaces it with the upstream's
// address. A Host set by a rewrite is kept.
func keepHostOverTLS(h *kengine.ReverseProxyHeaders) *kengine.ReverseProxyHeaders {
	if h != nil && h.Request != nil && len(h.Request.Set["Host"]) > 0 {
		return h
	}
	out := &kengine.ReverseProxyHeaders{Request: &kengine.HeaderOps{}}
	if h != nil {
		*out = *h
		if h.Request != nil {
			req := *h.Request
			out.Request = &req
		} else {
			out.Request = &kengine.HeaderOps{}
		}
	}
	set := map[string][]string{"Host": {"{http.request.hostport}"}}
	for k, v := range out.Request.Set {
		set[k] = v
	}
	out.Request.Set = set
	return out
}

// httpTransport renders how the reverse proxy speaks to a backend; nil is Kengine's default
// (HTTP/1.1 and HTTP/2 without TLS).
func httpTransport(b *ir.Backend) (*kengine.HTTPTransport, error) {
	switch b.Protocol {
	case ir.HTTP1:
		if b.TLS == nil {
			return nil, nil
		}
	case ir.H2C:
		if b.TLS != nil {
			return nil, errors.New("h2c is HTTP/2 without TLS, and the backend has TLS")
		}
		return &kengine.HTTPTransport{Versions: []string{"h2c"}}, nil
	default:
		return nil, fmt.Errorf("unknown backend protocol %q", b.Protocol)
	}
	t, err := transportTLS(b.TLS)
	if err != nil {
		return nil, err
	}
	return &kengine.HTTPTransport{TLS: t}, nil
}

// transportTLS renders TLS towards a backend, always verified: against the given authorities
// (or the system's) for ServerName. It refuses what Kengine's TLS transport cannot express
// (reverseproxy.TLSConfig of Caddy v2.11.9, which caddy-l4's upstreams share) rather than
// verify less than the model asks.
func transportTLS(t *ir.BackendTLS) (*kengine.TransportTLS, error) {
	if len(t.SubjectAltNames) > 0 {
		return nil, errors.New("backend TLS subjectAltNames: Kengine's TLS transport verifies the certificate against server_name only and has no setting for other names")
	}
	if t.ClientCertificateTag != "" {
		return nil, fmt.Errorf("backend TLS client certificate %q: Kengine's TLS transport presents a client certificate only from files or by automating a subject name, never from a loaded certificate", t.ClientCertificateTag)
	}
	if t.ServerName == "" {
		return nil, errors.New("backend TLS has no server name to verify")
	}
	// The HTTP transport expands placeholders in server_name and caddy-l4's does not, so a
	// brace would mean different things; a DNS name has none.
	if strings.ContainsAny(t.ServerName, "{}") {
		return nil, fmt.Errorf("backend TLS server name %q is not a DNS name", t.ServerName)
	}
	out := &kengine.TransportTLS{ServerName: t.ServerName}
	if len(t.CACertificates) > 0 {
		pool, err := inlineCAPool(t.CACertificates)
		if err != nil {
			return nil, fmt.Errorf("backend TLS: %w", err)
		}
		out.CA = pool
	}
	return out, nil
}

// equalBackendTLS reports whether two backends are spoken to with the same TLS.
func equalBackendTLS(a, b *ir.BackendTLS) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ServerName == b.ServerName && a.ClientCertificateTag == b.ClientCertificateTag &&
		slices.Equal(a.CACertificates, b.CACertificates) && slices.Equal(a.SubjectAltNames, b.SubjectAltNames)
}

// inlineCAPool turns PEM certificates into the inline pool Kengine takes: base64 DER, one
// entry per certificate. Every PEM block must be a certificate, and at least one is needed.
func inlineCAPool(pems []string) (kengine.InlineCAPool, error) {
	var pool kengine.InlineCAPool
	for i, s := range pems {
		rest := []byte(s)
		found := 0
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				return pool, fmt.Errorf("CA certificate %d holds a %q PEM block", i, block.Type)
			}
			if _, err := x509.ParseCertificate(block.Bytes); err != nil {
				return pool, fmt.Errorf("CA certificate %d: %w", i, err)
			}
			pool.TrustedCACerts = append(pool.TrustedCACerts, base64.StdEncoding.EncodeToString(block.Bytes))
			found++
		}
		if found == 0 || strings.TrimSpace(string(rest)) != "" {
			return pool, fmt.Errorf("CA certificate %d is not a sequence of PEM certificates", i)
		}
	}
	if len(pool.TrustedCACerts) == 0 {
		return pool, errors.New("no CA certificates")
	}
	return pool, nil
}

// maxExactScale bounds the common multiple used to split group weights exactly over their
// endpoints; beyond it the split is rounded, which is still within a tenth of a percent.
const maxExactScale = 1000

// splitWeights spreads each group's share evenly over its addresses and returns every address
// (in group order) with an integer weight, in the same proportions and reduced by their
// common divisor.
func splitWeights(dials [][]string, shares []int) (addrs []string, weights []int) {
	scale, n := 1, 0
	for _, d := range dials {
		n += len(d)
		if scale > 0 {
			if scale = lcm(scale, len(d)); scale > maxExactScale {
				scale = 0
			}
		}
	}
	addrs = make([]string, 0, n)
	weights = make([]int, 0, n)
	for i, d := range dials {
		for _, dial := range d {
			var w int
			if scale > 0 {
				w = shares[i] * scale / len(d)
			} else {
				w = (shares[i]*maxExactScale + len(d)/2) / len(d)
				if w == 0 {
					w = 1
				}
			}
			addrs = append(addrs, dial)
			weights = append(weights, w)
		}
	}
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	if g > 1 {
		for i := range weights {
			weights[i] /= g
		}
	}
	return addrs, weights
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int) int {
	if a == 0 || b == 0 {
		return a + b
	}
	return a / gcd(a, b) * b
}
