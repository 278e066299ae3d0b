package translate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
)

// TestResolveRedirect walks the port rules of HTTPRequestRedirectFilter.Port: an explicit port
// wins; else a scheme brings its well-known port; else the listener's port is kept; and the
// port is left out of the Location when it is the default of the Location's scheme.
func TestResolveRedirect(t *testing.T) {
	type listenerSide struct {
		port int
		tls  bool
	}
	var (
		http80    = listenerSide{80, false}
		http8080  = listenerSide{8080, false}
		https443  = listenerSide{443, true}
		https8443 = listenerSide{8443, true}
	)
	tests := []struct {
		name     string
		filter   gatewayv1.HTTPRequestRedirectFilter
		listener listenerSide
		want     ir.Redirect
	}{
		// No scheme: the request's scheme (the listener's protocol) and the listener's port.
		{name: "no scheme, HTTP listener on 80", listener: http80,
			want: ir.Redirect{Scheme: "http", StatusCode: 302}},
		{name: "no scheme, HTTP listener on 8080", listener: http8080,
			want: ir.Redirect{Scheme: "http", Port: 8080, StatusCode: 302}},
		{name: "no scheme, HTTPS listener on 443", listener: https443,
			want: ir.Redirect{Scheme: "https", StatusCode: 302}},
		{name: "no scheme, HTTPS listener on 8443", listener: https8443,
			want: ir.Redirect{Scheme: "https", Port: 8443, StatusCode: 302}},

		// A scheme without a port: the scheme's well-known port, left out.
		{name: "scheme http from an HTTP listener on 8080", listener: http8080,
			filter: gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("http")},
			want:   ir.Redirect{Scheme: "http", StatusCode: 302}},
		{name: "scheme https from an HTTP listener on 80", listener: http80,
			filter: gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("https")},
			want:   ir.Redirect{Scheme: "https", StatusCode: 302}},
		{name: "scheme https from an HTTP listener on 8080", listener: http8080,
			filter: gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("https")},
			want:   ir.Redirect{Scheme: "https", StatusCode: 302}},
		{name: "scheme https from an HTTPS listener on 8443", listener: https8443,
			filter: gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("https")},
			want:   ir.Redirect{Scheme: "https", StatusCode: 302}},
		{name: "scheme http from an HTTPS listener on 443", listener: https443,
			filter: gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("http")},
			want:   ir.Redirect{Scheme: "http", StatusCode: 302}},
		{name: "scheme http from an HTTPS listener on 8443", listener: https8443,
			filter: gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("http")},
			want:   ir.Redirect{Scheme: "http", StatusCode: 302}},

		// A scheme with a port: the port, unless it is the scheme's default.
		{name: "scheme https with port 8443", listener: http80,
			filter: gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("https"), Port: ptr.To[gatewayv1.PortNumber](8443)},
			want:   ir.Redirect{Scheme: "https", Port: 8443, StatusCode: 302}},
		{name: "scheme http with port 8080", listener: https443,
			filter: gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("http"), Port: ptr.To[gatewayv1.PortNumber](8080)},
			want:   ir.Redirect{Scheme: "http", Port: 8080, StatusCode: 302}},
		{name: "scheme https with its default port 443", listener: http8080,
			filter: gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("https"), Port: ptr.To[gatewayv1.PortNumber](443)},
			want:   ir.Redirect{Scheme: "https", StatusCode: 302}},
		{name: "scheme http with its default port 80", listener: https8443,
			filter: gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("http"), Port: ptr.To[gatewayv1.PortNumber](80)},
			want:   ir.Redirect{Scheme: "http", StatusCode: 302}},
		{name: "scheme https with port 80 keeps it", listener: https443,
			filter: gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("https"), Port: ptr.To[gatewayv1.PortNumber](80)},
			want:   ir.Redirect{Scheme: "https", Port: 80, StatusCode: 302}},
		{name: "scheme http with port 443 keeps it", listener: http80,
			filter: gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("http"), Port: ptr.To[gatewayv1.PortNumber](443)},
			want:   ir.Redirect{Scheme: "http", Port: 443, StatusCode: 302}},

		// A port without a scheme: the listener's scheme with that port.
		{name: "no scheme, port 8081 on an HTTP listener", listener: http80,
			filter: gatewayv1.HTTPRequestRedirectFilter{Port: ptr.To[gatewayv1.PortNumber](8081)},
			want:   ir.Redirect{Scheme: "http", Port: 8081, StatusCode: 302}},
		{name: "no scheme, port 80 on an HTTP listener on 8080", listener: http8080,
			filter: gatewayv1.HTTPRequestRedirectFilter{Port: ptr.To[gatewayv1.PortNumber](80)},
			want:   ir.Redirect{Scheme: "http", StatusCode: 302}},
		{name: "no scheme, port 443 on an HTTPS listener on 8443", listener: https8443,
			filter: gatewayv1.HTTPRequestRedirectFilter{Port: ptr.To[gatewayv1.PortNumber](443)},
			want:   ir.Redirect{Scheme: "https", StatusCode: 302}},
		{name: "no scheme, port 443 on an HTTP listener keeps it", listener: http80,
			filter: gatewayv1.HTTPRequestRedirectFilter{Port: ptr.To[gatewayv1.PortNumber](443)},
			want:   ir.Redirect{Scheme: "http", Port: 443, StatusCode: 302}},

		// Hostname and status code are taken as they are.
		{name: "hostname and status code 301", listener: http8080,
			filter: gatewayv1.HTTPRequestRedirectFilter{Hostname: ptr.To[gatewayv1.PreciseHostname]("www.example.com"), StatusCode: ptr.To(301)},
			want:   ir.Redirect{Scheme: "http", Hostname: "www.example.com", Port: 8080, StatusCode: 301}},
		{name: "status code 308", listener: https443,
			filter: gatewayv1.HTTPRequestRedirectFilter{StatusCode: ptr.To(308)},
			want:   ir.Redirect{Scheme: "https", StatusCode: 308}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolveRedirect(&tt.filter, nil, tt.listener.port, tt.listener.tls)
			if d := cmp.Diff(&tt.want, got); d != "" {
				t.Errorf("resolveRedirect differs (-want +got):\n%s", d)
			}
		})
	}

	t.Run("the path rewrite is passed through", func(t *testing.T) {
		path := &ir.PathRewrite{ReplacePrefix: true, Prefix: "/docs", Replacement: "/manual"}
		got := resolveRedirect(&gatewayv1.HTTPRequestRedirectFilter{}, path, 80, false)
		if got.Path != path {
			t.Errorf("Path = %+v, want the given rewrite %+v", got.Path, path)
		}
	})
}

func TestPathRewrite(t *testing.T) {
	prefixMatch := func(v string) ir.HTTPMatch { return ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathPrefix, Value: v}} }
	full := func(p string) *gatewayv1.HTTPPathModifier {
		return &gatewayv1.HTTPPathModifier{Type: gatewayv1.FullPathHTTPPathModifier, ReplaceFullPath: &p}
	}
	prefix := func(p string) *gatewayv1.HTTPPathModifier {
		return &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: &p}
	}
	tests := []struct {
		name    string
		match   ir.HTTPMatch
		mod     *gatewayv1.HTTPPathModifier
		want    *ir.PathRewrite
		wantErr bool
	}{
		{name: "no modifier", match: prefixMatch("/api")},
		{name: "full path", match: prefixMatch("/api"), mod: full("/v2/index.html"),
			want: &ir.PathRewrite{Replacement: "/v2/index.html"}},
		{name: "full path to the root", match: prefixMatch("/api"), mod: full("/"),
			want: &ir.PathRewrite{Replacement: "/"}},
		{name: "full path with an exact match", match: ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathExact, Value: "/old"}}, mod: full("/new"),
			want: &ir.PathRewrite{Replacement: "/new"}},
		{name: "full path with a regular expression match", match: ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathRegex, Value: "/a.*"}}, mod: full("/b"),
			want: &ir.PathRewrite{Replacement: "/b"}},
		{name: "full path type without a value", match: prefixMatch("/api"),
			mod: &gatewayv1.HTTPPathModifier{Type: gatewayv1.FullPathHTTPPathModifier}},
		{name: "prefix", match: prefixMatch("/api"), mod: prefix("/v2"),
			want: &ir.PathRewrite{ReplacePrefix: true, Prefix: "/api", Replacement: "/v2"}},
		{name: "prefix with a trailing slash", match: prefixMatch("/api"), mod: prefix("/v2/"),
			want: &ir.PathRewrite{ReplacePrefix: true, Prefix: "/api", Replacement: "/v2"}},
		{name: "prefix replaced by the root", match: prefixMatch("/api"), mod: prefix("/"),
			want: &ir.PathRewrite{ReplacePrefix: true, Prefix: "/api", Replacement: ""}},
		{name: "prefix replaced by nothing", match: prefixMatch("/api"), mod: prefix(""),
			want: &ir.PathRewrite{ReplacePrefix: true, Prefix: "/api", Replacement: ""}},
		{name: "root prefix", match: prefixMatch(""), mod: prefix("/v2"),
			want: &ir.PathRewrite{ReplacePrefix: true, Prefix: "", Replacement: "/v2"}},
		{name: "a match without a path is not a prefix match", match: ir.HTTPMatch{}, mod: prefix("/v2"),
			wantErr: true},
		{name: "prefix with an exact match", match: ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathExact, Value: "/old"}}, mod: prefix("/new"),
			wantErr: true},
		{name: "prefix with a regular expression match", match: ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathRegex, Value: "/a.*"}}, mod: prefix("/b"),
			wantErr: true},
		{name: "prefix type without a value", match: prefixMatch("/api"),
			mod: &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier}},
		{name: "unknown type", match: prefixMatch("/api"),
			mod: &gatewayv1.HTTPPathModifier{Type: "ReplaceRegexMatch"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pathRewrite(tt.match, tt.mod)
			if (err != nil) != tt.wantErr {
				t.Fatalf("pathRewrite error = %v, want an error: %v", err, tt.wantErr)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("pathRewrite differs (-want +got):\n%s", d)
			}
		})
	}
}
