package render

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// matcherFor renders a match; restricted is false when the match admits every request, and
// the route then gets no matcher at all.
func matcherFor(m ir.HTTPMatch) (ms kengine.MatcherSet, restricted bool, err error) {
	switch m.Path.Kind {
	case "":
	case ir.PathExact:
		ms.PathRegexp = &kengine.RegexpMatcher{Pattern: "^" + regexp.QuoteMeta(m.Path.Value) + "$"}
	case ir.PathPrefix:
		// Prefixes match whole segments: "/foo" admits "/foo" and "/foo/bar", not "/foobar".
		// The root prefix ("", or "/" from a model that kept it) admits every path.
		if prefix := strings.TrimSuffix(m.Path.Value, "/"); prefix != "" {
			ms.PathRegexp = &kengine.RegexpMatcher{Pattern: "^" + regexp.QuoteMeta(prefix) + "(/.*)?$"}
		}
	case ir.PathRegex:
		ms.PathRegexp = &kengine.RegexpMatcher{Pattern: kengine.WholeValueRegexp(m.Path.Value)}
	default:
		return ms, false, fmt.Errorf("unknown path match kind %q", m.Path.Kind)
	}
	restricted = ms.PathRegexp != nil
	for _, h := range m.Headers {
		if ms.HeaderRegexp == nil {
			ms.HeaderRegexp = make(map[string]*kengine.RegexpMatcher, len(m.Headers))
		}
		if _, dup := ms.HeaderRegexp[h.Name]; dup {
			continue // names are unique in the model; the first match of a name counts
		}
		pattern := "^" + regexp.QuoteMeta(h.Value) + "$"
		if h.Regex {
			pattern = kengine.WholeValueRegexp(h.Value)
		}
		ms.HeaderRegexp[h.Name] = &kengine.RegexpMatcher{Pattern: pattern}
		restricted = true
	}
	for _, q := range m.Query {
		if q.Regex {
			return ms, false, fmt.Errorf("query parameter %q: Kengine's query matcher compares exact values only", q.Name)
		}
		name, err := kengine.EscapeQueryName(q.Name)
		if err != nil {
			return ms, false, err
		}
		value, err := kengine.EscapeQueryValue(q.Value)
		if err != nil {
			return ms, false, err
		}
		if ms.Query == nil {
			ms.Query = make(map[string][]string, len(m.Query))
		}
		if _, dup := ms.Query[name]; dup {
			continue
		}
		ms.Query[name] = []string{value}
		restricted = true
	}
	if m.Method != "" {
		ms.Method = []string{m.Method}
		restricted = true
	}
	return ms, restricted, nil
}
