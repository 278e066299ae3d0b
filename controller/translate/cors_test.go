package translate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
)

func TestCORSPolicy(t *testing.T) {
	origins := func(o ...string) []gatewayv1.CORSOrigin {
		out := make([]gatewayv1.CORSOrigin, len(o))
		for i, s := range o {
			out[i] = gatewayv1.CORSOrigin(s)
		}
		return out
	}
	tests := []struct {
		name    string
		in      gatewayv1.HTTPCORSFilter
		want    *ir.CORS
		wantErr string
	}{
		{name: "the conformance filter",
			in: gatewayv1.HTTPCORSFilter{
				AllowOrigins: origins("https://www.foo.com", "https://*.bar.com"), AllowMethods: []gatewayv1.HTTPMethodWithWildcard{"GET", "OPTIONS"},
				AllowHeaders: []gatewayv1.HTTPHeaderName{"x-header-1", "x-header-2"}, ExposeHeaders: []gatewayv1.HTTPHeaderName{"x-header-3", "x-header-4"},
				AllowCredentials: ptr.To(true), MaxAge: 3600,
			},
			want: &ir.CORS{
				AllowOrigins: []ir.Origin{{Scheme: "https", Host: "www.foo.com"}, {Scheme: "https", Host: "*.bar.com"}},
				AllowMethods: []string{"GET", "OPTIONS"}, AllowHeaders: []string{"x-header-1", "x-header-2"},
				ExposeHeaders: []string{"x-header-3", "x-header-4"}, AllowCredentials: true, MaxAge: 3600,
			}},
		{name: "wildcards, the default max age",
			in:   gatewayv1.HTTPCORSFilter{AllowOrigins: origins("*"), AllowMethods: []gatewayv1.HTTPMethodWithWildcard{"*"}, AllowHeaders: []gatewayv1.HTTPHeaderName{"*"}},
			want: &ir.CORS{AnyOrigin: true, AnyMethod: true, AnyHeader: true, MaxAge: 5}},
		{name: "ports: the default one is dropped, duplicates and case folded",
			in: gatewayv1.HTTPCORSFilter{AllowOrigins: origins("https://A.example:443", "https://a.example", "http://a.example:8080", "https://*"),
				AllowHeaders: []gatewayv1.HTTPHeaderName{"X-A", "x-a"}},
			want: &ir.CORS{AllowOrigins: []ir.Origin{{Scheme: "https", Host: "a.example"}, {Scheme: "http", Host: "a.example", Port: 8080}, {Scheme: "https", Host: "*"}},
				AllowHeaders: []string{"X-A"}, MaxAge: 5}},
		{name: "expose '*' without credentials",
			in:   gatewayv1.HTTPCORSFilter{ExposeHeaders: []gatewayv1.HTTPHeaderName{"*"}},
			want: &ir.CORS{ExposeHeaders: []string{"*"}, MaxAge: 5}},
		{name: "expose '*' with credentials", in: gatewayv1.HTTPCORSFilter{ExposeHeaders: []gatewayv1.HTTPHeaderName{"*"}, AllowCredentials: ptr.To(true)}, wantErr: "exposeHeaders"},
		{name: "'*' among origins", in: gatewayv1.HTTPCORSFilter{AllowOrigins: origins("*", "https://a.example")}, wantErr: "allowOrigins"},
		{name: "'*' among methods", in: gatewayv1.HTTPCORSFilter{AllowMethods: []gatewayv1.HTTPMethodWithWildcard{"*", "GET"}}, wantErr: "allowMethods"},
		{name: "'*' among headers", in: gatewayv1.HTTPCORSFilter{AllowHeaders: []gatewayv1.HTTPHeaderName{"*", "x"}}, wantErr: "allowHeaders"},
		{name: "a method that is not one", in: gatewayv1.HTTPCORSFilter{AllowMethods: []gatewayv1.HTTPMethodWithWildcard{"get"}}, wantErr: "allowMethods"},
		{name: "a negative max age", in: gatewayv1.HTTPCORSFilter{MaxAge: -1}, wantErr: "maxAge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := corsPolicy(&tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("CORS (-want +got):\n%s", d)
			}
		})
	}
}

// Origins and header names are tenant strings that end up in Kengine matchers and header
// values: anything but the API's syntax is refused, never passed on.
func TestCORSPolicyRefusesHostileValues(t *testing.T) {
	for _, o := range []string{
		"https://{env.HOME}", "https://a.example/{file./etc/passwd}", "https://a.example/path", "https://a.example?q", "ftp://a.example",
		"https://a.example:0", "https://a.example:99999", "https://a..example", "https://a.*.example", "https://(a|b).example",
		"https://a.example:443\n", "javascript://x", "https://", "null", "https://a.example:-1", "https://ä.example",
	} {
		if got, err := corsPolicy(&gatewayv1.HTTPCORSFilter{AllowOrigins: []gatewayv1.CORSOrigin{gatewayv1.CORSOrigin(o)}}); err == nil {
			t.Errorf("origin %q accepted: %+v", o, got)
		}
	}
	for _, h := range []string{"x header", "x{env.HOME}", "x\r\nInjected: 1", "", "x,y"} {
		if _, err := corsPolicy(&gatewayv1.HTTPCORSFilter{AllowHeaders: []gatewayv1.HTTPHeaderName{gatewayv1.HTTPHeaderName(h)}}); err == nil {
			t.Errorf("allowHeaders %q accepted", h)
		}
		if _, err := corsPolicy(&gatewayv1.HTTPCORSFilter{ExposeHeaders: []gatewayv1.HTTPHeaderName{gatewayv1.HTTPHeaderName(h)}}); err == nil {
			t.Errorf("exposeHeaders %q accepted", h)
		}
	}
}
