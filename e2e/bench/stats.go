package main

import (
	"math"
	"slices"
	"time"
)

// Summary describes a set of samples in milliseconds, the unit every timing in results.json
// uses.
type Summary struct {
	// N is the number of samples.
	N int `json:"n"`
	// Min, P50, P90, P99 and Max are order statistics, in milliseconds.
	Min float64 `json:"min_ms"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
	// Mean is the arithmetic mean, in milliseconds.
	Mean float64 `json:"mean_ms"`
}

// percentile returns the p-th percentile (0 ≤ p ≤ 100) of sorted by the nearest-rank method:
// the smallest sample that at least p percent of the samples do not exceed. With few samples
// p99 is the maximum, which is the honest answer. It returns NaN for no samples.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	if p <= 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// summarize computes the Summary of samples, which it does not modify.
func summarize(samples []float64) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	sum := 0.0
	for _, v := range sorted {
		sum += v
	}
	return Summary{
		N:    len(sorted),
		Min:  sorted[0],
		P50:  percentile(sorted, 50),
		P90:  percentile(sorted, 90),
		P99:  percentile(sorted, 99),
		Max:  sorted[len(sorted)-1],
		Mean: sum / float64(len(sorted)),
	}
}

// summarizeDurations is summarize for durations.
func summarizeDurations(ds []time.Duration) Summary {
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = millis(d)
	}
	return summarize(ms)
}

// millis converts a duration to fractional milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ratio returns a/b, or 0 when b is not positive (no reference: no ratio).
func ratio(a, b float64) float64 {
	if b <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return 0
	}
	return a / b
}
