package kengine

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// readTestdata returns a file of testdata/ as a string.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// certDER returns the base64 DER body of a PEM certificate, the form Kengine's inline
// certificate lists take.
func certDER(t *testing.T, pemText string) string {
	t.Helper()
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		t.Fatal("no PEM block")
	}
	return base64.StdEncoding.EncodeToString(block.Bytes)
}

// goldenConfig is a representative rendered config: every type of the package appears in it.
func goldenConfig(t *testing.T) *Config {
	t.Helper()
	caDER := certDER(t, readTestdata(t, "ca.crt"))
	no := false
	adminCA := "kengine-admin"
	return &Config{
		Admin: &Admin{
			Listen: "localhost:2019",
			Config: &AdminConfig{Persist: &no},
			Identity: &AdminIdentity{
				Identifiers: []string{"127.0.0.1"},
				Issuers:     []json.RawMessage{InternalIssuer{CA: adminCA}.RawMessage()},
			},
			Remote: &RemoteAdmin{
				Listen: "{env.POD_IP}:2021",
				AccessControl: []AdminAccess{{
					PublicKeys:  []string{caDER},
					Permissions: ControllerPermissions(),
				}},
			},
		},
		Logging: json.RawMessage(`{"logs":{"default":{"level":"WARN"}}}`),
		Apps: Apps{
			HTTP: &HTTPApp{
				HTTPPort:      8080,
				HTTPSPort:     8443,
				GracePeriod:   Duration(5 * time.Second),
				ShutdownDelay: Duration(time.Second),
				Servers: map[string]*Server{
					"default.gateway.http": {
						Listen:         []string{"{env.POD_IP}:8080"},
						AutomaticHTTPS: &AutomaticHTTPS{Disable: true},
						Routes: []Route{
							{
								Match: []MatcherSet{{Host: []string{"example.com", "*.example.com"}}},
								Handle: []Handler{Subroute{Routes: []Route{
									{
										Match: []MatcherSet{{
											Path:   []string{"/api/*"},
											Method: []string{"GET", "POST"},
											Header: map[string][]string{"X-Canary": {"true"}, "X-Debug": nil},
										}},
										Handle: []Handler{
											Headers{Request: &HeaderOps{
												Set:    map[string][]string{"X-Forwarded-Prefix": {"/api"}},
												Delete: []string{"X-Internal"},
											}},
											Rewrite{StripPathPrefix: "/api"},
											ReverseProxy{
												Upstreams: []Upstream{{Dial: "10.0.0.7:8080"}, {Dial: "10.0.0.8:8080"}},
												LoadBalancing: &LoadBalancing{
													SelectionPolicy: &SelectionPolicy{Policy: "weighted_round_robin", Weights: []int{3, 1}},
													Retries:         2,
													TryDuration:     Duration(2 * time.Second),
												},
												Transport: &HTTPTransport{
													TLS: &TransportTLS{
														CA:         InlineCAPool{TrustedCACerts: []string{caDER}},
														ServerName: "backend.default.svc",
													},
													Versions: []string{"1.1", "2"},
												},
												Headers: &ReverseProxyHeaders{
													Response: &RespHeaderOps{
														HeaderOps: &HeaderOps{Add: map[string][]string{"X-Served-By": {"kengine"}}},
														Deferred:  true,
													},
												},
												Rewrite:       &ProxyRewrite{URI: "/v2{http.request.uri.path}?{http.request.uri.query}&a=b"},
												FlushInterval: Duration(-1),
											},
										},
									},
									{
										Match: []MatcherSet{{
											PathRegexp:   &RegexpMatcher{Name: "old", Pattern: `^/old/(.*)$`},
											Query:        map[string][]string{"q": {"*"}},
											HeaderRegexp: map[string]*RegexpMatcher{"User-Agent": {Pattern: "(?i)bot"}},
											Not:          []MatcherSet{{Protocol: "https"}, {RemoteIP: &IPRanges{Ranges: []string{"10.0.0.0/8"}}}},
										}},
										Handle: []Handler{
											Rewrite{
												Method:       "GET",
												URISubstring: []SubstringReplacement{{Find: "/old/", Replace: "/new/", Limit: 1}},
												PathRegexp:   []RegexReplacement{{Find: "/+", Replace: "/"}},
											},
											StaticResponse{
												StatusCode: "301",
												Headers:    map[string][]string{"Location": {"https://{http.request.host}/new/{http.regexp.old.1}"}},
												Close:      true,
											},
										},
									},
								}}},
								Terminal: true,
							},
							{
								// Matches nothing: a "not" of the empty (always matching) set.
								Match:  []MatcherSet{{Not: []MatcherSet{{}}}},
								Handle: []Handler{StaticResponse{ID: "unreachable", Body: "unreachable"}},
							},
						},
					},
					"default.gateway.https": {
						Listen: []string{"{env.POD_IP}:8443"},
						ListenerWrappers: []ListenerWrapper{
							Layer4ListenerWrapper{Routes: []Layer4Route{{
								Match:  []Layer4MatcherSet{{TLS: &TLSHandshakeMatch{SNI: []string{"passthrough.example.com"}}}},
								Handle: []Layer4Handler{Layer4Proxy{Upstreams: []Layer4Upstream{{Dial: []string{"10.0.0.9:8443"}}}}},
							}}},
							TLSListenerWrapper{},
						},
						AutomaticHTTPS: &AutomaticHTTPS{Disable: true},
						TLSConnectionPolicies: []TLSConnectionPolicy{{
							Match:                &TLSHandshakeMatch{SNI: []string{"example.com", "*.example.com"}},
							CertificateSelection: &CertSelection{AnyTag: []string{"default/example-com"}},
							ALPN:                 []string{"h2", "http/1.1"},
							ProtocolMin:          "tls1.2",
						}},
						Protocols:     []string{"h1", "h2"},
						StrictSNIHost: &no,
						Routes: []Route{{
							ID:    "https-example",
							Group: "hosts",
							Match: []MatcherSet{{Host: []string{"example.com"}, Expression: "{http.request.tls.version} == 'tls1.3'"}},
							Handle: []Handler{
								ReverseProxy{Upstreams: []Upstream{{Dial: "10.0.0.7:8080", MaxRequests: 100}}},
							},
						}},
						Errors: &ServerErrors{Routes: []Route{{
							Handle: []Handler{StaticResponse{StatusCode: "{http.error.status_code}", Body: "<error>"}},
						}}},
					},
				},
			},
			TLS: &TLSApp{
				Certificates: &Certificates{LoadPEM: []PEMCertificate{{
					Certificate: readTestdata(t, "example.com.crt"),
					Key:         readTestdata(t, "example.com.key"),
					Tags:        []string{"default/example-com"},
				}}},
				Automation: &TLSAutomation{Policies: []AutomationPolicy{{
					Subjects: []string{"kengine-admin.invalid"},
					Issuers:  []json.RawMessage{InternalIssuer{CA: adminCA, Lifetime: Duration(24 * time.Hour)}.RawMessage()},
				}}},
				DisableOCSPStapling: true,
			},
			Layer4: &Layer4App{Servers: map[string]*Layer4Server{
				"default.gateway.tcp": {
					Listen: []string{"{env.POD_IP}:9000"},
					Routes: []Layer4Route{{Handle: []Layer4Handler{Layer4Proxy{
						Upstreams: []Layer4Upstream{
							{Dial: []string{"10.0.0.10:9000"}, Weight: 3},
							{Dial: []string{"10.0.0.11:9000"}, Weight: 1, MaxConnections: 500},
						},
						LoadBalancing: &Layer4LoadBalancing{Selection: &Layer4SelectionPolicy{Policy: "weighted_round_robin"}},
					}}}},
				},
				"default.gateway.udp": {
					Listen:      []string{"udp/{env.POD_IP}:5353"},
					IdleTimeout: Duration(time.Minute),
					Routes:      []Layer4Route{{Handle: []Layer4Handler{Layer4Proxy{Upstreams: []Layer4Upstream{{Dial: []string{"udp/10.0.0.12:53"}}}}}}},
				},
				"default.gateway.tls": {
					Listen:          []string{"{env.POD_IP}:9443"},
					MatchingTimeout: Duration(time.Second),
					Routes: []Layer4Route{
						{
							Match: []Layer4MatcherSet{{
								TLS:      &TLSHandshakeMatch{SNI: []string{"tcp.example.com"}},
								RemoteIP: &IPRanges{Ranges: []string{"0.0.0.0/0"}},
							}},
							Handle: []Layer4Handler{
								Layer4TLS{ConnectionPolicies: []TLSConnectionPolicy{{
									CertificateSelection: &CertSelection{AnyTag: []string{"default/example-com"}},
								}}},
								Layer4Proxy{Upstreams: []Layer4Upstream{{Dial: []string{"10.0.0.13:9000"}}}},
							},
						},
						{
							Match: []Layer4MatcherSet{{Not: []Layer4MatcherSet{{LocalIP: &IPRanges{Ranges: []string{"127.0.0.0/8"}}}}}},
							Handle: []Layer4Handler{Layer4Subroute{Routes: []Layer4Route{{
								Handle: []Layer4Handler{RawLayer4Handler(`{"handler":"proxy","upstreams":[{"dial":["10.0.0.14:9000"]}]}`)},
							}}}},
						},
					},
				},
			}},
			PKI: &PKIApp{CertificateAuthorities: map[string]*PKICA{
				adminCA: {
					Name:         "Kengine admin",
					InstallTrust: &no,
					Root: &KeyPair{
						Certificate: "/etc/kengine/admin-ca/tls.crt",
						PrivateKey:  "/etc/kengine/admin-ca/tls.key",
					},
				},
			}},
		},
	}
}

// checkGolden compares got with testdata/name, or rewrites the file under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got), run go test -update if intended:\n%s", path, diff)
	}
}

func TestGoldenConfig(t *testing.T) {
	data, version, err := Finalize(goldenConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(data, "\n\t") {
		t.Error("Marshal output is not compact")
	}
	// The golden file is the indented form of the exact bytes, for review; indenting compact
	// JSON only adds whitespace, so equal golden files mean equal bytes.
	var indented bytes.Buffer
	if err := json.Indent(&indented, data, "", "  "); err != nil {
		t.Fatal(err)
	}
	indented.WriteByte('\n')
	checkGolden(t, "config.golden.json", indented.Bytes())
	checkGolden(t, "config.golden.version", []byte(version+"\n"))
}

func TestMarshalDeterministic(t *testing.T) {
	first, err := goldenConfig(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := goldenConfig(t).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("two encodings of the same config differ")
		}
	}
}

func TestMarshalDoesNotEscapeHTML(t *testing.T) {
	c := &Config{Apps: Apps{HTTP: &HTTPApp{Servers: map[string]*Server{"s": {Routes: []Route{{
		Handle: []Handler{StaticResponse{Body: "<a href='x'>&</a>"}},
	}}}}}}}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apps":{"http":{"servers":{"s":{"routes":[{"handle":[{"handler":"static_response","body":"<a href='x'>&</a>"}]}]}}}}}`
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("Marshal (-want +got):\n%s", diff)
	}
}

func TestMarshalEmptyConfig(t *testing.T) {
	data, err := (&Config{}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), `{"apps":{}}`; got != want {
		t.Errorf("Marshal() = %s, want %s", got, want)
	}
}

func TestMarshalRejectsInvalidRawJSON(t *testing.T) {
	c := &Config{Apps: Apps{HTTP: &HTTPApp{Servers: map[string]*Server{"s": {Routes: []Route{{
		Handle: []Handler{RawHandler(`{"handler":`)},
	}}}}}}}
	if _, err := c.Marshal(); err == nil {
		t.Error("Marshal accepted invalid raw JSON")
	}
}

func TestWeakString(t *testing.T) {
	tests := []struct {
		in   WeakString
		want string
	}{
		{"200", `200`},
		{"-1", `-1`},
		{"{http.error.status_code}", `"{http.error.status_code}"`},
		{"2xx", `"2xx"`},
		{"", `""`},
	}
	for _, tt := range tests {
		t.Run(string(tt.in), func(t *testing.T) {
			got, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestDurationEncodesNanoseconds(t *testing.T) {
	got, err := json.Marshal(HTTPApp{GracePeriod: Duration(1500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"grace_period":1500000000}`; string(got) != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	const secret = "-----BEGIN PRIVATE KEY-----\nSECRETMATERIAL\n-----END PRIVATE KEY-----\n"
	cert := PEMCertificate{Certificate: "-----BEGIN CERTIFICATE-----", Key: secret, Tags: []string{"t"}}
	pair := KeyPair{Certificate: "/ca/tls.crt", PrivateKey: "/ca/SECRETMATERIAL.key"}
	type holder struct {
		Certs []PEMCertificate
		Cert  PEMCertificate
	}
	h := holder{Certs: []PEMCertificate{cert}, Cert: cert}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		t.Run(format, func(t *testing.T) {
			outputs := []string{fmt.Sprintf(format, cert), fmt.Sprintf(format, &cert), fmt.Sprintf(format, h)}
			if format != "%d" {
				// KeyPair cannot implement fmt.Formatter (it has a Format field); the verbs
				// that use String and GoString are covered.
				outputs = append(outputs, fmt.Sprintf(format, pair), fmt.Sprintf(format, &pair))
			}
			for _, out := range outputs {
				if strings.Contains(out, "SECRETMATERIAL") || strings.Contains(out, "534543524554") {
					t.Errorf("formatted output reveals the key: %s", out)
				}
			}
		})
	}
	if got := cert.String(); !strings.Contains(got, "<redacted>") {
		t.Errorf("String() = %q, want the key marked as redacted", got)
	}
	if got := pair.String(); !strings.Contains(got, "<redacted>") || !strings.Contains(got, "/ca/tls.crt") {
		t.Errorf("String() = %q, want the certificate path and a redacted key", got)
	}
	// The JSON must still carry the key: Kengine needs it.
	data, err := json.Marshal(cert)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "SECRETMATERIAL") {
		t.Error("JSON encoding lost the key")
	}
}

// A module names itself through its zero-size Module field: encoding writes the name first,
// decoding accepts that name only, and nested modules encode the same at every depth.
func TestModuleMember(t *testing.T) {
	nested := Subroute{Routes: []Route{{Handle: []Handler{Subroute{Routes: []Route{{Handle: []Handler{StaticResponse{StatusCode: "204"}}}}}}}}}
	data, err := encodeJSON(nested)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"handler":"subroute","routes":[{"handle":[{"handler":"subroute","routes":[{"handle":[{"handler":"static_response","status_code":204}]}]}]}]}`
	if string(data) != want {
		t.Errorf("encoded\n got %s\nwant %s", data, want)
	}
	var tr HTTPTransport
	if err := json.Unmarshal([]byte(`{"protocol":"http","versions":["h2c"]}`), &tr); err != nil || len(tr.Versions) != 1 {
		t.Errorf("decoding a transport: %v, %+v", err, tr)
	}
	if err := json.Unmarshal([]byte(`{"protocol":"fastcgi"}`), &tr); err == nil {
		t.Error("decoding another module's name into HTTPTransport must fail")
	}
}
