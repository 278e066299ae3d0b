package render

import (
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// retryBodyBuffer is how much of a request body a retrying proxy reads into memory before
// forwarding (request_buffers), so that it can send the body again: Kengine never sends a
// partial body, so a request whose larger body was already sent is answered with 502 when its
// attempt fails instead of being retried.
const retryBodyBuffer = 64 << 10

// splitMatcherName names the matcher of a weighted split (its placeholders never collide with
// a route's own).
const splitMatcherName = "kengine_gateway_split"

// forwardHandler forwards a route's requests to its backends. Backends that one reverse proxy
// can serve together (same protocol and TLS, no filters of their own) share one proxy, which
// picks among them by weight; otherwise the requests are shared out by weight first and each
// backend gets its own handlers (splitHandler).
func (r *renderer) forwardHandler(rt *ir.HTTPRoute, headers *kengine.ReverseProxyHeaders) (kengine.Handler, error) {
	if needsSplit(rt.Backends) {
		return r.splitHandler(rt, headers)
	}
	h, err := r.backendHandler(rt.Backends, headers)
	if err != nil {
		return nil, err
	}
	if p, ok := h.(kengine.ReverseProxy); ok {
		return applyForwarding(p, rt.Timeouts, rt.Retry)
	}
	return h, nil
}

// needsSplit reports whether the forwarded backends cannot share one reverse proxy: one has
// filters of its own, or they differ in protocol or TLS (one proxy has one transport).
func needsSplit(backends []ir.Backend) bool {
	var first *ir.Backend
	for i := range backends {
		b := &backends[i]
		if b.Weight <= 0 || b.Failure != 0 {
			continue
		}
		if len(b.Filters) > 0 {
			return true
		}
		if first == nil {
			first = b
		} else if b.Protocol != first.Protocol || !equalBackendTLS(b.TLS, first.TLS) {
			return true
		}
	}
	return false
}

// applyForwarding adds a route's timeouts and retries to its reverse proxy.
func applyForwarding(p kengine.ReverseProxy, timeouts *ir.Timeouts, retry *ir.Retry) (kengine.ReverseProxy, error) {
	if timeouts != nil && timeouts.BackendResponse != 0 {
		if timeouts.BackendResponse < 0 {
			return p, fmt.Errorf("backend response timeout %s is negative", time.Duration(timeouts.BackendResponse))
		}
		t := kengine.HTTPTransport{}
		if p.Transport != nil {
			t = *p.Transport
		}
		t.ResponseHeaderTimeout = kengine.Duration(timeouts.BackendResponse)
		p.Transport = &t
	}
	if retry == nil {
		return p, nil
	}
	if retry.Attempts < 1 {
		return p, fmt.Errorf("retry attempts %d is not positive", retry.Attempts)
	}
	if retry.Backoff < 0 {
		return p, fmt.Errorf("retry backoff %s is negative", time.Duration(retry.Backoff))
	}
	lb := kengine.LoadBalancing{}
	if p.LoadBalancing != nil {
		lb = *p.LoadBalancing
	}
	lb.Retries = retry.Attempts
	lb.TryInterval = kengine.Duration(retry.Backoff)
	// Dial errors are always retried. After any other failure with no response (a reset
	// connection, a response header timeout) Kengine evaluates these sets against the
	// request with is_transport_error set; a set reading status_code is evaluated against
	// each response instead.
	lb.RetryMatch = []kengine.MatcherSet{{Expression: "{http.reverse_proxy.is_transport_error} == true"}}
	if len(retry.Statuses) > 0 {
		codes := make([]string, len(retry.Statuses))
		for i, s := range retry.Statuses {
			if s < 100 || s > 999 {
				return p, fmt.Errorf("retry status %d is not an HTTP status code", s)
			}
			codes[i] = strconv.Itoa(s)
		}
		lb.RetryMatch = append(lb.RetryMatch, kengine.MatcherSet{Expression: "{http.reverse_proxy.status_code} in [" + strings.Join(codes, ", ") + "]"})
	}
	p.LoadBalancing = &lb
	p.RequestBuffers = retryBodyBuffer
	return p, nil
}

// splitHandler shares a route's requests among its backends by weight, then runs each
// backend's own filters and reverse proxy (with the route's timeouts and retries), or answers
// its failure status. The share is drawn per request from the random request UUID that
// Kengine generates ({http.request.uuid}, a version 4 UUID whose first eight hex digits are
// random): the first backend takes the requests whose digits fall below its cumulative share
// of 16^8, and so on, so each backend receives its weight's share of the requests on average.
func (r *renderer) splitHandler(rt *ir.HTTPRoute, headers *kengine.ReverseProxyHeaders) (kengine.Handler, error) {
	var shares []ir.Backend
	var total int64
	for _, b := range rt.Backends {
		if b.Weight > 0 {
			shares = append(shares, b)
			total += int64(b.Weight)
		}
	}
	if len(shares) == 0 {
		return staticResponse(http.StatusInternalServerError), nil
	}
	var routes []kengine.Route
	var cumulative int64
	var low uint64
	for i, b := range shares {
		cumulative += int64(b.Weight)
		high := splitSpace
		if i < len(shares)-1 {
			high = uint64(new(big.Int).Div(new(big.Int).Mul(big.NewInt(cumulative), new(big.Int).SetUint64(splitSpace)), big.NewInt(total)).Int64())
		}
		if high <= low {
			continue // a share too small for one of 16^8 draws
		}
		handlers, err := r.branchHandlers(b, rt, headers)
		if err != nil {
			return nil, fmt.Errorf("backend %s: %w", b.Name, err)
		}
		route := kengine.Route{Handle: handlers, Terminal: true}
		if high < splitSpace {
			route.Match = []kengine.MatcherSet{{VarsRegexp: map[string]*kengine.RegexpMatcher{
				"{http.request.uuid}": {Name: splitMatcherName, Pattern: hexBelow(high)},
			}}}
		}
		routes = append(routes, route)
		low = high
	}
	return kengine.Subroute{Routes: routes}, nil
}

// splitSpace is the number of draws a split shares out: 16^8, the first eight hex digits of
// the request UUID.
const splitSpace = uint64(1) << 32

// branchHandlers are the handlers of one backend of a split: its failure status, or its own
// filters and a reverse proxy to it alone.
func (r *renderer) branchHandlers(b ir.Backend, rt *ir.HTTPRoute, headers *kengine.ReverseProxyHeaders) ([]kengine.Handler, error) {
	if b.Failure != 0 {
		if err := checkStatus(b.Failure); err != nil {
			return nil, err
		}
		return []kengine.Handler{staticResponse(b.Failure)}, nil
	}
	for _, f := range b.Filters {
		if f.CORS == nil && f.RequestHeaders == nil && f.ResponseHeaders == nil && f.Rewrite == nil {
			return nil, errors.New("backend filter sets no edit")
		}
	}
	handlers, own, err := filterHandlers(b.Filters)
	if err != nil {
		return nil, err
	}
	if own != nil {
		headers = own // the backend's own Host rewrite runs after, so it wins
	}
	b.Filters = nil
	h, err := r.backendHandler([]ir.Backend{b}, headers)
	if err != nil {
		return nil, err
	}
	if p, ok := h.(kengine.ReverseProxy); ok {
		if h, err = applyForwarding(p, rt.Timeouts, rt.Retry); err != nil {
			return nil, err
		}
	}
	return append(handlers, h), nil
}

// hexBelow returns a regular expression that matches a string of at least eight lowercase hex
// digits whose first eight, read as a number, are below n (0 < n < 16^8): for each digit, the
// digits of n before it, then a smaller digit.
func hexBelow(n uint64) string {
	digits := fmt.Sprintf("%08x", n)
	var alts []string
	for i := 0; i < len(digits); i++ {
		v, _ := strconv.ParseUint(digits[i:i+1], 16, 8)
		if v == 0 {
			continue
		}
		alts = append(alts, digits[:i]+hexDigitsBelow(int(v)))
	}
	return "^(?:" + strings.Join(alts, "|") + ")"
}

// hexDigitsBelow is a character class of the hex digits below v (1 ≤ v ≤ 15).
func hexDigitsBelow(v int) string {
	const hex = "0123456789abcdef"
	if v == 1 {
		return "0"
	}
	last := hex[v-1]
	switch {
	case v <= 10:
		return "[0-" + string(last) + "]"
	case v == 11:
		return "[0-9a]"
	default:
		return "[0-9a-" + string(last) + "]"
	}
}
