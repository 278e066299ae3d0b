package translate

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
)

func TestParseGatewayDurationAcceptsExactlyGEP2257(t *testing.T) {
	good := map[string]time.Duration{
		"0s": 0, "500ms": 500 * time.Millisecond, "1s": time.Second, "1m30s": 90 * time.Second, "1h": time.Hour,
		"30m1800s": time.Hour, "99999h99999h99999h99999h": 4 * 99999 * time.Hour, "00001s": time.Second,
	}
	for in, want := range good {
		if got, err := parseGatewayDuration("f", gatewayv1.Duration(in)); err != nil || got != want {
			t.Errorf("%q = %v, %v; want %v", in, got, err, want)
		}
	}
	// What time.ParseDuration takes but GEP-2257 does not, and worse.
	for _, in := range []string{"", "1", "1.5s", "-1s", "+1s", "1us", "1ns", "1d", "100000s", "1s1s1s1s1s", " 1s", "1s ", "1S", "1h-1m", "{env.X}s", "1s\n"} {
		if got, err := parseGatewayDuration("timeouts.request", gatewayv1.Duration(in)); err == nil {
			t.Errorf("%q accepted as %v", in, got)
		} else if !strings.Contains(err.Error(), "timeouts.request") {
			t.Errorf("%q: error %q does not name the field", in, err)
		}
	}
}

func TestForwardingPolicy(t *testing.T) {
	d := func(s string) *gatewayv1.Duration { return ptr.To(gatewayv1.Duration(s)) }
	ms := func(n int) ir.Duration { return ir.Duration(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name         string
		rule         gatewayv1.HTTPRouteRule
		wantTimeouts *ir.Timeouts
		wantRetry    *ir.Retry
		wantErr      string
	}{
		{name: "nothing set"},
		{name: "request timeout bounds the single attempt",
			rule:         gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: d("500ms")}},
			wantTimeouts: &ir.Timeouts{BackendResponse: ms(500)}},
		{name: "backend timeout",
			rule:         gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{BackendRequest: d("250ms")}},
			wantTimeouts: &ir.Timeouts{BackendResponse: ms(250)}},
		{name: "the shorter of both",
			rule:         gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: d("1s"), BackendRequest: d("250ms")}},
			wantTimeouts: &ir.Timeouts{BackendResponse: ms(250)}},
		{name: "0s disables",
			rule: gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: d("0s"), BackendRequest: d("0s")}}},
		{name: "backend timeout under a disabled request timeout",
			rule:         gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: d("0s"), BackendRequest: d("2s")}},
			wantTimeouts: &ir.Timeouts{BackendResponse: ms(2000)}},
		{name: "request timeout under a disabled backend timeout",
			rule:         gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: d("2s"), BackendRequest: d("0s")}},
			wantTimeouts: &ir.Timeouts{BackendResponse: ms(2000)}},
		{name: "backendRequest longer than request (GEP-1742)",
			rule:    gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: d("1s"), BackendRequest: d("2s")}},
			wantErr: "longer than timeouts.request"},
		{name: "a bad backendRequest",
			rule:    gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{BackendRequest: d("1.5s")}},
			wantErr: "timeouts.backendRequest"},
		{name: "retry defaults to one retry of failures without a response",
			rule:      gatewayv1.HTTPRouteRule{Retry: &gatewayv1.HTTPRouteRetry{}},
			wantRetry: &ir.Retry{Attempts: 1}},
		{name: "retry codes sorted and unique, with backoff and a backend timeout",
			rule: gatewayv1.HTTPRouteRule{
				Timeouts: &gatewayv1.HTTPRouteTimeouts{BackendRequest: d("100ms")},
				Retry:    &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(3), Codes: []gatewayv1.HTTPRouteRetryStatusCode{503, 500, 503, 429}, Backoff: d("50ms")},
			},
			wantTimeouts: &ir.Timeouts{BackendResponse: ms(100)},
			wantRetry:    &ir.Retry{Attempts: 3, Statuses: []int{429, 500, 503}, Backoff: ms(50)}},
		{name: "retry with a disabled request timeout",
			rule:      gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: d("0s")}, Retry: &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(2)}},
			wantRetry: &ir.Retry{Attempts: 2}},
		{name: "retry with a request timeout",
			rule:    gatewayv1.HTTPRouteRule{Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: d("1s")}, Retry: &gatewayv1.HTTPRouteRetry{}},
			wantErr: "cancels an attempt in flight"},
		{name: "zero attempts", rule: gatewayv1.HTTPRouteRule{Retry: &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(0)}}, wantErr: "retry.attempts"},
		{name: "negative attempts", rule: gatewayv1.HTTPRouteRule{Retry: &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(-5)}}, wantErr: "retry.attempts"},
		{name: "too many attempts", rule: gatewayv1.HTTPRouteRule{Retry: &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(maxRetryAttempts + 1)}}, wantErr: "retry.attempts"},
		{name: "a code that is not an error status",
			rule: gatewayv1.HTTPRouteRule{Retry: &gatewayv1.HTTPRouteRetry{Codes: []gatewayv1.HTTPRouteRetryStatusCode{200}}}, wantErr: "retry.codes"},
		{name: "a code that is no status",
			rule: gatewayv1.HTTPRouteRule{Retry: &gatewayv1.HTTPRouteRetry{Codes: []gatewayv1.HTTPRouteRetryStatusCode{-500}}}, wantErr: "retry.codes"},
		{name: "a bad backoff", rule: gatewayv1.HTTPRouteRule{Retry: &gatewayv1.HTTPRouteRetry{Backoff: d("1e3s")}}, wantErr: "retry.backoff"},
		{name: "pauses over the limit",
			rule: gatewayv1.HTTPRouteRule{Retry: &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(10), Backoff: d("7s")}}, wantErr: "at most 1m0s of pauses"},
		{name: "a backoff that would overflow",
			rule: gatewayv1.HTTPRouteRule{Retry: &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(10), Backoff: d("99999h99999h99999h99999h")}}, wantErr: "retry.backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeouts, retry, err := forwardingPolicy(tt.rule)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.wantTimeouts, timeouts); d != "" {
				t.Errorf("timeouts (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantRetry, retry); d != "" {
				t.Errorf("retry (-want +got):\n%s", d)
			}
		})
	}
}
