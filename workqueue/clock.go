package workqueue

import "time"

// Clock is the queue's only source of time. Everything time-dependent (delayed adds, the token
// bucket, latency metrics) reads it, so tests can swap in a FakeClock and never sleep.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Since returns the time elapsed since t.
	Since(t time.Time) time.Duration
	// NewTimer returns a one-shot timer that fires d from now; d <= 0 fires at once.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer created by a Clock. It is an interface rather than *time.Timer so
// that a FakeClock can fire it when a test moves time forward.
type Timer interface {
	// C delivers the time once the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing and reports whether this call stopped it.
	Stop() bool
}

// RealClock returns the Clock backed by package time, for production use.
func RealClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time                  { return time.Now() }
func (realClock) Since(t time.Time) time.Duration { return time.Since(t) }
func (realClock) NewTimer(d time.Duration) Timer  { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }
