package controller

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/managed"
	"github.com/khulnasoft/gateway/kengine"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// goldenSnapshot exercises every rendered construct: listeners sharing a port, wildcard and
// exact hosts, every supported match and filter, weighted and failing backends, and TLS.
func goldenSnapshot(t *testing.T) *Snapshot {
	gw := testGateway(
		withListener("http", gatewayv1.HTTPProtocolType, 8080, ""),
		withListener("wild", gatewayv1.HTTPProtocolType, 8080, "*.example.com"),
		withListener("https", gatewayv1.HTTPSProtocolType, 8443, "secure.example.com", withCert("", "cert")),
	)
	web, webSlice := testService("infra", "web", 80, 8080, "10.1.0.2", "10.1.0.3")
	api, apiSlice := testService("infra", "api", 80, 9090, "10.1.0.4")
	headers := pathPrefix("/headers")
	headers.Headers = []gatewayv1.HTTPHeaderMatch{{Name: "x-env", Value: "canary"}, {Name: "x-re", Type: ptr.To(gatewayv1.HeaderMatchRegularExpression), Value: "v[0-9]+"}}
	headers.QueryParams = []gatewayv1.HTTPQueryParamMatch{{Name: "q", Value: "1"}}
	headers.Method = ptr.To(gatewayv1.HTTPMethodGet)
	rewriteFilter := []gatewayv1.HTTPRouteFilter{
		{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier, RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{
			Set: []gatewayv1.HTTPHeader{{Name: "X-Set", Value: "1"}}, Add: []gatewayv1.HTTPHeader{{Name: "X-Add", Value: "2"}}, Remove: []string{"X-Remove"}}},
		{Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier, ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-Resp", Value: "yes"}}}},
		{Type: gatewayv1.HTTPRouteFilterURLRewrite, URLRewrite: &gatewayv1.HTTPURLRewriteFilter{
			Hostname: ptr.To(gatewayv1.PreciseHostname("rewritten.example.com")),
			Path:     &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: ptr.To("/new")}}},
	}
	redirect := []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestRedirect, RequestRedirect: &gatewayv1.HTTPRequestRedirectFilter{
		Scheme: ptr.To("https"), StatusCode: ptr.To(301), Path: &gatewayv1.HTTPPathModifier{Type: gatewayv1.FullPathHTTPPathModifier, ReplaceFullPath: ptr.To("/moved")}}}}
	r1 := testRoute("infra", "main", parent("", "gw", ""),
		rule([]gatewayv1.HTTPRouteMatch{pathPrefix("/"), pathExact("/exact")}, nil, backend("", "web", 80, 3), backend("", "api", 80, 1), backend("", "missing", 80, 1)),
		rule([]gatewayv1.HTTPRouteMatch{headers}, nil, backend("", "api", 80, 1)),
		rule([]gatewayv1.HTTPRouteMatch{pathPrefix("/old")}, rewriteFilter, backend("", "web", 80, 1)),
		rule([]gatewayv1.HTTPRouteMatch{pathPrefix("/redirect")}, redirect),
	)
	r2 := testRoute("infra", "wild", parent("", "gw", "wild"), hostnames("*.example.com", "a.example.com"),
		rule([]gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchRegularExpression), Value: ptr.To("/v[0-9]+/.*")}}}, nil, backend("", "web", 80, 1)))
	r3 := testRoute("infra", "secure", parent("", "gw", "https"), rule(nil, nil, backend("", "api", 80, 1)))
	return testSnapshot(gw, r1, r2, r3, web, webSlice, api, apiSlice, tlsSecretFixed(t))
}

// tlsSecretFixed is a TLS Secret whose bytes do not change between runs, for golden files.
func tlsSecretFixed(t *testing.T) any {
	s := tlsSecret(t, "infra", "cert", "secure.example.com")
	s.Data["tls.crt"] = []byte("-----BEGIN CERTIFICATE-----\nfixture\n-----END CERTIFICATE-----\n")
	s.Data["tls.key"] = []byte("-----BEGIN EC PRIVATE KEY-----\nfixture\n-----END EC PRIVATE KEY-----\n")
	return s
}

func TestRenderGolden(t *testing.T) {
	snap := goldenSnapshot(t)
	// Resolve certificates with a real key pair, then swap in fixed bytes for a stable file.
	real := tlsSecret(t, "infra", "cert", "secure.example.com")
	fixed := snap.Secrets[nn("infra", "cert")]
	snap.Secrets[nn("infra", "cert")] = real
	tr := translate(snap)
	for i := range tr.Model.Certificates {
		tr.Model.Certificates[i].CertPEM = fixed.Data["tls.crt"]
		tr.Model.Certificates[i].KeyPEM = fixed.Data["tls.key"]
	}
	cfg, err := Render(tr.Model, testRenderOptions())
	if err != nil {
		t.Fatal(err)
	}
	data, version, err := kengine.Finalize(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := jsonIndent(&pretty, data); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "render.golden.json")
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./controller -run TestRenderGolden -update)", err)
	}
	if !bytes.Equal(want, pretty.Bytes()) {
		t.Errorf("rendered config differs from %s; rerun with -update and review the diff", golden)
	}
	// Determinism: rendering the same model again gives the same version.
	cfg2, _ := Render(translate(snap).Model, testRenderOptions())
	for i := range cfg2.Apps.TLS.Certificates.LoadPEM {
		cfg2.Apps.TLS.Certificates.LoadPEM[i].Certificate = string(fixed.Data["tls.crt"])
		cfg2.Apps.TLS.Certificates.LoadPEM[i].Key = string(fixed.Data["tls.key"])
	}
	if _, v2, _ := kengine.Finalize(cfg2); v2 != version {
		t.Errorf("rendering twice gave versions %s and %s", version, v2)
	}
}

// Route strings reach Kengine through the escaper of their context: placeholders stay
// literal, and what Kengine would read as a wildcard is refused rather than widened.
func TestHeaderOpsKeepLiteralMeaning(t *testing.T) {
	ops, err := headerOps(&gatewayv1.HTTPHeaderFilter{
		Set:    []gatewayv1.HTTPHeader{{Name: "X-Secret", Value: "{env.SECRET}"}},
		Add:    []gatewayv1.HTTPHeader{{Name: "X-File", Value: `a\{file./etc/passwd}b`}},
		Remove: []string{"X-Mid*dle"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ops.Set["X-Secret"][0], `\{env.SECRET\}`; got != want {
		t.Errorf("set value = %q, want %q", got, want)
	}
	if got, want := ops.Add["X-File"][0], `a\\{file./etc/passwd\}b`; got != want {
		t.Errorf("add value = %q, want %q", got, want)
	}
	for _, name := range []string{"*", "X-*", "*-Token"} {
		if _, err := headerOps(&gatewayv1.HTTPHeaderFilter{Remove: []string{name}}); err == nil {
			t.Errorf("removing %q must be refused: Kengine would delete by wildcard", name)
		}
	}
}

func TestSNIMatcher(t *testing.T) {
	if m := sniMatcher("a.example.com"); len(m.SNI) != 1 || m.SNIRegexp != nil {
		t.Errorf("exact host must use the sni matcher: %+v", m)
	}
	m := sniMatcher("*.example.com")
	re := regexp.MustCompile(m.SNIRegexp.Pattern)
	for host, want := range map[string]bool{"a.example.com": true, "a.b.example.com": true, "example.com": false, "aexample.com": false} {
		if re.MatchString(host) != want {
			t.Errorf("wildcard SNI %q: match = %v, want %v", host, !want, want)
		}
	}
}

// Kengine must never call out on its own: every rendered server has automatic HTTPS off, OCSP
// stapling is off, and no ACME issuer appears anywhere, managed admin identity included.
func TestRenderedConfigsMakeNoOutboundRequests(t *testing.T) {
	snap := goldenSnapshot(t)
	snap.Secrets[nn("infra", "cert")] = tlsSecret(t, "infra", "cert", "secure.example.com")
	opts := testRenderOptions()
	opts.Admin, opts.PKI = managed.Admin(managed.AdminParams{Identity: managed.AdminIdentity("infra", "gw"), Pins: []string{"cGlu"}, RemoteListen: ":2021", Dir: "/etc/kengine/admin"})
	cfg, err := Render(translate(snap).Model, opts)
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
	for _, forbidden := range []string{"acme", "zerossl", "letsencrypt", `"install_trust":true`} {
		if bytes.Contains(bytes.ToLower(data), []byte(forbidden)) {
			t.Errorf("rendered config mentions %q", forbidden)
		}
	}
	if !bytes.Contains(data, []byte(`"module":"internal"`)) {
		t.Error("the admin identity must use the internal issuer")
	}
}
