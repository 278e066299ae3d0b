package workqueue

import (
	"math"
	"sync"
	"time"
)

// RateLimiter decides how long a failed item waits before it is retried. Implementations must
// be safe for concurrent use: every worker calls them.
type RateLimiter[T comparable] interface {
	// When records a failure of item and returns how long to wait before retrying it.
	When(item T) time.Duration
	// Forget clears item's failures after it succeeds.
	Forget(item T)
	// NumRequeues reports the failures recorded for item since it was last forgotten.
	NumRequeues(item T) int
}

// NewItemExponentialFailureRateLimiter returns a per-item limiter that waits base*2^n after the
// n-th consecutive failure (counting from zero), capped at max. A key that keeps failing backs
// off quickly without slowing the others. A non-positive base never waits.
func NewItemExponentialFailureRateLimiter[T comparable](base, max time.Duration) RateLimiter[T] {
	return &itemExponentialFailureRateLimiter[T]{base: base, max: max, failures: map[T]int{}}
}

type itemExponentialFailureRateLimiter[T comparable] struct {
	base, max time.Duration

	mu       sync.Mutex
	failures map[T]int
}

func (r *itemExponentialFailureRateLimiter[T]) When(item T) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.failures[item]
	r.failures[item] = n + 1
	return exponentialBackoff(r.base, r.max, n)
}

// exponentialBackoff returns base*2^n capped at max. It doubles in integer steps and stops as
// soon as the next doubling would pass max, so it cannot overflow however large n grows, and it
// does at most 63 doublings.
func exponentialBackoff(base, max time.Duration, n int) time.Duration {
	if base <= 0 {
		return 0
	}
	if base >= max {
		return max
	}
	d := base
	for ; n > 0; n-- {
		if d > max/2 {
			return max
		}
		d *= 2
	}
	return d
}

func (r *itemExponentialFailureRateLimiter[T]) Forget(item T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.failures, item)
}

func (r *itemExponentialFailureRateLimiter[T]) NumRequeues(item T) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures[item]
}

// NewBucketRateLimiter returns a limiter shared by all items that lets burst retries through at
// once and then one every 1/qps, so a storm of failures cannot hammer the API server or the
// proxies however many keys fail. It keeps no per-item state. It panics unless qps > 0 and
// burst >= 1, because either would stop all retries for good.
func NewBucketRateLimiter[T comparable](qps float64, burst int, clock Clock) RateLimiter[T] {
	if !(qps > 0) || burst < 1 {
		panic("workqueue: NewBucketRateLimiter needs qps > 0 and burst >= 1")
	}
	if clock == nil {
		clock = RealClock()
	}
	interval := time.Duration(math.Round(float64(time.Second) / qps))
	capacity := time.Duration(math.MaxInt64)
	if interval > 0 && int64(burst) <= math.MaxInt64/int64(interval) {
		capacity = time.Duration(burst) * interval
	}
	return &bucketRateLimiter[T]{clock: clock, interval: interval, capacity: capacity}
}

// bucketRateLimiter is a token bucket kept as the time at which the tokens handed out so far
// will have been earned back ("spentUntil"). Each When spends one token by moving that time one
// interval later; the caller waits for whatever part of it lies beyond the bucket's capacity.
// Working in time rather than fractional tokens keeps the arithmetic exact.
type bucketRateLimiter[T comparable] struct {
	clock    Clock
	interval time.Duration // time to earn one token
	capacity time.Duration // burst * interval: how far ahead of now tokens may be spent

	mu         sync.Mutex
	spentUntil time.Time
}

func (r *bucketRateLimiter[T]) When(T) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	if r.spentUntil.Before(now) {
		r.spentUntil = now // a full bucket: idle time earns no more than burst tokens
	}
	r.spentUntil = r.spentUntil.Add(r.interval)
	return max(r.spentUntil.Sub(now)-r.capacity, 0)
}

// Forget does nothing: the bucket limits all items together, not one item's failures.
func (r *bucketRateLimiter[T]) Forget(T) {}

// NumRequeues is always zero, for the same reason.
func (r *bucketRateLimiter[T]) NumRequeues(T) int { return 0 }

// NewMaxOfRateLimiter returns a limiter that waits as long as the slowest of limiters; each of
// them records every failure. It combines a per-item backoff with a global bucket.
func NewMaxOfRateLimiter[T comparable](limiters ...RateLimiter[T]) RateLimiter[T] {
	return maxOfRateLimiter[T](limiters)
}

type maxOfRateLimiter[T comparable] []RateLimiter[T]

func (r maxOfRateLimiter[T]) When(item T) time.Duration {
	var d time.Duration
	for _, l := range r {
		d = max(d, l.When(item))
	}
	return d
}

func (r maxOfRateLimiter[T]) Forget(item T) {
	for _, l := range r {
		l.Forget(item)
	}
}

func (r maxOfRateLimiter[T]) NumRequeues(item T) int {
	var n int
	for _, l := range r {
		n = max(n, l.NumRequeues(item))
	}
	return n
}

// DefaultControllerRateLimiter returns the limiter a controller uses unless told otherwise: a
// per-item backoff from 5ms to 1000s, bounded overall by 10 retries a second with bursts of 100.
func DefaultControllerRateLimiter[T comparable](clock Clock) RateLimiter[T] {
	return NewMaxOfRateLimiter(
		NewItemExponentialFailureRateLimiter[T](5*time.Millisecond, 1000*time.Second),
		NewBucketRateLimiter[T](10, 100, clock),
	)
}
