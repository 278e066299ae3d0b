package translate

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIntersectHostname(t *testing.T) {
	tests := []struct {
		listener, route string
		want            string
		ok              bool
	}{
		{"", "", "", true},
		{"", "a.example.com", "a.example.com", true},
		{"a.example.com", "", "a.example.com", true},
		{"a.example.com", "a.example.com", "a.example.com", true},
		{"a.example.com", "b.example.com", "", false},
		{"*.example.com", "a.example.com", "a.example.com", true},
		{"*.example.com", "a.b.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", "", false},
		{"a.example.com", "*.example.com", "a.example.com", true},
		{"example.com", "*.example.com", "", false},
		{"*.example.com", "*.b.example.com", "*.b.example.com", true},
		{"*.b.example.com", "*.example.com", "*.b.example.com", true},
		{"*.example.com", "*.example.org", "", false},
		{"*.bar.com", "foo.bar.com", "foo.bar.com", true},
		{"foo.bar.com", "*.foo.bar.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.listener+"|"+tt.route, func(t *testing.T) {
			got, ok := intersectHostname(tt.listener, tt.route)
			if got != tt.want || ok != tt.ok {
				t.Errorf("intersectHostname(%q, %q) = %q, %v; want %q, %v", tt.listener, tt.route, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestHostnameOrder(t *testing.T) {
	in := []string{"", "*.example.com", "a.example.com", "*.b.example.com", "long.a.example.com", "b.com"}
	sort.Slice(in, func(i, j int) bool { return hostnameLess(in[i], in[j]) })
	want := []string{"long.a.example.com", "a.example.com", "b.com", "*.b.example.com", "*.example.com", ""}
	if d := cmp.Diff(want, in); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
}
