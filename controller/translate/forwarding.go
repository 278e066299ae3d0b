package translate

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
)

// Limits on what a route author may ask of retries. A retry multiplies the requests a backend
// receives and holds the client's request open meanwhile; route authors are untrusted, so
// one request may not turn into an unbounded number of attempts or pauses.
const (
	// defaultRetryAttempts is how many times a request is sent again when the retry stanza
	// leaves attempts out (the API says it is implementation-specific; Envoy's default).
	defaultRetryAttempts = 1
	// maxRetryAttempts bounds rules[].retry.attempts.
	maxRetryAttempts = 10
	// maxRetryPauses bounds attempts × backoff, the time a request may spend pausing.
	maxRetryPauses = time.Minute
	// minRetryStatus and maxRetryStatus bound rules[].retry.codes, as the API does.
	minRetryStatus, maxRetryStatus = 400, 599
)

// gatewayDuration is the GEP-2257 duration syntax, exactly as the API server validates it:
// one to four components of one to five digits and a unit (h, m, s or ms).
var gatewayDuration = regexp.MustCompile(`^([0-9]{1,5}(h|m|s|ms)){1,4}$`)

// parseGatewayDuration validates a GEP-2257 duration and returns its value; field names it in
// the error.
func parseGatewayDuration(field string, d gatewayv1.Duration) (time.Duration, error) {
	if !gatewayDuration.MatchString(string(d)) {
		return 0, fmt.Errorf("%s %q is not a Gateway API duration (GEP-2257: one to four parts of up to 5 digits and a unit h, m, s or ms, such as 1s or 1m30s)", field, d)
	}
	v, err := time.ParseDuration(string(d))
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", field, d, err)
	}
	return v, nil
}

// errRequestTimeoutWithRetry is why a rule may not have both: the spec wants the request
// timeout to bound the initial attempt and every retry, and to cancel an attempt in flight.
var errRequestTimeoutWithRetry = errors.New("timeouts.request together with retry cannot be honoured: Kengine's reverse_proxy bounds each attempt (response_header_timeout) and when a new attempt may start (try_duration), but has no deadline that cancels an attempt in flight when the request timeout expires; bound each attempt with timeouts.backendRequest instead")

// forwardingPolicy validates a rule's timeouts and retry and resolves them into the model.
//
// Kengine's reverse proxy can bound one thing per attempt: the wait for the backend's response
// headers once the request has been sent (response_header_timeout), answering 504 when it runs
// out. A rule's backendRequest timeout is exactly a per-attempt bound. Its request timeout
// covers the whole exchange; with a single attempt (no retry) that is the same wait, so the
// attempt gets the shorter of the two; with retries it is refused (errRequestTimeoutWithRetry).
// "0s" disables a timeout, as the API says.
func forwardingPolicy(rule gatewayv1.HTTPRouteRule) (*ir.Timeouts, *ir.Retry, error) {
	var request, backend time.Duration
	if to := rule.Timeouts; to != nil {
		var err error
		if to.Request != nil {
			if request, err = parseGatewayDuration("timeouts.request", *to.Request); err != nil {
				return nil, nil, err
			}
		}
		if to.BackendRequest != nil {
			if backend, err = parseGatewayDuration("timeouts.backendRequest", *to.BackendRequest); err != nil {
				return nil, nil, err
			}
		}
		// GEP-1742, as the API's own validation: backendRequest may not exceed a non-zero request.
		if request > 0 && backend > request {
			return nil, nil, fmt.Errorf("timeouts.backendRequest %s is longer than timeouts.request %s", *to.BackendRequest, *to.Request)
		}
	}
	var retry *ir.Retry
	if rule.Retry != nil {
		if request > 0 {
			return nil, nil, errRequestTimeoutWithRetry
		}
		var err error
		if retry, err = retryPolicy(rule.Retry); err != nil {
			return nil, nil, err
		}
	}
	attempt := backend
	if attempt == 0 || (request > 0 && request < attempt) {
		attempt = request
	}
	var timeouts *ir.Timeouts
	if attempt > 0 {
		timeouts = &ir.Timeouts{BackendResponse: ir.Duration(attempt)}
	}
	return timeouts, retry, nil
}

// retryPolicy validates a retry stanza. Attempts that get no response (connection refused or
// reset, a backend timeout) are always retried, as the API recommends; codes add response
// statuses.
func retryPolicy(r *gatewayv1.HTTPRouteRetry) (*ir.Retry, error) {
	out := &ir.Retry{Attempts: defaultRetryAttempts}
	if r.Attempts != nil {
		if *r.Attempts < 1 || *r.Attempts > maxRetryAttempts {
			return nil, fmt.Errorf("retry.attempts %d: this controller allows 1 to %d retries of one request", *r.Attempts, maxRetryAttempts)
		}
		out.Attempts = *r.Attempts
	}
	for _, c := range r.Codes {
		if c < minRetryStatus || c > maxRetryStatus {
			return nil, fmt.Errorf("retry.codes: %d is not a status from %d to %d", c, minRetryStatus, maxRetryStatus)
		}
		if !slices.Contains(out.Statuses, int(c)) {
			out.Statuses = append(out.Statuses, int(c))
		}
	}
	slices.Sort(out.Statuses)
	if r.Backoff != nil {
		d, err := parseGatewayDuration("retry.backoff", *r.Backoff)
		if err != nil {
			return nil, err
		}
		// d is checked first: four 5-digit hour parts times the attempts overflow a Duration.
		if d > maxRetryPauses || time.Duration(out.Attempts)*d > maxRetryPauses {
			return nil, fmt.Errorf("retry.backoff %s × %d attempts: this controller allows at most %s of pauses per request", *r.Backoff, out.Attempts, maxRetryPauses)
		}
		out.Backoff = ir.Duration(d)
	}
	return out, nil
}
