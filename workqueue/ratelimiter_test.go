package workqueue

import (
	"math"
	"testing"
	"time"
)

func whens(r RateLimiter[string], item string, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = r.When(item)
	}
	return out
}

func TestItemExponentialFailureRateLimiter(t *testing.T) {
	tests := []struct {
		name      string
		base, max time.Duration
		want      []time.Duration
	}{
		{
			name: "doubles from base",
			base: 5 * time.Millisecond, max: 1000 * time.Second,
			want: []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond},
		},
		{
			name: "capped at max",
			base: time.Second, max: 10 * time.Second,
			want: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second},
		},
		{
			name: "base at max",
			base: time.Second, max: time.Second,
			want: []time.Duration{time.Second, time.Second},
		},
		{
			name: "base above max is capped",
			base: time.Minute, max: time.Second,
			want: []time.Duration{time.Second, time.Second},
		},
		{
			name: "non-positive base never waits",
			base: 0, max: time.Second,
			want: []time.Duration{0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewItemExponentialFailureRateLimiter[string](tt.base, tt.max)
			checkSlice(t, "When sequence", tt.want, whens(r, "a", len(tt.want)))
			if got := r.NumRequeues("a"); got != len(tt.want) {
				t.Errorf("NumRequeues = %d, want %d", got, len(tt.want))
			}
			if got := r.NumRequeues("b"); got != 0 {
				t.Errorf("NumRequeues of an untouched item = %d, want 0", got)
			}
			r.Forget("a")
			if got := r.NumRequeues("a"); got != 0 {
				t.Errorf("NumRequeues after Forget = %d, want 0", got)
			}
			checkSlice(t, "When after Forget", tt.want[:1], whens(r, "a", 1))
		})
	}
}

func TestItemExponentialFailureRateLimiterTracksItemsApart(t *testing.T) {
	r := NewItemExponentialFailureRateLimiter[string](time.Millisecond, time.Second)
	whens(r, "a", 5)
	if got := r.When("b"); got != time.Millisecond {
		t.Errorf("first When of b after a failed 5 times = %v, want 1ms", got)
	}
}

// However many failures pile up, the backoff stays positive, never shrinks and lands on max.
func TestItemExponentialFailureRateLimiterCannotOverflow(t *testing.T) {
	tests := []struct {
		name      string
		base, max time.Duration
	}{
		{name: "default controller range", base: 5 * time.Millisecond, max: 1000 * time.Second},
		{name: "smallest base, largest max", base: time.Nanosecond, max: math.MaxInt64},
		{name: "large base", base: time.Duration(math.MaxInt64 / 3), max: math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewItemExponentialFailureRateLimiter[string](tt.base, tt.max)
			prev := time.Duration(0)
			for i := range 1000 {
				d := r.When("a")
				if d < prev || d > tt.max {
					t.Fatalf("failure %d: backoff %v after %v, max %v", i, d, prev, tt.max)
				}
				prev = d
			}
			if prev != tt.max {
				t.Errorf("backoff after 1000 failures = %v, want max %v", prev, tt.max)
			}
		})
	}
}

func TestExponentialBackoffHugeExponent(t *testing.T) {
	for _, n := range []int{63, 64, 1 << 20, math.MaxInt} {
		if got := exponentialBackoff(time.Nanosecond, time.Hour, n); got != time.Hour {
			t.Errorf("exponentialBackoff(1ns, 1h, %d) = %v, want 1h", n, got)
		}
	}
}

func TestBucketRateLimiter(t *testing.T) {
	type call struct {
		advance time.Duration // fake time passed before this When
		want    time.Duration
	}
	tests := []struct {
		name  string
		qps   float64
		burst int
		calls []call
	}{
		{
			name: "burst goes through, then one per 1/qps",
			qps:  10, burst: 3,
			calls: []call{{0, 0}, {0, 0}, {0, 0}, {0, 100 * time.Millisecond}, {0, 200 * time.Millisecond}, {0, 300 * time.Millisecond}},
		},
		{
			name: "waiting earns tokens back, reserved ones included",
			qps:  10, burst: 3,
			calls: []call{{0, 0}, {0, 0}, {0, 0}, {0, 100 * time.Millisecond}, {0, 200 * time.Millisecond}, {200 * time.Millisecond, 100 * time.Millisecond}},
		},
		{
			name: "idle time refills no more than burst",
			qps:  10, burst: 2,
			calls: []call{{0, 0}, {time.Hour, 0}, {0, 0}, {0, 100 * time.Millisecond}},
		},
		{
			name: "a burst of one spaces every call",
			qps:  2, burst: 1,
			calls: []call{{0, 0}, {0, 500 * time.Millisecond}, {0, time.Second}, {time.Second, 500 * time.Millisecond}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewFakeClock(epoch)
			r := NewBucketRateLimiter[string](tt.qps, tt.burst, clock)
			for i, c := range tt.calls {
				clock.Step(c.advance)
				if got := r.When("item"); got != c.want {
					t.Errorf("call %d: When = %v, want %v", i, got, c.want)
				}
			}
		})
	}
}

// The bucket is shared: distinct items draw on the same tokens, so however many keys fail at
// once, retries start at no more than burst now plus qps per second after.
func TestBucketRateLimiterBoundsTotalRate(t *testing.T) {
	const qps, burst, calls = 10, 100, 1000
	r := NewBucketRateLimiter[int](qps, burst, NewFakeClock(epoch))
	for i := range calls {
		want := time.Duration(0)
		if i >= burst {
			want = time.Duration(i-burst+1) * time.Second / qps
		}
		if got := r.When(i); got != want {
			t.Fatalf("When of item %d = %v, want %v", i, got, want)
		}
	}
	r.Forget(0)
	if n := r.NumRequeues(0); n != 0 {
		t.Errorf("NumRequeues = %d, want 0: the bucket keeps no per-item state", n)
	}
}

func TestBucketRateLimiterRejectsUselessSettings(t *testing.T) {
	tests := []struct {
		name  string
		qps   float64
		burst int
	}{
		{"zero qps", 0, 1},
		{"negative qps", -1, 1},
		{"NaN qps", math.NaN(), 1},
		{"zero burst", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			NewBucketRateLimiter[string](tt.qps, tt.burst, NewFakeClock(epoch))
		})
	}
}

func TestMaxOfRateLimiter(t *testing.T) {
	clock := NewFakeClock(epoch)
	r := NewMaxOfRateLimiter(
		NewItemExponentialFailureRateLimiter[string](time.Millisecond, time.Minute),
		NewBucketRateLimiter[string](1, 2, clock),
	)
	want := []time.Duration{time.Millisecond, 2 * time.Millisecond, time.Second, 2 * time.Second}
	checkSlice(t, "When sequence", want, whens(r, "a", len(want)))
	if n := r.NumRequeues("a"); n != len(want) {
		t.Errorf("NumRequeues = %d, want %d", n, len(want))
	}
	r.Forget("a")
	if n := r.NumRequeues("a"); n != 0 {
		t.Errorf("NumRequeues after Forget = %d, want 0", n)
	}
}

func TestDefaultControllerRateLimiter(t *testing.T) {
	r := DefaultControllerRateLimiter[int](NewFakeClock(epoch))
	for i := range 100 {
		if got := r.When(i); got != 5*time.Millisecond {
			t.Fatalf("first failure of item %d waits %v, want 5ms", i, got)
		}
	}
	if got := r.When(100); got != 100*time.Millisecond {
		t.Errorf("101st failure at once waits %v, want 100ms from the bucket", got)
	}
	per := NewItemExponentialFailureRateLimiter[int](5*time.Millisecond, 1000*time.Second)
	for range 1000 {
		per.When(0)
	}
	if got := per.When(0); got != 1000*time.Second {
		t.Errorf("per-item cap = %v, want 1000s", got)
	}
}

func TestQueueAddRateLimited(t *testing.T) {
	q, clock := newTestQueue(t, Config[string]{
		RateLimiter: NewItemExponentialFailureRateLimiter[string](time.Second, time.Minute),
	})
	q.AddRateLimited("a")
	q.AddRateLimited("a") // 2s: the earlier 1s wait wins
	if n := q.NumRequeues("a"); n != 2 {
		t.Fatalf("NumRequeues = %d, want 2", n)
	}
	waitDelayLoopIdle(t, q, clock)
	if n := q.Len(); n != 0 {
		t.Fatalf("Len before the backoff = %d, want 0", n)
	}
	clock.Step(time.Second)
	waitFor(t, "the retry", func() bool { return q.Len() == 1 })
	getReady(t, q)
	q.Forget("a")
	q.Done("a")
	if n := q.NumRequeues("a"); n != 0 {
		t.Errorf("NumRequeues after Forget = %d, want 0", n)
	}
}

func TestQueueDefaultsToControllerRateLimiter(t *testing.T) {
	q, clock := newTestQueue(t, Config[string]{})
	q.AddRateLimited("a")
	waitDelayLoopIdle(t, q, clock)
	clock.Step(4 * time.Millisecond)
	waitDelayLoopIdle(t, q, clock)
	if n := q.Len(); n != 0 {
		t.Fatalf("Len 4ms after the first failure = %d, want 0", n)
	}
	clock.Step(time.Millisecond)
	waitFor(t, "the retry after 5ms", func() bool { return q.Len() == 1 })
}
