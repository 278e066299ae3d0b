package translate

import (
	"fmt"
	"math/bits"
	"regexp"
	"regexp/syntax"
	"unicode"
)

// Route authors are tenants, and every Kengine pod compiles their regular expressions with Go's
// regexp and runs them on every request. RE2 is linear in the input, but the constant is the
// compiled program: in the worst case every instruction that follows a loop is live at every
// input byte. These limits keep the worst accepted pattern under 1 ms per match on a 4 KB
// input, whichever of Go's engines runs it, and its memory bounded.
//
// Measured by regexcost_bench_test.go (the command is at its top) on a 2-core AMD EPYC VM
// (nproc 2), go1.26.8 linux/amd64, shared with other builds (load average 8-16); times are the
// benchmark thread's CPU time per FindStringSubmatch, the best of 11 runs of 20 matches.
const (
	// maxRegexpLength bounds the pattern's text, which drives memory more than the program
	// does: "[a\PL\PL…]" is one instruction, but Parse appends ~660 ranges per \PL before
	// merging them and the instruction keeps the whole appended array. At this limit that
	// pattern makes regexp.Compile allocate 0.9 MB, of which the compiled copy keeps 220 KB;
	// at 1024 bytes it was 10.6 MB and 2.2 MB.
	maxRegexpLength = 128

	// maxRegexpProgram bounds the compiled program, wrapper included. regexpCost charges
	// instructions that run only a few times per match almost nothing, so it does not bound
	// the program's size; this does, for memory and for the controller's own work (Parse
	// admits programs of millions of instructions). At this limit the compiled program keeps
	// at most 23 KB (plus the class tables maxRegexpLength bounds), but regexp.Compile
	// allocates up to 3.4 MB for one-pass analysis when the program holds sixty optional
	// 1,600-range classes. The state of one match, which regexp pools per concurrent match,
	// reaches 2.1 MB on 4 KB for "(?:(a)|(a)|(a)|(a))*!" (the backtracker's job stack, one
	// entry per alternative tried and group entered); Go bounds it for any program, as it
	// backtracks only while instructions × input bytes ≤ 256 Ki, and runs the pike VM
	// (under 20 KB) beyond.
	maxRegexpProgram = 128

	// maxRegexpCost bounds regexpCost, the work per input byte, in quarters of what the pike
	// VM spends on a plain instruction. The most expensive unit is a plain one in a chain of
	// ".*" run by the pike VM: 6.7-6.8 µs per 4 KB match, so 0.62 ms for the worst accepted
	// such pattern (93 units) and 0.66 ms at the limit; the backtracker takes at most 0.53 ms,
	// and classes, case folding and captures at most 5.6 µs per unit. Ordinary route patterns
	// cost 5 to 73: "/api/v[0-9]+/.*" 34, "[a-z]+\.example\.com" 69, a UUID 5.
	maxRegexpCost = 96

	// costInputBytes is the input size maxRegexpCost is stated for: the work of instructions
	// that run at a bounded number of offsets is spread over it.
	costInputBytes = 4096
)

// checkRegexpCost returns an error, worded for route status, when pattern does not compile or
// would cost a Kengine pod more than the limits above. pattern is what Kengine compiles, wrapper
// included (for example "^(?:" + value + ")$").
func checkRegexpCost(pattern string) error {
	if len(pattern) > maxRegexpLength {
		return fmt.Errorf("regular expression is %d bytes long, more than the limit of %d", len(pattern), maxRegexpLength)
	}
	re, err := syntax.Parse(pattern, syntax.Perl) // the flags regexp.Compile uses
	if err != nil {
		return err
	}
	// Parse admits programs of millions of instructions ("(?:a{1000}){1000}" is 14 bytes), so
	// refuse those before Simplify and Compile expand them here in the controller.
	if n := minProgramSize(re); n > maxRegexpProgram {
		return fmt.Errorf("regular expression compiles to at least %d instructions, more than the limit of %d", n, maxRegexpProgram)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return err
	}
	if n := len(prog.Inst); n > maxRegexpProgram {
		return fmt.Errorf("regular expression compiles to %d instructions, more than the limit of %d", n, maxRegexpProgram)
	}
	if c := regexpCost(prog); c > maxRegexpCost {
		return fmt.Errorf("regular expression costs %d units, more than the limit of %d", c, maxRegexpCost)
	}
	if _, err := regexp.Compile(pattern); err != nil {
		return err
	}
	return nil
}

// regexpCost bounds the work of matching prog, per input byte of a costInputBytes input, in the
// worst of Go's engines: the pike VM, which steps every live instruction once per byte (the
// backtracker visits each instruction at most once per position and onepass follows one).
//
// An instruction that is reachable from a loop may be live at every byte and costs its
// weight. When the program is anchored at the start of the text (the "^" of the wrapper), the
// engines only start there, so any other instruction is live at most at the offsets that
// loop-free paths reach it at; its weight times the number of those offsets is spread over
// costInputBytes. The pike VM still tries Start at every byte, up to the "^" that fails there.
// Without that anchor every instruction counts in full.
func regexpCost(prog *syntax.Prog) int {
	copyCost := (prog.NumCap/2 - 1) / groupsPerCopyUnit // groups beyond the whole match
	n := len(prog.Inst)

	// Kahn's algorithm from Start: an instruction is taken once all its predecessors are, so
	// the ones never taken are on a loop or after one. Each taken instruction gets the span of
	// rune offsets that the paths into it cover, an upper bound on how many it is live at.
	reached := make([]bool, n)
	preds := make([]int, n)
	stack := []uint32{uint32(prog.Start)}
	reached[prog.Start] = true
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, next := range instSuccessors(&prog.Inst[pc]) {
			preds[next]++
			if !reached[next] {
				reached[next] = true
				stack = append(stack, next)
			}
		}
	}
	lo, hi := make([]int, n), make([]int, n) // offsets into each taken instruction
	for pc := range lo {
		lo[pc], hi[pc] = n, -1 // no offset yet; a program of n instructions reaches < n
	}
	lo[prog.Start], hi[prog.Start] = 0, 0
	taken := make([]bool, n)
	if preds[prog.Start] == 0 {
		stack = append(stack, uint32(prog.Start))
	}
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		taken[pc] = true
		step := 0
		switch prog.Inst[pc].Op {
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			step = 1
		}
		for _, next := range instSuccessors(&prog.Inst[pc]) {
			lo[next] = min(lo[next], lo[pc]+step)
			hi[next] = max(hi[next], hi[pc]+step)
			if preds[next]--; preds[next] == 0 {
				stack = append(stack, next)
			}
		}
	}

	everyByte := make([]bool, n)
	anchored := prog.StartCond()&syntax.EmptyBeginText != 0
	if anchored {
		for pc := uint32(prog.Start); ; pc = prog.Inst[pc].Out { // StartCond's walk
			everyByte[pc] = true
			i := &prog.Inst[pc]
			if i.Op == syntax.InstEmptyWidth && syntax.EmptyOp(i.Arg)&syntax.EmptyBeginText != 0 ||
				i.Op != syntax.InstEmptyWidth && i.Op != syntax.InstCapture && i.Op != syntax.InstNop {
				break
			}
		}
	}
	perByte, once := 0, 0
	for pc := range prog.Inst {
		if !reached[pc] {
			continue
		}
		w := instWeight(&prog.Inst[pc], copyCost)
		if anchored && taken[pc] && !everyByte[pc] {
			once += w * (hi[pc] - lo[pc] + 1)
		} else {
			perByte += w
		}
	}
	return perByte + (once+costInputBytes-1)/costInputBytes
}

// instSuccessors returns the instructions a thread at i can go to next. Match and Fail end it.
func instSuccessors(i *syntax.Inst) []uint32 {
	switch i.Op {
	case syntax.InstMatch, syntax.InstFail:
		return nil
	case syntax.InstAlt, syntax.InstAltMatch:
		return []uint32{i.Out, i.Arg}
	default:
		return []uint32{i.Out}
	}
}

// Instruction weights, measured as the pike VM's cost per input byte with FindStringSubmatch,
// in quarters of a plain instruction's. A thread the VM hands on copies its capture positions.
const (
	plainWeight = 4 // alt, capture, empty-width, nop, match and one-rune instructions
	// groupsPerCopyUnit: each live rune or match instruction copies 2 ints per capture group
	// (and 2 for the whole match) each byte, so it costs one more unit per this many groups.
	// Measured: 1-3 groups within noise, 4-7 ≤ 0.8 units, 8 1.9, 16 2.3-2.8, 48 5.
	groupsPerCopyUnit = 4
)

// instWeight is i's cost each time it is live at a byte. copyCost is the program's surcharge
// for handing on a thread's capture positions.
func instWeight(i *syntax.Inst, copyCost int) int {
	switch i.Op {
	case syntax.InstRune:
		return runeClassWeight(i) + copyCost
	case syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL, syntax.InstMatch:
		return plainWeight + copyCost
	default:
		return plainWeight
	}
}

// runeClassWeight prices Inst.MatchRune for an InstRune. A class scans up to four ranges and
// binary-searches more: one unit per level (measured 0.3 per level on repeated runes, 0.65 on
// random ones). A single rune with case folding walks its orbit with unicode.SimpleFold, which
// is a table lookup for ASCII, one binary search for the runes of orbits longer than two
// (unicode's caseOrbit table) and up to three for the others: measured (?i)b 6.8 units,
// (?i)k 10.8, (?i)θ 19.6, (?i)Ꚏ 20.4; charged 8, 13, 24, 22.
func runeClassWeight(i *syntax.Inst) int {
	if len(i.Rune) != 1 {
		return plainWeight + bits.Len(uint(len(i.Rune)/2))
	}
	w := plainWeight
	if syntax.Flags(i.Arg)&syntax.FoldCase == 0 {
		return w
	}
	r0 := i.Rune[0]
	orbit := []rune{r0}
	for r := unicode.SimpleFold(r0); r != r0; r = unicode.SimpleFold(r) {
		orbit = append(orbit, r)
	}
	for _, r := range orbit {
		switch {
		case r < 0x80:
			w += 2
		case len(orbit) > 2:
			w += 5
		default:
			w += 9
		}
	}
	return w
}

// minProgramSize is a lower bound on the instructions syntax.Compile emits for re.Simplify(),
// computed without expanding repetitions. It mirrors Simplify: x{n,m} becomes m copies of x
// (x{n,} becomes n), and x*, x+ and x? never compile smaller than x.
func minProgramSize(re *syntax.Regexp) int {
	const ceiling = 1 << 20 // saturate: nested counts (≤ 1000 each) multiply, even in a 32-bit int
	switch re.Op {
	case syntax.OpNoMatch:
		return 0
	case syntax.OpLiteral:
		return max(1, len(re.Rune))
	case syntax.OpCapture:
		return min(ceiling, 2+minProgramSize(re.Sub[0]))
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		return minProgramSize(re.Sub[0])
	case syntax.OpRepeat:
		if re.Max == 0 {
			return 1 // x{0} is the empty match
		}
		copies := re.Max
		if copies == -1 {
			copies = max(1, re.Min)
		}
		return min(ceiling, copies*minProgramSize(re.Sub[0]))
	case syntax.OpConcat, syntax.OpAlternate:
		n := 0
		for _, sub := range re.Sub {
			n = min(ceiling, n+minProgramSize(sub))
		}
		return n
	default: // one instruction: a class, an assertion or the empty match
		return 1
	}
}
