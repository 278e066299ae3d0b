package render

import (
	"regexp"
	"strings"
	"testing"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

func TestPathRewrite(t *testing.T) {
	tests := []struct {
		name    string
		rewrite *ir.PathRewrite
		want    string // the rewrite handler's JSON; "" means none
	}{
		{name: "none"},
		{
			name:    "full path",
			rewrite: &ir.PathRewrite{Replacement: "/moved"},
			want:    `{"handler":"rewrite","path_regexp":[{"find":"^.*$","replace":"/moved"}]}`,
		},
		{
			name:    "full path is sent as written, escaped for the wire and the replacer",
			rewrite: &ir.PathRewrite{Replacement: "/a b/{x}/$1"},
			want:    `{"handler":"rewrite","path_regexp":[{"find":"^.*$","replace":"/a%20b/%7Bx%7D/$$1"}]}`,
		},
		{
			name:    "prefix",
			rewrite: &ir.PathRewrite{ReplacePrefix: true, Prefix: "/old.v1", Replacement: "/new"},
			want:    `{"handler":"rewrite","path_regexp":[{"find":"^/old\\.v1(/.*)?$","replace":"/new$1"},{"find":"^$","replace":"/"}]}`,
		},
		{
			name:    "prefix replaced by the root",
			rewrite: &ir.PathRewrite{ReplacePrefix: true, Prefix: "/old", Replacement: ""},
			want:    `{"handler":"rewrite","path_regexp":[{"find":"^/old(/.*)?$","replace":"$1"},{"find":"^$","replace":"/"}]}`,
		},
		{
			name:    "root prefix",
			rewrite: &ir.PathRewrite{ReplacePrefix: true, Replacement: "/new"},
			want:    `{"handler":"rewrite","path_regexp":[{"find":"^(/.*)?$","replace":"/new$1"},{"find":"^$","replace":"/"}]}`,
		},
		{
			name:    "root prefix spelled with its slash, replacement with a trailing slash",
			rewrite: &ir.PathRewrite{ReplacePrefix: true, Prefix: "/", Replacement: "/new/"},
			want:    `{"handler":"rewrite","path_regexp":[{"find":"^(/.*)?$","replace":"/new$1"},{"find":"^$","replace":"/"}]}`,
		},
		{
			name:    "a prefix without ReplacePrefix is ignored: the whole path is replaced",
			rewrite: &ir.PathRewrite{Prefix: "/old", Replacement: "/new"},
			want:    `{"handler":"rewrite","path_regexp":[{"find":"^.*$","replace":"/new"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rw, err := pathRewrite(tt.rewrite)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if rw != nil {
					t.Fatalf("want no rewrite, got %s", jsonOf(t, rw))
				}
				return
			}
			if got := jsonOf(t, *rw); got != tt.want {
				t.Errorf("rewrite:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// The prefix rewrite replaces whole segments and turns an empty result into the root, as
// Kengine applies the replacements in order.
func TestPrefixRewriteResults(t *testing.T) {
	apply := func(rw *kengine.Rewrite, path string) string {
		for _, r := range rw.PathRegexp {
			path = regexp.MustCompile(r.Find).ReplaceAllString(path, r.Replace)
		}
		return path
	}
	tests := []struct {
		prefix, replacement, in, want string
	}{
		{"/old", "/new", "/old", "/new"},
		{"/old", "/new", "/old/a/b", "/new/a/b"},
		{"/old", "", "/old", "/"},
		{"/old", "", "/old/a", "/a"},
		{"", "/new", "/a", "/new/a"},
		{"", "/new", "/", "/new/"},
		{"/old", "/new", "/older", "/older"},
	}
	for _, tt := range tests {
		rw, err := pathRewrite(&ir.PathRewrite{ReplacePrefix: true, Prefix: tt.prefix, Replacement: tt.replacement})
		if err != nil {
			t.Fatal(err)
		}
		if got := apply(rw, tt.in); got != tt.want {
			t.Errorf("prefix %q → %q on %q = %q, want %q", tt.prefix, tt.replacement, tt.in, got, tt.want)
		}
	}
}

func TestRedirectHandlers(t *testing.T) {
	tests := []struct {
		name     string
		redirect ir.Redirect
		want     string
	}{
		{
			name:     "request host, no port",
			redirect: ir.Redirect{Scheme: "https", StatusCode: 301},
			want:     `[{"handler":"static_response","status_code":301,"headers":{"Location":["https://{http.request.host}{http.request.uri}"]}}]`,
		},
		{
			name:     "hostname and port",
			redirect: ir.Redirect{Scheme: "http", Hostname: "b.example.com", Port: 8080, StatusCode: 302},
			want:     `[{"handler":"static_response","status_code":302,"headers":{"Location":["http://b.example.com:8080{http.request.uri}"]}}]`,
		},
		{
			name:     "hostname keeps its literal meaning",
			redirect: ir.Redirect{Scheme: "http", Hostname: "{env.SECRET}", StatusCode: 302},
			want:     `[{"handler":"static_response","status_code":302,"headers":{"Location":["http://\\{env.SECRET\\}{http.request.uri}"]}}]`,
		},
		{
			name:     "path rewrite before the response",
			redirect: ir.Redirect{Scheme: "https", Port: 8443, Path: &ir.PathRewrite{Replacement: "/moved"}, StatusCode: 308},
			want: `[{"handler":"rewrite","path_regexp":[{"find":"^.*$","replace":"/moved"}]},` +
				`{"handler":"static_response","status_code":308,"headers":{"Location":["https://{http.request.host}:8443{http.request.uri}"]}}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, err := redirectHandlers(&tt.redirect)
			if err != nil {
				t.Fatal(err)
			}
			if got := jsonOf(t, hs); got != tt.want {
				t.Errorf("handlers:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestRedirectHandlersRefuse(t *testing.T) {
	for name, rd := range map[string]ir.Redirect{
		"no status":        {Scheme: "https"},
		"not a redirect":   {Scheme: "https", StatusCode: 200},
		"no scheme":        {StatusCode: 301},
		"other scheme":     {Scheme: "ftp", StatusCode: 301},
		"port too high":    {Scheme: "https", Port: 70000, StatusCode: 301},
		"hostname with LF": {Scheme: "https", Hostname: "a\nb", StatusCode: 301},
	} {
		if _, err := redirectHandlers(&rd); err == nil {
			t.Errorf("%s: redirect %+v must be refused", name, rd)
		}
	}
}

func TestFilterHandlers(t *testing.T) {
	hs, proxyHeaders, err := filterHandlers([]ir.HTTPFilter{
		{RequestHeaders: &ir.HeaderEdits{Set: []ir.Header{{Name: "X-Set", Value: "1"}}, Add: []ir.Header{{Name: "X-Add", Value: "a"}, {Name: "X-Add", Value: "b"}}, Remove: []string{"X-Gone"}}},
		{ResponseHeaders: &ir.HeaderEdits{Set: []ir.Header{{Name: "X-Resp", Value: "yes"}}}},
		{Rewrite: &ir.Rewrite{Path: &ir.PathRewrite{Replacement: "/x"}, Hostname: "up.example.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"handler":"headers","request":{"add":{"X-Add":["a","b"]},"set":{"X-Set":["1"]},"delete":["X-Gone"]}},` +
		`{"handler":"headers","response":{"set":{"X-Resp":["yes"]},"deferred":true}},` +
		`{"handler":"rewrite","path_regexp":[{"find":"^.*$","replace":"/x"}]}]`
	if got := jsonOf(t, hs); got != want {
		t.Errorf("handlers:\n got %s\nwant %s", got, want)
	}
	if got, want := jsonOf(t, proxyHeaders), `{"request":{"set":{"Host":["up.example.com"]}}}`; got != want {
		t.Errorf("proxy headers = %s, want %s", got, want)
	}
	if _, _, err := filterHandlers([]ir.HTTPFilter{{}}); err == nil {
		t.Error("a filter without an edit must be refused")
	}
}

// Route strings reach Kengine through the escaper of their context: placeholders stay
// literal, and what Kengine would read as a wildcard is refused rather than widened.
func TestHeaderOpsKeepLiteralMeaning(t *testing.T) {
	ops, err := headerOps(&ir.HeaderEdits{
		Set:    []ir.Header{{Name: "X-Secret", Value: "{env.SECRET}"}},
		Add:    []ir.Header{{Name: "X-File", Value: `a\{file./etc/passwd}b`}},
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
		if _, err := headerOps(&ir.HeaderEdits{Remove: []string{name}}); err == nil {
			t.Errorf("removing %q must be refused: Kengine would delete by wildcard", name)
		}
	}
	if _, err := headerOps(&ir.HeaderEdits{Set: []ir.Header{{Name: "X-A", Value: " padded"}}}); err == nil || !strings.Contains(err.Error(), "whitespace") {
		t.Errorf("a value HTTP would trim must be refused, got %v", err)
	}
}
