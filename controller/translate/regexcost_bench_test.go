package translate

// The measurements behind maxRegexpLength, maxRegexpProgram, maxRegexpCost and the instruction
// weights of regexpCost. Each cost family below grows an adversarial pattern until
// checkRegexpCost refuses it and keeps the largest accepted one; the benchmarks run that pattern
// on 4 KB inputs that keep every thread alive until the last byte and then fail (the patterns
// end in "!", which the inputs never contain). Every family also runs padded with ".{60}" in
// front ("-pike"): a program of 64 instructions or more makes Go run the pike VM, not the
// backtracker, on 4 KB, and the padding costs one unit. Rerun with
//
//	go test -run '^$' -bench RegexpCost -benchmem -count 3 -benchtime 20x ./controller/
//
// and read the smallest cpu-ns/op of each row over a few runs: the machine is shared, and a row
// that shares a core with a busy neighbour reads up to twice its cost. Divided by the cost
// metric, it gives µs per unit, which the weights aim to keep even across families. The budget
// is 1 ms per FindStringSubmatch (what Kengine's matchers call) on the worst input. The Compile
// benchmarks report memory: compile-B/op, kept-B/op and match-B/op; the Check benchmarks the
// controller's own work. TestRegexpCostLimits checks the same patterns without timing them.

import (
	"fmt"
	"math/rand"
	"os"
	"regexp"
	"regexp/syntax"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// costFamily is one shape of adversarial pattern: body(k) is a route's regular expression that
// grows with k.
type costFamily struct {
	name string
	body func(k int) string
}

// bigClass is a character class of ~1,600 ranges (control, lowercase, marks and punctuation
// interleave across Unicode), so each match of one rune is a binary search 11 levels deep, and
// printable ASCII falls in many of its ranges, so the mixed input defeats branch prediction.
const bigClass = `[\pC\p{Ll}\p{Mn}\p{Ps}\p{Po}]`

// repeatedBody writes unit out k times, so every copy is parsed (and holds its tables) apart.
func repeatedBody(unit, tail string) func(int) string {
	return func(k int) string { return strings.Repeat(unit, k) + tail }
}

// countedBody repeats with a count, so Simplify makes the copies from one parsed node.
func countedBody(format string) func(int) string {
	return func(k int) string { return fmt.Sprintf(format, k) }
}

var baseCostFamilies = []costFamily{
	{"dot-star", countedBody(`(?:.*){%d}!`)},
	{"dot-star-text", repeatedBody(`.*`, `!`)},
	// One literal fills the budget where a whole ".*" (8 units) does not fit.
	{"dot-star-literal", countedBody(`(?:.*){%d}a!`)},
	{"captures", repeatedBody(`(.*)`, `!`)},
	// Sixteen groups make every thread the pike VM hands on copy 34 ints.
	{"capture-groups", countedBody(strings.Repeat("()", 16) + `(?:.*){%d}!`)},
	{"nested-counted", countedBody(`((a*){2}){%d}!`)},
	{"alternation", func(k int) string {
		alts := make([]string, k)
		for i := range alts {
			alts[i] = fmt.Sprintf("[a-%c].", 'b'+i%24) // distinct classes, so Parse cannot factor them
		}
		return "(?:" + strings.Join(alts, "|") + ")*!"
	}},
	// The backtracker pushes a job per alternative tried and per group entered, so k+1
	// groups give the largest match state.
	{"alternation-captures", func(k int) string {
		return "(?:" + strings.Repeat("(a)|", k) + "(a))*!"
	}},
	{"class-ranges", countedBody(`(?:` + bigClass + `*){%d}!`)},
	{"class-ranges-text", repeatedBody(bigClass+`*`, `!`)}, // one rune table per copy, not shared
	// Optional classes after ".*" are tried at every byte whether or not the rune is in them.
	{"class-search", countedBody(`.*(?:` + bigClass + `?){%d}!`)},
	{"class-linear", countedBody(`.*(?:[b-gn-qx-z]?){%d}!`)}, // three ranges, scanned in turn
	{"fold-unicode", countedBody(`(?i)(?:\pL*){%d}!`)},
	// A case-folded rune walks its orbit with unicode.SimpleFold; Ꚏ's two runes each miss
	// the caseOrbit table and search CaseRanges, θ's four each hit caseOrbit.
	{"fold-rune", countedBody(`.*(?i:Ꚏ?){%d}!`)},
	{"fold-orbit", countedBody(`.*(?i:θ?){%d}!`)},
	{"fold-ascii", countedBody(`.*(?i:k?){%d}!`)}, // k, K and the Kelvin sign K
	{"word-boundary", countedBody(`(?:\b.*){%d}!`)},
	// Loop-free instructions live at many offsets: [big]? k times is live at up to k+1.
	{"prefix-offsets", countedBody(`(?:` + bigClass + `?){%d}.*!`)},
	{"class-escapes", func(k int) string { // Parse appends and sorts ~660 ranges per \PL
		return "[a" + strings.Repeat(`\PL`, k) + "]*!"
	}},
	{"long-class", func(k int) string { // one class of k two-byte runes
		var b strings.Builder
		b.WriteString("[")
		for i := range k {
			b.WriteRune(rune(0x100 + 2*i))
		}
		b.WriteString("a]*!")
		return b.String()
	}},
}

// pikePadding makes the program long enough for the pike VM to run it on 4 KB inputs
// (regexp backtracks only while instructions × input bytes < 256 Ki).
const pikePadding = ".{60}"

// costFamilies is every base family, plain and padded.
var costFamilies = func() []costFamily {
	var all []costFamily
	for _, f := range baseCostFamilies {
		body := f.body
		all = append(all, f, costFamily{f.name + "-pike", func(k int) string { return pikePadding + body(k) }})
	}
	return all
}()

// wrapRegexp is how render.go hands a route's regular expression to Kengine.
func wrapRegexp(body string) string { return "^(?:" + body + ")$" }

// largestAccepted returns the largest k for which checkRegexpCost accepts f's pattern, or 0.
func largestAccepted(f costFamily) int {
	k := 0
	for checkRegexpCost(wrapRegexp(f.body(k+1))) == nil {
		k++
	}
	return k
}

// worstAccepted returns f's largest accepted pattern, wrapped.
func worstAccepted(tb testing.TB, f costFamily) string {
	tb.Helper()
	k := largestAccepted(f)
	if k == 0 {
		tb.Fatalf("%s: checkRegexpCost refuses even %q: %v", f.name, f.body(1), checkRegexpCost(wrapRegexp(f.body(1))))
	}
	return wrapRegexp(f.body(k))
}

// compiledProgram is the program regexp.Compile gives pattern.
func compiledProgram(tb testing.TB, pattern string) *syntax.Prog {
	tb.Helper()
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		tb.Fatal(err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		tb.Fatal(err)
	}
	return prog
}

// costInputs are 4 KB request values. Every family's loops accept the header to its last byte;
// the path only keeps alive the loops whose class holds '/' (".", bigClass, \PL); the mixed
// value, random printable ASCII without "!", keeps alive the loops over "." and makes the
// classes' searches take unpredictable branches.
var costInputs = []struct{ name, value string }{
	{"header", strings.Repeat("a", 4096)},
	{"path", strings.Repeat("/"+strings.Repeat("a", 63), 64)},
	{"mixed", mixedInput(4096)},
}

// mixedInput returns n bytes of printable ASCII other than "!", the same on every run.
func mixedInput(n int) string {
	rng := rand.New(rand.NewSource(1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('"' + rng.Intn('~'-'"'+1))
	}
	return string(b)
}

func BenchmarkRegexpCostMatch(b *testing.B) {
	for _, f := range costFamilies {
		pattern := worstAccepted(b, f)
		re := regexp.MustCompile(pattern)
		prog := compiledProgram(b, pattern)
		for _, in := range costInputs {
			b.Run(f.name+"/"+in.name+"/MatchString", func(b *testing.B) {
				loopWithCPU(b, prog, func() {
					if re.MatchString(in.value) {
						b.Fatal("matched")
					}
				})
			})
			b.Run(f.name+"/"+in.name+"/FindStringSubmatch", func(b *testing.B) {
				loopWithCPU(b, prog, func() {
					if re.FindStringSubmatch(in.value) != nil {
						b.Fatal("matched")
					}
				})
			})
		}
	}
}

// loopWithCPU runs op in a b.Loop and reports the program's instructions and cost and, where
// Linux reports it, cpu-ns/op: the CPU time of the benchmark's thread. On a busy shared machine
// wall-clock ns/op also counts the time the thread waited for a core; cpu-ns/op does not. It
// includes two reads of a /proc file, so it is meaningless for operations under ~10 µs.
func loopWithCPU(b *testing.B, prog *syntax.Prog, op func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	n := 0
	for b.Loop() {
		op()
		n++
	}
	if end, ok2 := threadCPU(); ok && ok2 && n > 0 {
		b.ReportMetric(float64(end-start)/float64(n), "cpu-ns/op")
	}
	reportProgram(b, prog) // after the loop: b.Loop's first call deletes metrics
}

// reportProgram reports prog's instructions and regexpCost.
func reportProgram(b *testing.B, prog *syntax.Prog) {
	b.ReportMetric(float64(len(prog.Inst)), "insts")
	b.ReportMetric(float64(regexpCost(prog)), "cost")
}

// threadCPU returns the nanoseconds the calling OS thread has run on a CPU, from the first field
// of Linux's schedstat, and false where that file does not exist. The kernel brings that count up
// to date only at ticks (4 ms) and context switches, so threadCPU first sleeps: the locked thread
// blocks, and the switch accounts for it.
func threadCPU() (int64, bool) {
	time.Sleep(time.Microsecond)
	stat, err := os.ReadFile("/proc/thread-self/schedstat")
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(stat))
	if len(fields) == 0 {
		return 0, false
	}
	ns, err := strconv.ParseInt(fields[0], 10, 64)
	return ns, err == nil
}

// BenchmarkRegexpCostCompile measures memory; its ns/op is skewed by the collections and reads
// of MemStats between the steps. compile-B/op is what regexp.Compile allocates and kept-B/op what
// the compiled copy still holds after a collection, for as long as Kengine's config lives.
// match-B/op is the state the first match allocates (the backtracker's bitmap and job stack, or
// the NFA's queues and threads); regexp pools it, so a pod holds one per concurrent match,
// shared by all patterns. Collections before each iteration empty those pools.
func BenchmarkRegexpCostCompile(b *testing.B) {
	header := costInputs[0].value
	for _, f := range costFamilies {
		pattern := worstAccepted(b, f)
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			var compiled, kept, matched int64
			var before, afterCompile, afterGC, afterMatch runtime.MemStats
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.StartTimer()
				re := regexp.MustCompile(pattern)
				b.StopTimer()
				runtime.ReadMemStats(&afterCompile)
				runtime.GC()
				runtime.ReadMemStats(&afterGC)
				b.StartTimer()
				re.FindStringSubmatch(header)
				b.StopTimer()
				runtime.ReadMemStats(&afterMatch)
				runtime.KeepAlive(re)
				b.StartTimer()
				compiled += int64(afterCompile.TotalAlloc - before.TotalAlloc)
				kept += int64(afterGC.HeapAlloc) - int64(before.HeapAlloc)
				matched += int64(afterMatch.TotalAlloc - afterGC.TotalAlloc)
			}
			n := float64(b.N)
			b.ReportMetric(float64(compiled)/n, "compile-B/op")
			b.ReportMetric(float64(kept)/n, "kept-B/op")
			b.ReportMetric(float64(matched)/n, "match-B/op")
			reportProgram(b, compiledProgram(b, pattern))
		})
	}
}

// BenchmarkRegexpCostCheck measures the controller's side: checking each family's worst accepted
// pattern, which compiles it, and the pattern just above the limits, which must be refused
// before Simplify expands it.
func BenchmarkRegexpCostCheck(b *testing.B) {
	for _, f := range costFamilies {
		k := largestAccepted(f)
		accepted, above := wrapRegexp(f.body(k)), wrapRegexp(f.body(k+1))
		b.Run(f.name+"/accepted", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := checkRegexpCost(accepted); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(f.name+"/refused", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if checkRegexpCost(above) == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
	huge := wrapRegexp(strings.Repeat("a{1000}", (maxRegexpLength-6)/7)) // Parse allows ~146k instructions
	b.Run("repeat-siblings", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if checkRegexpCost(huge) == nil {
				b.Fatal("accepted")
			}
		}
	})
}
