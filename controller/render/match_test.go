package render

import (
	"regexp"
	"strings"
	"testing"

	"github.com/khulnasoft/gateway/controller/ir"
)

func TestMatcherFor(t *testing.T) {
	tests := []struct {
		name  string
		match ir.HTTPMatch
		// want is the matcher set's JSON; "" means no matcher at all.
		want string
	}{
		{name: "empty match admits everything", match: ir.HTTPMatch{}},
		{name: "root prefix admits everything", match: ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathPrefix}}},
		{name: "root prefix spelled with its slash", match: ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathPrefix, Value: "/"}}},
		{
			name:  "exact path is quoted",
			match: ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathExact, Value: "/a.b(c)"}},
			want:  `{"path_regexp":{"pattern":"^/a\\.b\\(c\\)$"}}`,
		},
		{
			name:  "prefix matches whole segments",
			match: ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathPrefix, Value: "/api.v1"}},
			want:  `{"path_regexp":{"pattern":"^/api\\.v1(/.*)?$"}}`,
		},
		{
			name:  "regex matches the whole path",
			match: ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathRegex, Value: "/v[0-9]+|/w"}},
			want:  `{"path_regexp":{"pattern":"^(?:/v[0-9]+|/w)$"}}`,
		},
		{
			name: "headers exact and regex keep their given names",
			match: ir.HTTPMatch{Headers: []ir.StringMatch{
				{Name: "X-Env", Value: "can.ary"},
				{Name: "X-Re", Regex: true, Value: "v[0-9]+"},
				{Name: "X-Env", Value: "ignored"},
			}},
			want: `{"header_regexp":{"X-Env":{"pattern":"^can\\.ary$"},"X-Re":{"pattern":"^(?:v[0-9]+)$"}}}`,
		},
		{
			name:  "query values are escaped",
			match: ir.HTTPMatch{Query: []ir.StringMatch{{Name: "q", Value: "{x}"}, {Name: "p", Value: "1"}}},
			want:  `{"query":{"p":["1"],"q":["\\{x\\}"]}}`,
		},
		{name: "method", match: ir.HTTPMatch{Method: "GET"}, want: `{"method":["GET"]}`},
		{
			name: "every part at once",
			match: ir.HTTPMatch{
				Path:    ir.PathMatch{Kind: ir.PathPrefix, Value: "/p"},
				Headers: []ir.StringMatch{{Name: "X-A", Value: "1"}},
				Query:   []ir.StringMatch{{Name: "q", Value: "2"}},
				Method:  "POST",
			},
			want: `{"path_regexp":{"pattern":"^/p(/.*)?$"},"method":["POST"],"header_regexp":{"X-A":{"pattern":"^1$"}},"query":{"q":["2"]}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, restricted, err := matcherFor(tt.match)
			if err != nil {
				t.Fatal(err)
			}
			if restricted != (tt.want != "") {
				t.Fatalf("restricted = %v, want %v (matcher %s)", restricted, tt.want != "", jsonOf(t, ms))
			}
			if tt.want != "" && jsonOf(t, ms) != tt.want {
				t.Errorf("matcher:\n got %s\nwant %s", jsonOf(t, ms), tt.want)
			}
		})
	}
}

func TestMatcherForRefuses(t *testing.T) {
	tests := []struct {
		name  string
		match ir.HTTPMatch
		want  string
	}{
		{"unknown path kind", ir.HTTPMatch{Path: ir.PathMatch{Kind: "Glob", Value: "/*"}}, "unknown path match kind"},
		{"query regex", ir.HTTPMatch{Query: []ir.StringMatch{{Name: "q", Regex: true, Value: ".*"}}}, "exact values only"},
		{"query value Kengine reads as a wildcard", ir.HTTPMatch{Query: []ir.StringMatch{{Name: "q", Value: "*"}}}, "matching any value"},
		{"query name Kengine reserves", ir.HTTPMatch{Query: []ir.StringMatch{{Name: "@id", Value: "1"}}}, "reserves"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := matcherFor(tt.match)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// The path patterns mean what the model says, checked by running them.
func TestPathPatternsMatchWhatTheModelSays(t *testing.T) {
	tests := []struct {
		path  ir.PathMatch
		admit []string
		deny  []string
	}{
		{ir.PathMatch{Kind: ir.PathExact, Value: "/a.b"}, []string{"/a.b"}, []string{"/aXb", "/a.b/", "/a.bc"}},
		{ir.PathMatch{Kind: ir.PathPrefix, Value: "/foo"}, []string{"/foo", "/foo/", "/foo/bar"}, []string{"/foobar", "/fo", "/x/foo"}},
		{ir.PathMatch{Kind: ir.PathRegex, Value: "/a|/b"}, []string{"/a", "/b"}, []string{"/ab", "/a/b", "x/b"}},
	}
	for _, tt := range tests {
		ms, _, err := matcherFor(ir.HTTPMatch{Path: tt.path})
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(ms.PathRegexp.Pattern)
		for _, p := range tt.admit {
			if !re.MatchString(p) {
				t.Errorf("%s %q must admit %q", tt.path.Kind, tt.path.Value, p)
			}
		}
		for _, p := range tt.deny {
			if re.MatchString(p) {
				t.Errorf("%s %q must not admit %q", tt.path.Kind, tt.path.Value, p)
			}
		}
	}
}
