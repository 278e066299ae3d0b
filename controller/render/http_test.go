package render

import (
	"regexp"
	"strings"
	"testing"

	"github.com/khulnasoft/gateway/controller/ir"
)

func TestHostMatcher(t *testing.T) {
	if m := hostMatcher("a.example.com"); len(m.Host) != 1 || m.HeaderRegexp != nil {
		t.Errorf("an exact host must use the host matcher: %s", jsonOf(t, m))
	}
	m := hostMatcher("*.example.com")
	re := regexp.MustCompile(m.HeaderRegexp["Host"].Pattern)
	for host, want := range map[string]bool{
		"a.example.com": true, "a.b.example.com": true, "A.EXAMPLE.COM:8080": true,
		"example.com": false, "aexample.com": false, "a.example.com.evil": false, ".example.com": false,
	} {
		if re.MatchString(host) != want {
			t.Errorf("wildcard Host %q: match = %v, want %v", host, !want, want)
		}
	}
}

func TestSNIMatcher(t *testing.T) {
	if m := sniMatcher("a.example.com"); len(m.SNI) != 1 || m.SNIRegexp != nil {
		t.Errorf("an exact host must use the sni matcher: %+v", m)
	}
	m := sniMatcher("*.example.com")
	re := regexp.MustCompile(m.SNIRegexp.Pattern)
	for host, want := range map[string]bool{"a.example.com": true, "a.b.example.com": true, "example.com": false, "aexample.com": false} {
		if re.MatchString(host) != want {
			t.Errorf("wildcard SNI %q: match = %v, want %v", host, !want, want)
		}
	}
}

// Listener routes hold virtual host routes, which hold the routes; each level ends in a 404,
// and a virtual host with the listener's own hostname needs no second host matcher.
func TestHTTPServerNesting(t *testing.T) {
	r := &renderer{opts: testOptions()}
	srv := r.httpServer(&ir.HTTPServer{Port: 80, Listeners: []*ir.HTTPListener{
		{Name: "a", Hostname: "a.example.com", VirtualHosts: []*ir.VirtualHost{{Hostname: "a.example.com", Routes: []*ir.HTTPRoute{{Response: &ir.DirectResponse{StatusCode: 204}}}}}},
		{Name: "any", VirtualHosts: []*ir.VirtualHost{{Hostname: "*.example.net", Routes: []*ir.HTTPRoute{{Response: &ir.DirectResponse{StatusCode: 200}}}}, {}}},
	}})
	if r.err != nil {
		t.Fatal(r.err)
	}
	const notFound = `{"handle":[{"handler":"static_response","status_code":404}],"terminal":true}`
	want := `{"listen":[":80"],"routes":[` +
		`{"match":[{"host":["a.example.com"]}],"handle":[{"handler":"subroute","routes":[` +
		`{"handle":[{"handler":"subroute","routes":[{"handle":[{"handler":"static_response","status_code":204}],"terminal":true},` + notFound + `]}],"terminal":true},` +
		notFound + `]}],"terminal":true},` +
		`{"handle":[{"handler":"subroute","routes":[` +
		`{"match":[{"header_regexp":{"Host":{"pattern":"(?i)^[^:]+\\.example\\.net(:[0-9]+)?$"}}}],"handle":[{"handler":"subroute","routes":[{"handle":[{"handler":"static_response","status_code":200}],"terminal":true},` + notFound + `]}],"terminal":true},` +
		`{"handle":[{"handler":"subroute","routes":[` + notFound + `]}],"terminal":true},` +
		notFound + `]}],"terminal":true},` +
		notFound + `],"automatic_https":{"disable":true},"protocols":["h1","h2c"]}`
	if got := jsonOf(t, srv); got != want {
		t.Errorf("server:\n got %s\nwant %s", got, want)
	}
}

func TestConnectionPolicies(t *testing.T) {
	ca := testCADER(t)
	r := &renderer{opts: testOptions()}
	srv := r.httpServer(&ir.HTTPServer{Port: 443, TLS: true, Listeners: []*ir.HTTPListener{
		{Name: "exact", Hostname: "a.example.com", TLS: &ir.ListenerTLS{CertificateTags: []string{"ns/a"}}},
		{Name: "wild", Hostname: "*.example.com", TLS: &ir.ListenerTLS{CertificateTags: []string{"ns/a", "ns/b"},
			ClientValidation: &ir.ClientValidation{CACertificates: []string{testCAPEM}, Mode: ir.ClientCertUnverified}}},
		{Name: "any", TLS: &ir.ListenerTLS{CertificateTags: []string{"ns/c"}, ClientValidation: &ir.ClientValidation{CACertificates: []string{testCAPEM}}}},
	}})
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := `[{"match":{"sni":["a.example.com"]},"certificate_selection":{"any_tag":["ns/a"]}},` +
		`{"match":{"sni_regexp":{"pattern":"(?i)^.+\\.example\\.com$"}},"certificate_selection":{"any_tag":["ns/a","ns/b"]},` +
		`"client_authentication":{"ca":{"provider":"inline","trusted_ca_certs":["` + ca + `"]},"mode":"request"}},` +
		`{"certificate_selection":{"any_tag":["ns/c"]},"client_authentication":{"ca":{"provider":"inline","trusted_ca_certs":["` + ca + `"]},"mode":"require_and_verify"}}]`
	if got := jsonOf(t, srv.TLSConnectionPolicies); got != want {
		t.Errorf("policies:\n got %s\nwant %s", got, want)
	}

	r = &renderer{opts: testOptions()}
	r.httpServer(&ir.HTTPServer{Port: 443, TLS: true, Listeners: []*ir.HTTPListener{
		{Name: "bad", TLS: &ir.ListenerTLS{ClientValidation: &ir.ClientValidation{}}},
	}})
	if r.err == nil || !strings.Contains(r.err.Error(), "listener bad: client validation") {
		t.Errorf("client validation without a CA must be refused, got %v", r.err)
	}
}

func TestHTTPRouteActions(t *testing.T) {
	tests := []struct {
		name  string
		route ir.HTTPRoute
		want  string
	}{
		{
			name:  "direct response after filters",
			route: ir.HTTPRoute{Filters: []ir.HTTPFilter{{ResponseHeaders: &ir.HeaderEdits{Remove: []string{"Server"}}}}, Response: &ir.DirectResponse{StatusCode: 418}},
			want:  `{"handle":[{"handler":"headers","response":{"delete":["Server"],"deferred":true}},{"handler":"static_response","status_code":418}],"terminal":true}`,
		},
		{
			name: "redirect wins over backends and drops the Host rewrite",
			route: ir.HTTPRoute{
				Match:    ir.HTTPMatch{Method: "GET"},
				Filters:  []ir.HTTPFilter{{Rewrite: &ir.Rewrite{Hostname: "up"}}},
				Redirect: &ir.Redirect{Scheme: "https", StatusCode: 301},
				Backends: []ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.1:80"}}},
			},
			want: `{"match":[{"method":["GET"]}],"handle":[{"handler":"static_response","status_code":301,"headers":{"Location":["https://{http.request.host}{http.request.uri}"]}}],"terminal":true}`,
		},
		{
			name: "forwarding carries the Host rewrite",
			route: ir.HTTPRoute{
				Filters:  []ir.HTTPFilter{{Rewrite: &ir.Rewrite{Hostname: "up.example.com"}}},
				Backends: []ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.1:80"}}},
			},
			want: `{"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"10.0.0.1:80"}],"headers":{"request":{"set":{"Host":["up.example.com"]}}}}],"terminal":true}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &renderer{opts: testOptions()}
			route := r.httpRoute(&tt.route)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if got := jsonOf(t, route); got != tt.want {
				t.Errorf("route:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
	r := &renderer{opts: testOptions()}
	r.httpRoute(&ir.HTTPRoute{Response: &ir.DirectResponse{}})
	if r.err == nil {
		t.Error("a direct response without a status must be refused")
	}
}

// On an HTTPS port with several listeners, each listener's routes start with a 421 for the
// server names that select another listener: an earlier (more specific) listener's name, or
// (for a listener with a hostname) any name that is not its own, no name included. A lone
// listener needs none, and Kengine's own Host-equals-SNI rule is off on every HTTPS server.
func TestMisdirectedRequests(t *testing.T) {
	listeners := []*ir.HTTPListener{{Name: "exact", Hostname: "a.example.com"}, {Name: "wild", Hostname: "*.example.com"}, {Name: "any"}}
	sni := func(p string) string {
		return `{"vars_regexp":{"{http.request.tls.server_name}":{"pattern":"` + p + `"}}}`
	}
	answer := `"handle":[{"handler":"static_response","status_code":421}],"terminal":true}`
	want := []string{
		`{"match":[{"not":[` + sni(`(?i)^a\\.example\\.com$`) + `]}],` + answer,
		`{"match":[` + sni(`(?i)^a\\.example\\.com$`) + `,{"not":[` + sni(`(?i)^.+\\.example\\.com$`) + `]}],` + answer,
		`{"match":[` + sni(`(?i)^a\\.example\\.com$`) + `,` + sni(`(?i)^.+\\.example\\.com$`) + `],` + answer,
	}
	for i := range listeners {
		route, ok := misdirectedRoute(listeners, i)
		if !ok {
			t.Fatalf("listener %s: no misdirected route", listeners[i].Name)
		}
		if got := jsonOf(t, route); got != want[i] {
			t.Errorf("listener %s:\n got %s\nwant %s", listeners[i].Name, got, want[i])
		}
	}
	if _, ok := misdirectedRoute(listeners[:1], 0); ok {
		t.Error("a lone listener needs no misdirected route")
	}
	r := &renderer{opts: testOptions()}
	srv := r.httpServer(&ir.HTTPServer{Port: 443, TLS: true, Listeners: []*ir.HTTPListener{{Name: "any", TLS: &ir.ListenerTLS{}}}})
	if srv.StrictSNIHost == nil || *srv.StrictSNIHost {
		t.Errorf("strict_sni_host = %v, want an explicit false", srv.StrictSNIHost)
	}
}
