package main

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPercentileNearestRank(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(i + 1)
	}
	tests := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{"one sample is every percentile", []float64{7}, 99, 7},
		{"p0 is the minimum", []float64{1, 2, 3}, 0, 1},
		{"p50 of an odd count is the middle", []float64{1, 2, 3}, 50, 2},
		{"p50 of an even count is the lower middle", []float64{1, 2, 3, 4}, 50, 2},
		{"p100 is the maximum", []float64{1, 2, 3, 4}, 100, 4},
		{"p99 of 30 samples is the maximum", make30(), 99, 30},
		{"p90 of 30 samples is the 27th", make30(), 90, 27},
		{"p99 of 100 samples is the 99th", hundred, 99, 99},
		{"p50 of 100 samples is the 50th", hundred, 50, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
	if got := percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("percentile of no samples = %v, want NaN", got)
	}
}

func make30() []float64 {
	s := make([]float64, 30)
	for i := range s {
		s[i] = float64(i + 1)
	}
	return s
}

func TestSummarizeDoesNotReorderItsInput(t *testing.T) {
	in := []float64{5, 1, 4, 2, 3}
	got := summarize(in)
	want := Summary{N: 5, Min: 1, P50: 3, P90: 5, P99: 5, Max: 5, Mean: 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{5, 1, 4, 2, 3}, in); diff != "" {
		t.Errorf("input changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Summary{}, summarize(nil)); diff != "" {
		t.Errorf("summary of nothing (-want +got):\n%s", diff)
	}
}

func TestSummarizeDurationsIsInMilliseconds(t *testing.T) {
	got := summarizeDurations([]time.Duration{1500 * time.Microsecond, 2 * time.Millisecond})
	if got.Min != 1.5 || got.Max != 2 || got.Mean != 1.75 {
		t.Errorf("got %+v, want min 1.5 ms, max 2 ms, mean 1.75 ms", got)
	}
}

func TestRatioWithoutReferenceIsZero(t *testing.T) {
	for _, tt := range []struct{ a, b, want float64 }{
		{3, 2, 1.5}, {1, 0, 0}, {1, -1, 0}, {math.NaN(), 1, 0}, {1, math.NaN(), 0},
	} {
		if got := ratio(tt.a, tt.b); got != tt.want {
			t.Errorf("ratio(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
