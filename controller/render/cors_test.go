package render

import (
	"regexp"
	"strings"
	"testing"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

func TestOriginPatternMatchesTheGatewayAPIOriginRules(t *testing.T) {
	tests := []struct {
		origin ir.Origin
		match  []string
		refuse []string
	}{
		{ir.Origin{Scheme: "https", Host: "www.foo.com"},
			[]string{"https://www.foo.com", "https://WWW.Foo.com", "https://www.foo.com:443"},
			[]string{"http://www.foo.com", "https://www.foo.com:8443", "https://www.foo.com.evil", "https://xwww.foo.com", "https://www.fooxcom"}},
		{ir.Origin{Scheme: "https", Host: "*.bar.com"},
			[]string{"https://www.bar.com", "https://xpto.www.bar.com", "https://a.bar.com:443"},
			[]string{"https://bar.com", "https://evilbar.com", "https://www.bar.com.evil", "https://x/y.bar.com", "https://www.bar.com:80"}},
		{ir.Origin{Scheme: "http", Host: "*"},
			[]string{"http://anything", "http://a.b.c:80"},
			[]string{"https://anything", "http://a.b.c:8080"}},
		{ir.Origin{Scheme: "http", Host: "10.0.0.1", Port: 8080},
			[]string{"http://10.0.0.1:8080"},
			[]string{"http://10.0.0.1", "http://10x0x0x1:8080", "http://10.0.0.1:80800"}},
	}
	for _, tt := range tests {
		pattern, err := originPattern(tt.origin)
		if err != nil {
			t.Fatalf("%+v: %v", tt.origin, err)
		}
		re := regexp.MustCompile(pattern)
		for _, o := range tt.match {
			if !re.MatchString(o) {
				t.Errorf("%+v (%s) does not match %q", tt.origin, pattern, o)
			}
		}
		for _, o := range tt.refuse {
			if re.MatchString(o) {
				t.Errorf("%+v (%s) matches %q", tt.origin, pattern, o)
			}
		}
	}
	for _, bad := range []ir.Origin{
		{Scheme: "ftp", Host: "a.example"},
		{Scheme: "https", Host: "a.example/{env.HOME}"},
		{Scheme: "https", Host: "a.*.example"},
		{Scheme: "https", Host: "(a|b)"},
		{Scheme: "https", Host: "a.example", Port: 70000},
	} {
		if p, err := originPattern(bad); err == nil {
			t.Errorf("origin %+v accepted as %q", bad, p)
		}
	}
}

func TestCORSHandlerAnswersPreflightsAndDecoratesAllowedOrigins(t *testing.T) {
	h, err := corsHandler(&ir.CORS{
		AllowOrigins:     []ir.Origin{{Scheme: "https", Host: "www.foo.com"}},
		AllowMethods:     []string{"GET", "OPTIONS"},
		AllowHeaders:     []string{"x-header-1", "x-header-2"},
		ExposeHeaders:    []string{"x-header-3"},
		AllowCredentials: true,
		MaxAge:           3600,
	})
	if err != nil {
		t.Fatal(err)
	}
	sub := h.(kengine.Subroute)
	if len(sub.Routes) != 3 {
		t.Fatalf("routes = %d, want allowed preflight, other preflight, allowed origin", len(sub.Routes))
	}
	got := marshal(t, h)
	for _, want := range []string{
		`"method":["OPTIONS"]`, `"Access-Control-Request-Method":[]`, `"Origin":{"pattern":"(?i)^https://www\\.foo\\.com(?::443)?$"}`,
		`"Access-Control-Allow-Methods":["GET, OPTIONS"]`, `"Access-Control-Allow-Headers":["x-header-1, x-header-2"]`,
		`"Access-Control-Max-Age":["3600"]`, `"Access-Control-Allow-Credentials":["true"]`, `"status_code":204`,
		`"Access-Control-Expose-Headers":["x-header-3"]`, `"deferred":true`, `"Access-Control-Allow-Origin":["{http.request.header.Origin}"]`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("CORS handler lacks %s:\n%s", want, got)
		}
	}
	// The preflight of an origin that is not allowed is answered without CORS headers.
	other := sub.Routes[1]
	if len(other.Handle) != 1 || marshal(t, other.Handle[0]) != `{"handler":"static_response","status_code":204}` {
		t.Errorf("other preflight answer = %s", marshal(t, other.Handle[0]))
	}

	// Wildcards echo what the preflight asked for, never "*".
	h, err = corsHandler(&ir.CORS{AnyOrigin: true, AnyMethod: true, AnyHeader: true, AllowCredentials: true, MaxAge: 5})
	if err != nil {
		t.Fatal(err)
	}
	got = marshal(t, h)
	for _, want := range []string{`"Origin":[]`, `"Access-Control-Allow-Methods":["{http.request.header.Access-Control-Request-Method}"]`,
		`"Access-Control-Request-Headers":[]`, `"Access-Control-Allow-Headers":["{http.request.header.Access-Control-Request-Headers}"]`} {
		if !strings.Contains(got, want) {
			t.Errorf("wildcard CORS handler lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, `["*"]`) {
		t.Errorf("wildcard CORS handler answers '*':\n%s", got)
	}

	// No allowed origin: preflights get the bare answer and nothing else is touched.
	h, err = corsHandler(&ir.CORS{MaxAge: 5})
	if err != nil {
		t.Fatal(err)
	}
	if sub := h.(kengine.Subroute); len(sub.Routes) != 1 {
		t.Errorf("no origins: %d routes, want the preflight answer only", len(sub.Routes))
	}
}

func TestCORSHandlerRefusesValuesItCannotWriteLiterally(t *testing.T) {
	for name, c := range map[string]*ir.CORS{
		"no max age":                        {AnyOrigin: true},
		"a method with a brace":             {AnyOrigin: true, MaxAge: 5, AllowMethods: []string{"GET{env.HOME}"}},
		"a header name with a space":        {AnyOrigin: true, MaxAge: 5, AllowHeaders: []string{"x header"}},
		"an exposed header with a newline":  {AnyOrigin: true, MaxAge: 5, ExposeHeaders: []string{"x\nheader"}},
		"expose '*' with credentials":       {AnyOrigin: true, MaxAge: 5, AllowCredentials: true, ExposeHeaders: []string{"*"}},
		"an origin that is not a host name": {AllowOrigins: []ir.Origin{{Scheme: "https", Host: "{env.HOME}"}}, MaxAge: 5},
	} {
		if _, err := corsHandler(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
