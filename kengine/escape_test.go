package kengine

import (
	"math/rand"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// escapeCase is one row of an escaper table: the input, and either the expected output or a
// substring of the expected error.
type escapeCase struct {
	name    string
	in      string
	want    string
	wantErr string
}

// runEscapeCases checks escape against a table.
func runEscapeCases(t *testing.T, escape func(string) (string, error), tests []escapeCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := escape(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("escape(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("escape(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// The expected outputs follow from caddy replacer.go Replacer.replace: a backslash right
// before a brace is dropped and makes the brace literal; every other backslash is kept.
func TestEscapePlaceholders(t *testing.T) {
	runEscapeCases(t, EscapePlaceholders, []escapeCase{
		{name: "no braces", in: `plain \ text * $1 ?#%`, want: `plain \ text * $1 ?#%`},
		{name: "empty", in: "", want: ""},
		{name: "placeholder", in: "{http.request.host}", want: `\{http.request.host\}`},
		{name: "env placeholder", in: "{env.SECRET}", want: `\{env.SECRET\}`},
		{name: "lone braces", in: "}{", want: `\}\{`},
		// The tenant's backslash stays before the brace: the replacer drops only the one
		// right before the brace, which is ours.
		{name: "backslash before brace", in: `\{x\}`, want: `\\{x\\}`},
		{name: "double backslash before brace", in: `\\{`, want: `\\\{`},
		{name: "trailing backslash", in: `a\`, want: `a\`},
		{name: "nested", in: "{{a}}", want: `\{\{a\}\}`},
		{name: "non-ASCII", in: "日{é}", want: `日\{é\}`},
		{name: "invalid UTF-8", in: "a\xffb", wantErr: "valid UTF-8"},
	})
}

func TestEscapeHeaderValue(t *testing.T) {
	runEscapeCases(t, EscapeHeaderValue, []escapeCase{
		{name: "plain", in: "text/html; q=0.9", want: "text/html; q=0.9"},
		{name: "placeholder", in: "{http.request.uri}", want: `\{http.request.uri\}`},
		{name: "inner tab", in: "a\tb", want: "a\tb"},
		{name: "non-ASCII", in: "café", want: "café"},
		{name: "empty", in: "", want: ""},
		{name: "zeros", in: versionZeros, want: versionZeros},
		{name: "quotes and the version ID", in: `","@id":"x`, want: `","@id":"x`},
		{name: "newline", in: "a\nX-Injected: 1", wantErr: "control character"},
		{name: "carriage return", in: "a\rb", wantErr: "control character"},
		{name: "NUL", in: "a\x00b", wantErr: "control character"},
		{name: "DEL", in: "a\x7fb", wantErr: "control character"},
		{name: "leading space", in: " a", wantErr: "whitespace"},
		{name: "trailing tab", in: "a\t", wantErr: "whitespace"},
		{name: "invalid UTF-8", in: "\xc3", wantErr: "valid UTF-8"},
	})
}

func TestEscapeHeaderName(t *testing.T) {
	runEscapeCases(t, EscapeHeaderName, []escapeCase{
		{name: "plain", in: "X-Request-Id", want: "X-Request-Id"},
		{name: "every symbol of a token", in: "!#$%&'*+-.^_`|~", want: "!#$%&'*+-.^_`|~"},
		{name: "star alone is literal when setting", in: "*", want: "*"},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "brace", in: "X-{a}", wantErr: "'{'"},
		{name: "id key", in: "@id", wantErr: "'@'"},
		{name: "space", in: "X A", wantErr: "' '"},
		{name: "colon", in: "X:A", wantErr: "':'"},
		{name: "non-ASCII", in: "X-é", wantErr: "in a header name"},
	})
}

func TestEscapeDeletedHeaderName(t *testing.T) {
	const wildcard = "Kengine treats a header name starting or ending with '*' as a wildcard when deleting"
	runEscapeCases(t, EscapeDeletedHeaderName, []escapeCase{
		{name: "plain", in: "X-Internal", want: "X-Internal"},
		{name: "inner star is literal", in: "X-*-Y", want: "X-*-Y"},
		{name: "star clears every field", in: "*", wantErr: wildcard},
		{name: "leading star", in: "*-Secret", wantErr: wildcard},
		{name: "trailing star", in: "X-*", wantErr: wildcard},
		{name: "both", in: "*a*", wantErr: wildcard},
		{name: "not a token", in: "X Y", wantErr: "header name"},
	})
}

func TestEscapeQueryName(t *testing.T) {
	runEscapeCases(t, EscapeQueryName, []escapeCase{
		{name: "plain", in: "page", want: "page"},
		{name: "star is literal in names", in: "*", want: "*"},
		{name: "placeholder", in: "{query}", want: `\{query\}`},
		{name: "decoded specials", in: "a&b=c d%", want: "a&b=c d%"},
		{name: "empty", in: "", want: ""},
		{name: "id key", in: "@id", wantErr: `reserves the key "@id"`},
		{name: "longer than the id key", in: "@ids", want: "@ids"},
		{name: "invalid UTF-8", in: "\xff", wantErr: "valid UTF-8"},
	})
}

func TestEscapeQueryValue(t *testing.T) {
	runEscapeCases(t, EscapeQueryValue, []escapeCase{
		{name: "plain", in: "asc", want: "asc"},
		{name: "empty", in: "", want: ""},
		{name: "star inside", in: "a*", want: "a*"},
		{name: "two stars", in: "**", want: "**"},
		{name: "placeholder", in: "{http.request.host}", want: `\{http.request.host\}`},
		{name: "backslash star", in: `\*`, want: `\*`},
		{name: "star", in: "*", wantErr: "matching any value"},
		{name: "invalid UTF-8", in: "\xff", wantErr: "valid UTF-8"},
	})
}

func TestEscapeRewriteURIPath(t *testing.T) {
	runEscapeCases(t, EscapeRewriteURIPath, []escapeCase{
		{name: "root", in: "/", want: "/"},
		{name: "plain", in: "/api/v2/items", want: "/api/v2/items"},
		{name: "sub-delims Go keeps", in: "/a$b&c+d,e;f=g:h@i~j", want: "/a$b&c+d,e;f=g:h@i~j"},
		{name: "escaped query and fragment", in: "/a%3Fb%23c", want: "/a%3Fb%23c"},
		{name: "escaped braces and percent", in: "/%7Bx%7D%25", want: "/%7Bx%7D%25"},
		{name: "escaped non-ASCII", in: "/caf%C3%A9", want: "/caf%C3%A9"},
		{name: "double slash", in: "//a", want: "//a"},
		{name: "empty", in: "", wantErr: "must start with '/'"},
		{name: "relative", in: "a/b", wantErr: "must start with '/'"},
		{name: "raw query", in: "/a?b", wantErr: `arrive as "/a%3Fb"`},
		{name: "raw fragment", in: "/a#b", wantErr: `arrive as "/a%23b"`},
		{name: "raw brace", in: "/{a}", wantErr: `arrive as "/%7Ba%7D"`},
		{name: "raw space", in: "/a b", wantErr: `arrive as "/a%20b"`},
		{name: "raw non-ASCII", in: "/café", wantErr: `arrive as "/caf%C3%A9"`},
		{name: "escaped slash", in: "/a%2Fb", wantErr: `arrive as "/a/b"`},
		{name: "unneeded escape", in: "/%41", wantErr: `arrive as "/A"`},
		{name: "lowercase hex", in: "/caf%c3%a9", wantErr: `arrive as "/caf%C3%A9"`},
		{name: "parentheses Go escapes", in: "/a(b)", wantErr: `arrive as "/a%28b%29"`},
		{name: "invalid escape", in: "/a%zz", wantErr: "invalid"},
		{name: "cut escape", in: "/a%4", wantErr: "invalid"},
		{name: "invalid UTF-8", in: "/\xff", wantErr: "valid UTF-8"},
	})
}

func TestEscapePathRegexpReplacement(t *testing.T) {
	runEscapeCases(t, EscapePathRegexpReplacement, []escapeCase{
		{name: "empty", in: "", want: ""},
		{name: "plain", in: "/new", want: "/new"},
		{name: "dollar", in: "/a$1b${x}", wantErr: "'{'"},
		{name: "dollars only", in: "/$1/$$/$x", want: "/$$1/$$$$/$$x"},
		{name: "every kept character", in: "/-._~!$&'()*+,;=:@[]", want: "/-._~!$$&'()*+,;=:@[]"},
		{name: "non-canonical escapes are kept", in: "/%41%2f%c3%a9", want: "/%41%2f%c3%a9"},
		{name: "relative", in: "a", want: "a"},
		{name: "raw query", in: "/a?b", wantErr: "'?'"},
		{name: "raw fragment", in: "/a#b", wantErr: "'#'"},
		{name: "raw brace", in: "/{a}", wantErr: "'{'"},
		{name: "backslash", in: `/a\b`, wantErr: `'\\'`},
		{name: "raw space", in: "/a b", wantErr: "' '"},
		{name: "raw non-ASCII", in: "/é", wantErr: "percent-encoded"},
		{name: "invalid escape", in: "/%zz", wantErr: "percent-escape"},
		{name: "cut escape", in: "/a%4", wantErr: "percent-escape"},
		{name: "percent at the end", in: "/a%", wantErr: "percent-escape"},
		{name: "invalid UTF-8", in: "/\xff", wantErr: "valid UTF-8"},
	})
}

// escapeAlphabet is what randomString draws from: the characters some Kengine context treats
// specially, path and query delimiters, whitespace and controls, non-ASCII, and plain text.
var escapeAlphabet = []string{
	"{", "}", "*", `\`, "%", "$", "?", "#", "/", "@", "&", "=", "+", ";", ":", "(", ")", "[", "]",
	"!", "'", `"`, ",", "~", " ", "\t", "\n", "\x00", "\x7f", "é", "日", "😀", "a", "b", "Z", "0",
	"7", "f", "-", ".", "_", "%41", "%2F", "%7B", "%e9", "{http.request.host}", "$1", "${x}",
}

// randomString returns a string of up to 12 pieces of escapeAlphabet.
func randomString(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.Intn(13) {
		b.WriteString(escapeAlphabet[rng.Intn(len(escapeAlphabet))])
	}
	return b.String()
}

// unescapeBraces inverts our own placeholder escaping (a backslash before each brace); it is
// the definition of that escaping, not Kengine's replacer, which the integration test covers.
var unescapeBraces = strings.NewReplacer(`\{`, `{`, `\}`, `}`)

// TestEscapeProperties checks, on random strings, what must hold whatever the input: an
// escaper either refuses with an error or returns a value that is exactly our escaping of the
// input and refuses precisely the inputs it documents.
func TestEscapeProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	accepted := map[string]int{}
	for range 5000 {
		s := randomString(rng)

		// Placeholders: every brace escaped, nothing else changed.
		out, err := EscapePlaceholders(s)
		if err != nil {
			t.Fatalf("EscapePlaceholders(%q): %v", s, err)
		}
		if unescapeBraces.Replace(out) != s || len(out) != len(s)+strings.Count(s, "{")+strings.Count(s, "}") {
			t.Fatalf("EscapePlaceholders(%q) = %q is not a brace escaping", s, out)
		}
		for i := 0; i < len(out); i++ {
			if (out[i] == '{' || out[i] == '}') && (i == 0 || out[i-1] != '\\') {
				t.Fatalf("EscapePlaceholders(%q) = %q leaves a brace unescaped at %d", s, out, i)
			}
		}

		// Header values: refused exactly for controls and surrounding whitespace.
		out, err = EscapeHeaderValue(s)
		bad := strings.ContainsFunc(s, func(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f }) ||
			strings.Trim(s, " \t") != s
		if (err != nil) != bad {
			t.Fatalf("EscapeHeaderValue(%q) = %q, %v; want refused %v", s, out, err, bad)
		}
		if err == nil {
			accepted["header value"]++
			if unescapeBraces.Replace(out) != s {
				t.Fatalf("EscapeHeaderValue(%q) = %q", s, out)
			}
		}

		// Query values: refused exactly for "*".
		out, err = EscapeQueryValue(s)
		if (err != nil) != (s == "*") || (err == nil && unescapeBraces.Replace(out) != s) {
			t.Fatalf("EscapeQueryValue(%q) = %q, %v", s, out, err)
		}

		// Deleted header names: a valid token that does not start or end with "*".
		out, err = EscapeDeletedHeaderName(s)
		if err == nil {
			accepted["deleted header name"]++
			if out != s || strings.HasPrefix(s, "*") || strings.HasSuffix(s, "*") || strings.ContainsAny(s, "{}\\ ") {
				t.Fatalf("EscapeDeletedHeaderName(%q) = %q", s, out)
			}
		}

		// Paths: refused exactly when Go would not send them as they are. Half the inputs are
		// made canonical first, so that many are accepted.
		p := "/" + s
		if rng.Intn(2) == 0 && utf8.ValidString(p) {
			p = (&url.URL{Path: p}).EscapedPath()
		}
		checkPathEscapers(t, p)
		if _, err := EscapeRewriteURIPath(p); err == nil {
			accepted["uri path"]++
		}
		if _, err := EscapePathRegexpReplacement(p); err == nil {
			accepted["path_regexp replacement"]++
		}
	}
	// The properties are only meaningful if the random inputs reach both outcomes.
	for _, context := range []string{"header value", "deleted header name", "uri path", "path_regexp replacement"} {
		if accepted[context] < 100 {
			t.Errorf("only %d random inputs were accepted as a %s", accepted[context], context)
		}
	}
}

// checkPathEscapers checks both path escapers on p against Go's net/url, the code that decides
// what Kengine sends.
func checkPathEscapers(t *testing.T, p string) {
	t.Helper()
	decoded, decodeErr := url.PathUnescape(p)
	valid := utf8.ValidString(p) && decodeErr == nil

	// uri: accepted exactly when p is the canonical encoding, and then as it is.
	canonical := valid && (&url.URL{Path: decoded}).EscapedPath() == p
	out, err := EscapeRewriteURIPath(p)
	if (err == nil) != canonical || (err == nil && out != p) {
		t.Fatalf("EscapeRewriteURIPath(%q) = %q, %v; canonical %v", p, out, err, canonical)
	}
	if err == nil && strings.ContainsAny(out, "?#{}") {
		t.Fatalf("EscapeRewriteURIPath(%q) = %q holds a delimiter", p, out)
	}

	// path_regexp: accepted exactly when Go keeps p as the raw path, and then with "$" doubled.
	kept := valid && (&url.URL{Path: decoded, RawPath: p}).EscapedPath() == p
	out, err = EscapePathRegexpReplacement(p)
	if (err == nil) != kept || (err == nil && out != strings.ReplaceAll(p, "$", "$$")) {
		t.Fatalf("EscapePathRegexpReplacement(%q) = %q, %v; Go keeps it %v", p, out, err, kept)
	}
}

func TestPathToWire(t *testing.T) {
	for in, want := range map[string]string{
		"/plain/path":         "/plain/path",
		"/a b/{env.X}":        "/a%20b/%7Benv.X%7D",
		"/q?x#y":              "/q%3Fx%23y",
		"/kept%2Fescape":      "/kept%2Fescape",
		"/bad%zz":             "/bad%25zz",
		"/end%4":              "/end%254",
		"/é":                  "/%C3%A9",
		"/$1":                 "/$1",
		"/sub-delims!$&'()*+": "/sub-delims!$&'()*+",
	} {
		got := PathToWire(in)
		if got != want {
			t.Errorf("PathToWire(%q) = %q, want %q", in, got, want)
		}
		if _, err := EscapePathRegexpReplacement(got); err != nil {
			t.Errorf("EscapePathRegexpReplacement(PathToWire(%q)): %v", in, err)
		}
	}
}
