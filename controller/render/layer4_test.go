package render

import (
	"strings"
	"testing"

	"github.com/khulnasoft/gateway/controller/ir"
)

func TestLayer4(t *testing.T) {
	tlsSrc := ir.Source{Kind: "TLSRoute", Namespace: "ns", Name: "t"}
	tests := []struct {
		name string
		gw   ir.Gateway
		want string // the layer4 app's JSON
	}{
		{
			name: "passthrough by SNI, wildcard as a regexp, catch-all last",
			gw: ir.Gateway{TLS: []*ir.TLSServer{{Port: 8443, Routes: []*ir.TLSRoute{
				{Source: tlsSrc, Backends: []ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.9:443"}}}},
				{Source: tlsSrc, Hostname: "a.example.com", Backends: []ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.1:443"}}}},
				{Source: tlsSrc, Hostname: "*.example.com", Backends: []ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.2:443"}}}},
			}}}},
			want: `{"servers":{"gateway-tls-8443":{"listen":[":8443"],"routes":[` +
				`{"match":[{"tls":{"sni":["a.example.com"]}}],"handle":[{"handler":"proxy","upstreams":[{"dial":["10.0.0.1:443"]}]}]},` +
				`{"match":[{"tls":{"sni_regexp":{"pattern":"(?i)^.+\\.example\\.com$"}}}],"handle":[{"handler":"proxy","upstreams":[{"dial":["10.0.0.2:443"]}]}]},` +
				`{"match":[{"tls":{}}],"handle":[{"handler":"proxy","upstreams":[{"dial":["10.0.0.9:443"]}]}]}]}}}`,
		},
		{
			name: "terminate with the listener's certificates, then forward the plain stream",
			gw: ir.Gateway{TLS: []*ir.TLSServer{{Port: 8443, Routes: []*ir.TLSRoute{
				{Source: tlsSrc, Hostname: "a.example.com", Terminate: &ir.ListenerTLS{CertificateTags: []string{"ns/a"}},
					Backends: []ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.1:8080"}}}},
			}}}},
			want: `{"servers":{"gateway-tls-8443":{"listen":[":8443"],"routes":[` +
				`{"match":[{"tls":{"sni":["a.example.com"]}}],"handle":[{"handler":"tls","connection_policies":[{"certificate_selection":{"any_tag":["ns/a"]},"alpn":[]}]},` +
				`{"handler":"proxy","upstreams":[{"dial":["10.0.0.1:8080"]}]}]}]}}}`,
		},
		{
			name: "a TLS route without a usable backend closes the connection instead of falling through",
			gw: ir.Gateway{TLS: []*ir.TLSServer{{Port: 8443, Routes: []*ir.TLSRoute{
				{Source: tlsSrc, Hostname: "a.example.com", Backends: []ir.Backend{{Weight: 1, Failure: 503}}},
				{Source: tlsSrc, Backends: []ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.9:443"}}}},
			}}}},
			want: `{"servers":{"gateway-tls-8443":{"listen":[":8443"],"routes":[` +
				`{"match":[{"tls":{"sni":["a.example.com"]}}],"handle":[{"handler":"close"}]},` +
				`{"match":[{"tls":{}}],"handle":[{"handler":"proxy","upstreams":[{"dial":["10.0.0.9:443"]}]}]}]}}}`,
		},
		{
			name: "TCP weights: one upstream per endpoint, failed shares left out",
			gw: ir.Gateway{TCP: []*ir.StreamServer{{Port: 5432, Backends: []ir.Backend{
				{Weight: 3, Endpoints: []string{"10.0.0.1:5432", "10.0.0.2:5432"}},
				{Weight: 1, Endpoints: []string{"10.0.0.3:5432"}},
				{Weight: 5, Failure: 500},
			}}}},
			want: `{"servers":{"gateway-tcp-5432":{"listen":[":5432"],"routes":[{"handle":[{"handler":"proxy","upstreams":[` +
				`{"dial":["10.0.0.1:5432"],"weight":3},{"dial":["10.0.0.2:5432"],"weight":3},{"dial":["10.0.0.3:5432"],"weight":2}],` +
				`"load_balancing":{"selection":{"policy":"weighted_round_robin"}}}]}]}}}`,
		},
		{
			name: "UDP listens and dials UDP",
			gw: ir.Gateway{UDP: []*ir.StreamServer{{Port: 53, Backends: []ir.Backend{
				{Weight: 1, Endpoints: []string{"10.0.0.1:5353"}},
			}}}},
			want: `{"servers":{"gateway-udp-53":{"listen":["udp/:53"],"routes":[{"handle":[{"handler":"proxy","upstreams":[{"dial":["udp/10.0.0.1:5353"]}]}]}]}}}`,
		},
		{
			name: "a stream server without a usable backend closes every connection",
			gw:   ir.Gateway{TCP: []*ir.StreamServer{{Port: 9000, Backends: []ir.Backend{{Weight: 1, Failure: 503}}}}},
			want: `{"servers":{"gateway-tcp-9000":{"listen":[":9000"]}}}`,
		},
		{
			name: "TLS to the upstream",
			gw: ir.Gateway{TCP: []*ir.StreamServer{{Port: 9000, Backends: []ir.Backend{
				{Weight: 1, Endpoints: []string{"10.0.0.1:9443"}, TLS: &ir.BackendTLS{ServerName: "db.example.com"}},
			}}}},
			want: `{"servers":{"gateway-tcp-9000":{"listen":[":9000"],"routes":[{"handle":[{"handler":"proxy","upstreams":[{"dial":["10.0.0.1:9443"],"tls":{"server_name":"db.example.com"}}]}]}]}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Config(&tt.gw, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if got := jsonOf(t, cfg.Apps.Layer4); got != tt.want {
				t.Errorf("layer4 app:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestLayer4ListenHost(t *testing.T) {
	opts := testOptions()
	opts.ListenHost = "{env.POD_IP}"
	cfg, err := Config(&ir.Gateway{
		TCP: []*ir.StreamServer{{Port: 9000}},
		UDP: []*ir.StreamServer{{Port: 53}},
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Apps.Layer4.Servers["gateway-tcp-9000"].Listen[0]; got != "{env.POD_IP}:9000" {
		t.Errorf("TCP listens on %q", got)
	}
	if got := cfg.Apps.Layer4.Servers["gateway-udp-53"].Listen[0]; got != "udp/{env.POD_IP}:53" {
		t.Errorf("UDP listens on %q", got)
	}
}

func TestLayer4Refuses(t *testing.T) {
	_, err := Config(&ir.Gateway{TLS: []*ir.TLSServer{{Port: 8443, Routes: []*ir.TLSRoute{{
		Source: ir.Source{Kind: "TLSRoute", Namespace: "ns", Name: "t"}, Hostname: "a.example.com",
		Terminate: &ir.ListenerTLS{ClientValidation: &ir.ClientValidation{CACertificates: []string{"junk"}}},
		Backends:  []ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.1:80"}}},
	}}}}}, testOptions())
	if err == nil || !strings.Contains(err.Error(), "TLSRoute ns/t") {
		t.Errorf("err = %v, want one naming TLSRoute ns/t", err)
	}
	_, err = Config(&ir.Gateway{TCP: []*ir.StreamServer{{Port: 9000, Source: ir.Source{Kind: "TCPRoute", Namespace: "ns", Name: "c"}, Backends: []ir.Backend{
		{Weight: 1, Endpoints: []string{"10.0.0.1:9443"}, TLS: &ir.BackendTLS{ServerName: "db", SubjectAltNames: []string{"x"}}},
	}}}}, testOptions())
	if err == nil || !strings.Contains(err.Error(), "subjectAltNames") {
		t.Errorf("err = %v, want one about subjectAltNames", err)
	}
}

// A TLS route next to HTTPS listeners on one port must not take a name an HTTPS listener owns
// more specifically than the route's own hostname.
func TestMoreSpecificWithin(t *testing.T) {
	for _, tc := range []struct {
		host, pattern string
		want          bool
	}{
		{"a.example.com", "", true},
		{"*.example.com", "", true},
		{"", "", false},
		{"", "*.example.com", false},
		{"a.example.com", "*.example.com", true},
		{"a.b.example.com", "*.example.com", true},
		{"*.a.example.com", "*.example.com", true},
		{"*.example.com", "*.example.com", false},
		{"example.com", "*.example.com", false},
		{"a.example.net", "*.example.com", false},
		{"a.example.com", "a.example.com", false},
		{"b.example.com", "a.example.com", false},
		{"*.example.com", "a.example.com", false},
	} {
		if got := moreSpecificWithin(tc.host, tc.pattern); got != tc.want {
			t.Errorf("moreSpecificWithin(%q, %q) = %v, want %v", tc.host, tc.pattern, got, tc.want)
		}
	}
}
