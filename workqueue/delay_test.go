package workqueue

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// waitDelayLoopIdle waits until the delay loop has seen every change and sleeps on a timer for
// the earliest waiting item (or on nothing when none waits), so that a negative check after it
// is meaningful rather than early.
func waitDelayLoopIdle(t *testing.T, q *Queue[string], clock *FakeClock) {
	t.Helper()
	waitFor(t, "the delay loop to settle", func() bool {
		q.mu.Lock()
		pending := len(q.waiting)
		q.mu.Unlock()
		want := 0
		if pending > 0 {
			want = 1
		}
		return len(q.wake) == 0 && clock.Waiters() == want
	})
}

func TestAddAfter(t *testing.T) {
	type addAfter struct {
		item  string
		delay time.Duration
	}
	type step struct {
		advance time.Duration
		want    []string // items ready after the advance, in order
	}
	tests := []struct {
		name  string
		adds  []addAfter
		steps []step
	}{
		{
			name:  "zero delay adds now",
			adds:  []addAfter{{"a", 0}},
			steps: []step{{0, []string{"a"}}},
		},
		{
			name:  "negative delay adds now",
			adds:  []addAfter{{"a", -time.Second}},
			steps: []step{{0, []string{"a"}}},
		},
		{
			name:  "waits exactly the delay",
			adds:  []addAfter{{"a", time.Second}},
			steps: []step{{0, nil}, {999 * time.Millisecond, nil}, {time.Millisecond, []string{"a"}}},
		},
		{
			name:  "a duplicate with an earlier time moves the item forward",
			adds:  []addAfter{{"a", 10 * time.Second}, {"a", time.Second}},
			steps: []step{{time.Second, []string{"a"}}, {time.Hour, nil}},
		},
		{
			name:  "a duplicate with a later time keeps the earlier one",
			adds:  []addAfter{{"a", time.Second}, {"a", 10 * time.Second}},
			steps: []step{{time.Second, []string{"a"}}, {time.Hour, nil}},
		},
		{
			name:  "items become ready in time order",
			adds:  []addAfter{{"a", 3 * time.Second}, {"b", time.Second}, {"c", 2 * time.Second}},
			steps: []step{{3 * time.Second, []string{"b", "c", "a"}}},
		},
		{
			name:  "each item becomes ready at its own time",
			adds:  []addAfter{{"a", 2 * time.Second}, {"b", time.Second}},
			steps: []step{{time.Second, []string{"b"}}, {time.Second, []string{"a"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, clock := newTestQueue(t, Config[string]{})
			for _, a := range tt.adds {
				q.AddAfter(a.item, a.delay)
				checkInvariants(t, q)
			}
			for i, s := range tt.steps {
				waitDelayLoopIdle(t, q, clock)
				clock.Step(s.advance)
				if len(s.want) > 0 {
					waitFor(t, "delayed items", func() bool { return q.Len() == len(s.want) })
				}
				waitDelayLoopIdle(t, q, clock)
				checkSlice(t, fmt.Sprintf("step %d: ready items", i), s.want, drainReady(t, q))
			}
		})
	}
}

// An item that is already queued is not queued twice when its delayed add comes due.
func TestAddAfterOfQueuedItemDeliversOnce(t *testing.T) {
	q, clock := newTestQueue(t, Config[string]{})
	q.AddAfter("a", time.Second)
	q.Add("a")
	waitDelayLoopIdle(t, q, clock)
	clock.Step(time.Second)
	waitDelayLoopIdle(t, q, clock)
	checkInvariants(t, q)
	checkSlice(t, "delivered items", []string{"a"}, drainReady(t, q))
}

// The delay and metrics goroutines of every queue exit on shutdown, whether they sleep on a fake
// or a real timer.
func TestShutDownStopsBackgroundGoroutines(t *testing.T) {
	const queues = 20
	before := runtime.NumGoroutine()
	var qs []*Queue[string]
	for i := range queues {
		cfg := Config[string]{Name: "leak", MetricsProvider: newRecordingProvider()}
		if i%2 == 0 {
			cfg.Clock = NewFakeClock(epoch)
		} // odd queues use the real clock
		q := New(cfg)
		q.AddAfter("a", time.Hour)
		qs = append(qs, q)
	}
	// Two goroutines per queue; allow for unrelated goroutines ending meanwhile.
	if n := runtime.NumGoroutine(); n < before+queues*3/2 {
		t.Fatalf("%d goroutines running with %d queues, started from %d: queues start fewer than expected", n, queues, before)
	}
	for _, q := range qs {
		q.ShutDown()
	}
	waitFor(t, "background goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}

// jumpingClock moves time forward by the requested delay just before arming a timer: the worst
// case of time passing between the delay loop reading the clock and arming its timer.
type jumpingClock struct {
	*FakeClock
	jumps atomic.Int32
}

func (c *jumpingClock) NewTimer(d time.Duration) Timer {
	if c.jumps.Add(-1) >= 0 {
		c.FakeClock.Step(d)
	}
	return c.FakeClock.NewTimer(d)
}

// A deadline that passes while the delay loop arms its timer must not wait for another timer.
func TestAddAfterWhenTimeJumpsWhileArming(t *testing.T) {
	clock := &jumpingClock{FakeClock: NewFakeClock(epoch)}
	q := New(Config[string]{Clock: clock})
	defer q.ShutDown()
	// Park the loop on a far timer first, so that the next add is seen through a wake-up that
	// leaves nothing else pending to rescue a wrongly armed timer.
	q.AddAfter("far", time.Hour)
	waitDelayLoopIdle(t, q, clock.FakeClock)
	clock.jumps.Store(1)
	q.AddAfter("a", time.Second)
	waitFor(t, "the item whose deadline passed", func() bool { return q.Len() == 1 })
}
