package kengine

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHandlerMarshalJSON(t *testing.T) {
	tests := []struct {
		name     string
		handler  Handler
		wantName string
		want     string
	}{
		{
			name:     "empty subroute",
			handler:  Subroute{},
			wantName: "subroute",
			want:     `{"handler":"subroute"}`,
		},
		{
			name: "subroute with routes and errors",
			handler: &Subroute{
				Routes: []Route{{Match: []MatcherSet{{Path: []string{"/a"}}}, Handle: []Handler{StaticResponse{StatusCode: "204"}}, Terminal: true}},
				Errors: &ServerErrors{Routes: []Route{{Handle: []Handler{StaticResponse{Body: "oops"}}}}},
			},
			wantName: "subroute",
			want: `{"handler":"subroute","routes":[{"match":[{"path":["/a"]}],"handle":[{"handler":"static_response","status_code":204}],"terminal":true}],` +
				`"errors":{"routes":[{"handle":[{"handler":"static_response","body":"oops"}]}]}}`,
		},
		{
			name: "weighted reverse proxy with TLS transport",
			handler: ReverseProxy{
				Upstreams: []Upstream{{Dial: "10.0.0.1:80"}, {Dial: "10.0.0.2:80"}},
				LoadBalancing: &LoadBalancing{
					SelectionPolicy: &SelectionPolicy{Policy: "weighted_round_robin", Weights: []int{1, 0}},
					TryDuration:     Duration(time.Second),
				},
				Transport: &HTTPTransport{TLS: &TransportTLS{
					CA:         InlineCAPool{TrustedCACerts: []string{"AAAA"}},
					ServerName: "svc.ns",
				}},
			},
			wantName: "reverse_proxy",
			want: `{"handler":"reverse_proxy","transport":{"protocol":"http","tls":{"ca":{"provider":"inline","trusted_ca_certs":["AAAA"]},"server_name":"svc.ns"}},` +
				`"load_balancing":{"selection_policy":{"policy":"weighted_round_robin","weights":[1,0]},"try_duration":1000000000},` +
				`"upstreams":[{"dial":"10.0.0.1:80"},{"dial":"10.0.0.2:80"}]}`,
		},
		{
			name: "TLS transport with plain ports and h2c transport",
			handler: ReverseProxy{
				Upstreams: []Upstream{{Dial: "10.0.0.1:443"}, {Dial: "127.0.0.1:19081"}},
				Transport: &HTTPTransport{TLS: &TransportTLS{ServerName: "svc.ns", ExceptPorts: []string{"19081"}}, Versions: []string{"h2c"}},
			},
			wantName: "reverse_proxy",
			want: `{"handler":"reverse_proxy","transport":{"protocol":"http","tls":{"server_name":"svc.ns","except_ports":["19081"]},"versions":["h2c"]},` +
				`"upstreams":[{"dial":"10.0.0.1:443"},{"dial":"127.0.0.1:19081"}]}`,
		},
		{
			name: "reverse proxy headers and rewrite carry no handler key",
			handler: ReverseProxy{
				Upstreams: []Upstream{{Dial: "b:80"}},
				Transport: &HTTPTransport{},
				Headers: &ReverseProxyHeaders{
					Request:  &HeaderOps{Set: map[string][]string{"Host": {"b"}}},
					Response: &RespHeaderOps{Deferred: true, HeaderOps: &HeaderOps{Delete: []string{"Server"}}},
				},
				Rewrite: &ProxyRewrite{StripPathPrefix: "/p"},
			},
			wantName: "reverse_proxy",
			want: `{"handler":"reverse_proxy","transport":{"protocol":"http"},"upstreams":[{"dial":"b:80"}],` +
				`"headers":{"request":{"set":{"Host":["b"]}},"response":{"delete":["Server"],"deferred":true}},"rewrite":{"strip_path_prefix":"/p"}}`,
		},
		{
			name: "headers",
			handler: Headers{
				Request: &HeaderOps{
					Add:     map[string][]string{"B": {"2"}, "A": {"1", "x"}},
					Delete:  []string{"X-Gone"},
					Replace: map[string][]HeaderReplacement{"Location": {{SearchRegexp: "^http:", Replace: "https:"}}},
				},
				Response: &RespHeaderOps{
					HeaderOps: &HeaderOps{Set: map[string][]string{"Cache-Control": {"no-store"}}},
					Require:   &ResponseMatcher{StatusCode: []int{2}},
				},
			},
			wantName: "headers",
			want: `{"handler":"headers","request":{"add":{"A":["1","x"],"B":["2"]},"delete":["X-Gone"],"replace":{"Location":[{"search_regexp":"^http:","replace":"https:"}]}},` +
				`"response":{"set":{"Cache-Control":["no-store"]},"require":{"status_code":[2]}}}`,
		},
		{
			name: "rewrite",
			handler: Rewrite{
				Method:          "POST",
				URI:             "/x?{http.request.uri.query}",
				StripPathSuffix: ".html",
				URISubstring:    []SubstringReplacement{{Find: "a", Replace: "b", Limit: 2}},
				PathRegexp:      []RegexReplacement{{Find: "^/v1", Replace: "/v2"}},
			},
			wantName: "rewrite",
			want: `{"handler":"rewrite","method":"POST","uri":"/x?{http.request.uri.query}","strip_path_suffix":".html",` +
				`"uri_substring":[{"find":"a","replace":"b","limit":2}],"path_regexp":[{"find":"^/v1","replace":"/v2"}]}`,
		},
		{
			name:     "static response with placeholder status",
			handler:  StaticResponse{StatusCode: "{http.error.status_code}", Headers: map[string][]string{"Content-Type": {"text/plain"}}, Body: "a&b", Close: true},
			wantName: "static_response",
			want:     `{"handler":"static_response","status_code":"{http.error.status_code}","headers":{"Content-Type":["text/plain"]},"body":"a&b","close":true}`,
		},
		{
			name:     "static response with an admin API id",
			handler:  StaticResponse{ID: "ready", Body: "ready"},
			wantName: "static_response",
			want:     `{"handler":"static_response","@id":"ready","body":"ready"}`,
		},
		{
			name:     "raw handler",
			handler:  RawHandler(`{"handler":"encode","encodings":{"gzip":{}}}`),
			wantName: "encode",
			want:     `{"handler":"encode","encodings":{"gzip":{}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.handler.HandlerName(); got != tt.wantName {
				t.Errorf("HandlerName() = %q, want %q", got, tt.wantName)
			}
			got, err := encodeJSON(tt.handler)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("MarshalJSON (-want +got):\n%s", diff)
			}
			if !json.Valid(got) {
				t.Errorf("invalid JSON: %s", got)
			}
		})
	}
}

func TestLayer4HandlerMarshalJSON(t *testing.T) {
	tests := []struct {
		name     string
		handler  Layer4Handler
		wantName string
		want     string
	}{
		{
			name: "proxy",
			handler: Layer4Proxy{
				Upstreams:     []Layer4Upstream{{Dial: []string{"10.0.0.1:5432"}, Weight: 2}, {Dial: []string{"10.0.0.2:5432"}}},
				LoadBalancing: &Layer4LoadBalancing{Selection: &Layer4SelectionPolicy{Policy: "weighted_round_robin"}, TryDuration: Duration(time.Second)},
				ProxyProtocol: "v2",
			},
			wantName: "proxy",
			want: `{"handler":"proxy","upstreams":[{"dial":["10.0.0.1:5432"],"weight":2},{"dial":["10.0.0.2:5432"]}],` +
				`"load_balancing":{"selection":{"policy":"weighted_round_robin"},"try_duration":1000000000},"proxy_protocol":"v2"}`,
		},
		{
			name:     "tls",
			handler:  Layer4TLS{ConnectionPolicies: []TLSConnectionPolicy{{Match: &TLSHandshakeMatch{SNI: []string{"a.example"}}, ALPN: []string{"h2"}}}},
			wantName: "tls",
			want:     `{"handler":"tls","connection_policies":[{"match":{"sni":["a.example"]},"alpn":["h2"]}]}`,
		},
		{
			name:     "tls offering no ALPN, and Kengine's default",
			handler:  Layer4TLS{ConnectionPolicies: []TLSConnectionPolicy{{ALPN: []string{}, Drop: true}, {}}},
			wantName: "tls",
			want:     `{"handler":"tls","connection_policies":[{"alpn":[],"drop":true},{}]}`,
		},
		{
			name: "subroute",
			handler: &Layer4Subroute{
				Routes:          []Layer4Route{{Match: []Layer4MatcherSet{{TLS: &TLSHandshakeMatch{}}}, Handle: []Layer4Handler{Layer4Proxy{}}}},
				MatchingTimeout: Duration(time.Second),
			},
			wantName: "subroute",
			want:     `{"handler":"subroute","routes":[{"match":[{"tls":{}}],"handle":[{"handler":"proxy"}]}],"matching_timeout":1000000000}`,
		},
		{
			name:     "raw",
			handler:  RawLayer4Handler(`{"handler":"echo"}`),
			wantName: "echo",
			want:     `{"handler":"echo"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.handler.Layer4HandlerName(); got != tt.wantName {
				t.Errorf("Layer4HandlerName() = %q, want %q", got, tt.wantName)
			}
			got, err := encodeJSON(tt.handler)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("MarshalJSON (-want +got):\n%s", diff)
			}
		})
	}
}

func TestModuleMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"internal issuer", InternalIssuer{CA: "admin"}, `{"module":"internal","ca":"admin"}`},
		{"internal issuer raw message", InternalIssuer{}.RawMessage(), `{"module":"internal"}`},
		{"inline CA pool", InlineCAPool{}, `{"provider":"inline"}`},
		{"raw CA pool", RawCAPool(`{"provider":"file","pem_files":["/ca.pem"]}`), `{"provider":"file","pem_files":["/ca.pem"]}`},
		{"tls listener wrapper", TLSListenerWrapper{}, `{"wrapper":"tls"}`},
		{"layer4 listener wrapper", Layer4ListenerWrapper{MatchingTimeout: 1}, `{"wrapper":"layer4","matching_timeout":1}`},
		{"raw listener wrapper", RawListenerWrapper(`{"wrapper":"proxy_protocol"}`), `{"wrapper":"proxy_protocol"}`},
		{"http transport", HTTPTransport{Versions: []string{"2"}}, `{"protocol":"http","versions":["2"]}`},
		{
			name: "matcher set with absent header and nested not",
			v:    MatcherSet{Header: map[string][]string{"X-Absent": nil, "X-Present": {}}, Not: []MatcherSet{{}}},
			want: `{"header":{"X-Absent":null,"X-Present":[]},"not":[{}]}`,
		},
		{
			name: "client authentication",
			v:    ClientAuthentication{CA: InlineCAPool{TrustedCACerts: []string{"AA"}}, Mode: "require_and_verify"},
			want: `{"ca":{"provider":"inline","trusted_ca_certs":["AA"]},"mode":"require_and_verify"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeJSON(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("MarshalJSON (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRawModuleNames(t *testing.T) {
	if got := RawHandler(`not json`).HandlerName(); got != "" {
		t.Errorf("HandlerName of invalid JSON = %q, want empty", got)
	}
	if got := RawCAPool(`{"provider":"file"}`).CAPoolProvider(); got != "file" {
		t.Errorf("CAPoolProvider = %q, want file", got)
	}
	if got := RawListenerWrapper(`{"wrapper":"tls"}`).WrapperName(); got != "tls" {
		t.Errorf("WrapperName = %q, want tls", got)
	}
}
