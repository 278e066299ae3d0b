package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// testOptions are the options every test renders with, golden files included.
func testOptions() Options {
	return Options{Admin: &kengine.Admin{Listen: "127.0.0.1:2019"}, HealthPort: 19080}
}

// jsonOf encodes v as Kengine receives it (no HTML escaping), for readable comparisons.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding %T: %v", v, err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// src is a route source for tests.
func src(name string) ir.Source { return ir.Source{Kind: "HTTPRoute", Namespace: "ns", Name: name} }

// oneRoute is a Gateway with one plain HTTP port serving rt for every host.
func oneRoute(rt *ir.HTTPRoute) *ir.Gateway {
	return &ir.Gateway{Name: "ns/gw", HTTP: []*ir.HTTPServer{{Port: 8080, Listeners: []*ir.HTTPListener{{
		Name: "http", VirtualHosts: []*ir.VirtualHost{{Routes: []*ir.HTTPRoute{rt}}},
	}}}}}
}

func TestConfigRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name   string
		gw     *ir.Gateway
		adjust func(*Options)
		want   string
	}{
		{"no gateway", nil, func(*Options) {}, "no gateway model"},
		{"no admin", &ir.Gateway{}, func(o *Options) { o.Admin = nil }, "admin block is required"},
		{"zero health port", &ir.Gateway{}, func(o *Options) { o.HealthPort = 0 }, "health port 0 out of range"},
		{"health port leaves no room for the failure servers", &ir.Gateway{}, func(o *Options) { o.HealthPort = 65534 }, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions()
			tt.adjust(&opts)
			_, err := Config(tt.gw, opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// The health server is always there; the failure servers only when a route sends traffic
// to them, and then only the ones it uses.
func TestConfigServers(t *testing.T) {
	tests := []struct {
		name     string
		backends []ir.Backend
		want     []string
	}{
		{"forwarding only", []ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.1:80"}}}, []string{"gateway-8080", healthServerName}},
		{"one share fails with 503", []ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.1:80"}}, {Weight: 1, Failure: 503}}, []string{"gateway-8080", healthServerName, status503Server}},
		{"both failures", []ir.Backend{{Weight: 1, Failure: 500}, {Weight: 1, Failure: 503}}, []string{"gateway-8080", healthServerName, status500Server, status503Server}},
		{"a single failure is answered directly", []ir.Backend{{Weight: 1, Failure: 500}}, []string{"gateway-8080", healthServerName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Config(oneRoute(&ir.HTTPRoute{Source: src("r"), Backends: tt.backends}), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for name := range cfg.Apps.HTTP.Servers {
				got = append(got, name)
			}
			if diff := cmp.Diff(tt.want, got, cmpSorted); diff != "" {
				t.Errorf("servers (-want +got):\n%s", diff)
			}
			if cfg.Apps.Layer4 != nil || cfg.Apps.TLS != nil {
				t.Errorf("an HTTP-only Gateway without certificates needs neither layer4 nor tls apps")
			}
			health := cfg.Apps.HTTP.Servers[healthServerName]
			if want := `{"listen":[":19080"],"routes":[{"match":[{"path":["/kengine-gateway/ready"]}],"handle":[{"handler":"static_response","body":"ready"}],"terminal":true},` +
				`{"handle":[{"handler":"static_response","status_code":404}],"terminal":true}],"automatic_https":{"disable":true},"protocols":["h1"]}`; jsonOf(t, health) != want {
				t.Errorf("health server:\n got %s\nwant %s", jsonOf(t, health), want)
			}
			if s := cfg.Apps.HTTP.Servers[status503Server]; s != nil {
				if want := `{"listen":["127.0.0.1:19082"],"routes":[{"handle":[{"handler":"static_response","status_code":503}],"terminal":true}],"automatic_https":{"disable":true},"protocols":["h1"]}`; jsonOf(t, s) != want {
					t.Errorf("503 server:\n got %s\nwant %s", jsonOf(t, s), want)
				}
			}
			if s := cfg.Apps.HTTP.Servers[status500Server]; s != nil && s.Listen[0] != "127.0.0.1:19081" {
				t.Errorf("500 server listens on %v, want 127.0.0.1:19081", s.Listen)
			}
		})
	}
}

var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// An h2c transport speaks only HTTP/2 to cleartext upstreams, so the failure servers it
// reaches must accept h2c.
func TestFailureServersSpeakH2CWhenAnH2CRouteUsesThem(t *testing.T) {
	cfg, err := Config(oneRoute(&ir.HTTPRoute{Source: src("r"), Backends: []ir.Backend{
		{Weight: 1, Endpoints: []string{"10.0.0.1:80"}, Protocol: ir.H2C}, {Weight: 1, Failure: 500},
	}}), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Apps.HTTP.Servers[status500Server].Protocols; !cmp.Equal(got, []string{"h1", "h2c"}) {
		t.Errorf("500 server protocols = %v, want [h1 h2c]", got)
	}
}

func TestConfigCarriesAdminPKIAndCertificates(t *testing.T) {
	opts := testOptions()
	opts.PKI = &kengine.PKIApp{}
	opts.ListenHost = "{env.POD_IP}"
	gw := &ir.Gateway{
		HTTP:         []*ir.HTTPServer{{Port: 8443, TLS: true, Listeners: []*ir.HTTPListener{{Name: "https", TLS: &ir.ListenerTLS{CertificateTags: []string{"ns/a"}}}}}},
		Certificates: []ir.Certificate{{Tag: "ns/a", CertPEM: "cert", KeyPEM: "key"}},
	}
	cfg, err := Config(gw, opts)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Admin != opts.Admin || cfg.Apps.PKI != opts.PKI {
		t.Error("the admin block and the pki app must be the ones given")
	}
	if want := `{"certificates":{"load_pem":[{"certificate":"cert","key":"key","tags":["ns/a"]}]},"disable_ocsp_stapling":true}`; jsonOf(t, cfg.Apps.TLS) != want {
		t.Errorf("tls app:\n got %s\nwant %s", jsonOf(t, cfg.Apps.TLS), want)
	}
	srv := cfg.Apps.HTTP.Servers["gateway-8443"]
	if !cmp.Equal(srv.Listen, []string{"{env.POD_IP}:8443"}) || !cmp.Equal(srv.Protocols, []string{"h1", "h2"}) {
		t.Errorf("HTTPS server listens on %v with %v, want [{env.POD_IP}:8443] with [h1 h2]", srv.Listen, srv.Protocols)
	}
}

// A value render cannot write fails the whole render, naming where it came from.
func TestConfigFailsOnAValueItCannotWrite(t *testing.T) {
	rt := &ir.HTTPRoute{
		Source:  ir.Source{Kind: "HTTPRoute", Namespace: "ns", Name: "bad", Rule: 2, Match: 1},
		Filters: []ir.HTTPFilter{{RequestHeaders: &ir.HeaderEdits{Remove: []string{"X-*"}}}},
	}
	_, err := Config(oneRoute(rt), testOptions())
	if err == nil || !strings.Contains(err.Error(), "HTTPRoute ns/bad rule 2 match 1") {
		t.Fatalf("err = %v, want one naming HTTPRoute ns/bad rule 2 match 1", err)
	}
}

// Kengine must never call out on its own: every rendered server has automatic HTTPS off, OCSP
// stapling is off, and no ACME issuer appears anywhere.
func TestRenderedConfigsMakeNoOutboundRequests(t *testing.T) {
	gw := &ir.Gateway{
		HTTP: []*ir.HTTPServer{
			{Port: 8080, Listeners: []*ir.HTTPListener{{Name: "http", Hostname: "a.example.com"}}},
			{Port: 8443, TLS: true, Listeners: []*ir.HTTPListener{{Name: "https", Hostname: "*.example.com", TLS: &ir.ListenerTLS{CertificateTags: []string{"ns/a"}}}}},
		},
		Certificates: []ir.Certificate{{Tag: "ns/a", CertPEM: "c", KeyPEM: "k"}},
	}
	cfg, err := Config(gw, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for name, srv := range cfg.Apps.HTTP.Servers {
		if srv.AutomaticHTTPS == nil || !srv.AutomaticHTTPS.Disable {
			t.Errorf("server %s: automatic HTTPS must be disabled", name)
		}
	}
	if cfg.Apps.TLS == nil || !cfg.Apps.TLS.DisableOCSPStapling || cfg.Apps.TLS.Automation != nil {
		t.Errorf("tls app must disable OCSP stapling and configure no automation: %+v", cfg.Apps.TLS)
	}
	data, _, err := kengine.Finalize(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, forbidden := range []string{"acme", "zerossl", "letsencrypt"} {
		if bytes.Contains(bytes.ToLower(data), []byte(forbidden)) {
			t.Errorf("rendered config mentions %q", forbidden)
		}
	}
}
