package translate

import (
	"fmt"
	"regexp/syntax"
	"strings"
	"testing"
)

// ordinaryRegexps are route values (before wrapRegexp) that route authors need and that the
// limits must accept, with their regexpCost.
var ordinaryRegexps = []struct {
	value string
	cost  int
}{
	{`/api/v[0-9]+/.*`, 34},
	{`/api/v1/users/[0-9]+`, 22},
	{`/(css|js|img)/.*`, 21},
	{`application/(json|xml)`, 5},
	{`/static/.*\.(css|js|png)`, 73},
	{`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`, 5},
	{`/users/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.*`, 21},
	{`.*`, 20},
	{`/foo/[^/]+/bar`, 39},
	{`(?i)/Case/.*`, 21},
	{`/v[12]/(users|groups)/[0-9]+/?`, 30},
	{`/v2/.*`, 21},
	{`.*regex.*`, 48},
	{`/[a-z]+/[a-z0-9_-]+/[0-9]+`, 50},
	{`Chrome/[0-9.]+`, 23},
	{`[a-z]+\.example\.com`, 69},
	{`.*Mozilla/5\.0.*`, 72},
	{`(?i)bearer .*`, 21},
	{`(?i).*token.*`, 73},
}

func TestCheckRegexpCostAcceptsOrdinaryRegexps(t *testing.T) {
	for _, tt := range ordinaryRegexps {
		t.Run(tt.value, func(t *testing.T) {
			pattern := wrapRegexp(tt.value)
			if err := checkRegexpCost(pattern); err != nil {
				t.Errorf("checkRegexpCost(%q) = %v, want nil", pattern, err)
			}
			if got := regexpCost(compiledProgram(t, pattern)); got != tt.cost {
				t.Errorf("regexpCost(%q) = %d, want %d", pattern, got, tt.cost)
			}
		})
	}
}

func TestCheckRegexpCost(t *testing.T) {
	overLong := wrapRegexp(strings.Repeat("a", maxRegexpLength))
	tests := []struct {
		name    string
		pattern string // as Kengine compiles it
		wantErr string // "" to accept
	}{
		{name: "already wrapped", pattern: "^(?:[a-z]+)$"},
		{
			// \Q quotes the wrapper's ")$", so the group never closes.
			name:    "value ending in \\Q",
			pattern: wrapRegexp(`foo\Q`),
			wantErr: "error parsing regexp: missing closing ): `^(?:foo\\Q)$`",
		},
		{
			name:    "bad class",
			pattern: wrapRegexp("[a-"),
			wantErr: "error parsing regexp: invalid character class range: `a-)`",
		},
		{
			name:    "over long",
			pattern: overLong,
			wantErr: fmt.Sprintf("regular expression is %d bytes long, more than the limit of %d", len(overLong), maxRegexpLength),
		},
		{
			name:    "huge counted repetition",
			pattern: wrapRegexp("a{1000}"),
			wantErr: fmt.Sprintf("regular expression compiles to at least 1002 instructions, more than the limit of %d", maxRegexpProgram),
		},
		{
			name:    "nested counted repetitions",
			pattern: wrapRegexp("((a{20}){20}){2}"),
			wantErr: fmt.Sprintf("regular expression compiles to at least 886 instructions, more than the limit of %d", maxRegexpProgram),
		},
		{
			// Go refuses nested counts whose product exceeds 1000 itself.
			name:    "nested counts beyond Go's limit",
			pattern: wrapRegexp("(?:a{1000}){1000}"),
			wantErr: "error parsing regexp: invalid repeat count: `{1000}`",
		},
		{
			// Small before Simplify; the optional copies' Alt instructions push it over.
			name:    "optional copies over the limit",
			pattern: wrapRegexp("a{50}(?:a?){40}"),
			wantErr: fmt.Sprintf("regular expression compiles to 134 instructions, more than the limit of %d", maxRegexpProgram),
		},
		{name: "loops within the limit", pattern: wrapRegexp("a*b*c*d*e*f*g*h*i*j*")},
		{
			// Eleven loops of 8 units; "^", "$" and match 4 each: 100.
			name:    "loops over the limit",
			pattern: wrapRegexp("a*b*c*d*e*f*g*h*i*j*k*"),
			wantErr: fmt.Sprintf("regular expression costs 100 units, more than the limit of %d", maxRegexpCost),
		},
		{
			// An unanchored search may start at every byte, so every instruction counts.
			name:    "UUID search",
			pattern: wrapRegexp(".*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}.*"),
			wantErr: fmt.Sprintf("regular expression costs 236 units, more than the limit of %d", maxRegexpCost),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkRegexpCost(tt.pattern)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("checkRegexpCost(%q) = %q, want %q", tt.pattern, got, tt.wantErr)
			}
		})
	}
}

func TestRegexpCost(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		want    int
	}{
		// "^" (the pike VM tries Start at every byte), then the loop's alt and anynotnl, "$"
		// and match, 4 each; nothing runs just once.
		{name: "dot star", pattern: `^(?:.*)$`, want: 20},
		// Unanchored, a search may start at every byte: alt, anynotnl and match, in full.
		{name: "unanchored", pattern: `.*`, want: 12},
		// "^" at every byte; a, b, c, "$" and match at one offset each, 20 units over 4 KB.
		{name: "literal", pattern: `^abc$`, want: 4 + 1},
		{name: "long literal", pattern: `^a{999}$`, want: 4 + 1},
		// a? 100 times: the i-th copy is live at up to i offsets, 8·5050 units in all.
		{name: "offsets", pattern: `^(?:a?){100}$`, want: 4 + 11},
		{name: "never matches", pattern: `^[^\x00-\x{10FFFF}]$`, want: 4 + 1},
		// A class adds one unit per level of its search: 1 range 1, 2-3 ranges 2, 4-7 3.
		{name: "one range", pattern: `^[a-z]*$`, want: 16 + 5},
		{name: "two ranges", pattern: `^[a-z0-9]*$`, want: 16 + 6},
		{name: "five ranges", pattern: `^[acegi]*$`, want: 16 + 7},
		{name: "big class", pattern: `^` + bigClass + `*$`, want: 16 + 15},
		// Folding: 2 per ASCII rune of the orbit; k's orbit holds the Kelvin sign (5); Ꚏ's
		// two runes miss caseOrbit (9 each).
		{name: "fold ascii", pattern: `^(?i:b)*$`, want: 16 + 8},
		{name: "fold kelvin", pattern: `^(?i:k)*$`, want: 16 + 13},
		{name: "fold orbit of two", pattern: `^(?i:Ꚏ)*$`, want: 16 + 22},
		{name: "fold orbit of four", pattern: `^(?i:θ)*$`, want: 16 + 24},
		// Groups: the loop's capture end counts; from 4 groups on, each rune and match
		// instruction pays one more unit per 4 groups.
		{name: "one group", pattern: `^(.*)$`, want: 20 + 4 + 1},
		{name: "four groups", pattern: `^()()()(.*)$`, want: 20 + 4 + 2 + 1},
		{name: "eight groups", pattern: `^()()()()()()()(.*)$`, want: 20 + 4 + 4 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := regexpCost(compiledProgram(t, tt.pattern)); got != tt.want {
				t.Errorf("regexpCost(%q) = %d, want %d\n%v", tt.pattern, got, tt.want, compiledProgram(t, tt.pattern))
			}
		})
	}
}

// TestRegexpCostLimits pushes every cost family of regexcost_bench_test.go to the limits: the
// largest accepted pattern is within them, one step more is refused.
func TestRegexpCostLimits(t *testing.T) {
	for _, f := range costFamilies {
		t.Run(f.name, func(t *testing.T) {
			k := largestAccepted(f)
			if k == 0 {
				t.Fatalf("checkRegexpCost refuses even %q: %v", f.body(1), checkRegexpCost(wrapRegexp(f.body(1))))
			}
			worst := wrapRegexp(f.body(k))
			prog := compiledProgram(t, worst)
			if n := len(prog.Inst); n > maxRegexpProgram {
				t.Errorf("accepted %q compiles to %d instructions, more than %d", worst, n, maxRegexpProgram)
			}
			if c := regexpCost(prog); c > maxRegexpCost {
				t.Errorf("accepted %q costs %d units, more than %d", worst, c, maxRegexpCost)
			}
			if len(worst) > maxRegexpLength {
				t.Errorf("accepted %q is %d bytes, more than %d", worst, len(worst), maxRegexpLength)
			}
			t.Logf("worst accepted %q: %d instructions, %d units", worst, len(prog.Inst), regexpCost(prog))
			above := wrapRegexp(f.body(k + 1))
			err := checkRegexpCost(above)
			if err == nil || !strings.Contains(err.Error(), "more than the limit") {
				t.Errorf("checkRegexpCost(%q) = %v, want a limit error", above, err)
			}
		})
	}
}

// TestMinProgramSizeIsLowerBound guards the early refusal: if Simplify or Compile ever emit
// fewer instructions than minProgramSize claims, checkRegexpCost would refuse a pattern that
// fits.
func TestMinProgramSizeIsLowerBound(t *testing.T) {
	patterns := []string{
		"", "a", "abc", "(?:)", "a{0}", "a{0,}", "a{1,}", "a{3,}", "a{2,5}", "(?:a*)*", "(?:a+)+",
		"(?:(?:)?){5}", "(?:a|b|cd)", "(a)(b(c))", `[^\x00-\x{10FFFF}]`, `(?:[^\x00-\x{10FFFF}]?){5}`,
		`^\b$\B`, "(?i)abc", "(?s).", "((a{20}){20}){2}", "(?:a{0,3}b?){4,}",
	}
	for _, f := range costFamilies {
		for k := range 4 {
			patterns = append(patterns, f.body(k))
		}
	}
	for _, p := range patterns {
		re, err := syntax.Parse(wrapRegexp(p), syntax.Perl)
		if err != nil {
			t.Fatalf("parse %q: %v", p, err)
		}
		prog, err := syntax.Compile(re.Simplify())
		if err != nil {
			t.Fatalf("compile %q: %v", p, err)
		}
		if lower := minProgramSize(re); lower > len(prog.Inst) {
			t.Errorf("minProgramSize(%q) = %d, more than the %d instructions it compiles to", p, lower, len(prog.Inst))
		}
	}
}
