package workqueue

import (
	"slices"
	"sync"
	"time"
)

// FakeClock is a Clock whose time moves only when a test calls Step or SetTime, which makes
// tests of delays, backoff and metrics exact and free of sleeps. It is exported so that the
// controller's tests can drive their queues the same way. It is safe for concurrent use.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer // armed and not yet fired or stopped
}

var _ Clock = (*FakeClock)(nil)

// NewFakeClock returns a FakeClock that reads now until it is moved.
func NewFakeClock(now time.Time) *FakeClock {
	return &FakeClock{now: now}
}

// Now returns the fake current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Since returns the fake time elapsed since t.
func (c *FakeClock) Since(t time.Time) time.Duration {
	return c.Now().Sub(t)
}

// NewTimer returns a timer that fires once the fake time reaches d from now.
func (c *FakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The buffer of one lets Step fire a timer without blocking on a reader that may be gone.
	t := &fakeTimer{clock: c, deadline: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// Step moves the fake time forward by d and fires every timer whose deadline has passed.
func (c *FakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fireLocked()
}

// SetTime moves the fake time to t and fires every timer whose deadline has passed.
func (c *FakeClock) SetTime(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	c.fireLocked()
}

// Waiters reports how many timers are armed. A test waits for a goroutine to arm its timer
// before stepping, so that the step is not lost to a timer armed a moment later.
func (c *FakeClock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func (c *FakeClock) fireLocked() {
	c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool {
		if t.deadline.After(c.now) {
			return false
		}
		t.ch <- c.now // never blocks: a timer leaves the list when it fires, so it sends once
		return true
	})
}

type fakeTimer struct {
	clock    *FakeClock
	deadline time.Time
	ch       chan time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.timers, t)
	if i < 0 {
		return false
	}
	c.timers = slices.Delete(c.timers, i, i+1)
	return true
}
