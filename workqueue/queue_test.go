package workqueue

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// epoch is where every fake clock in these tests starts.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// newTestQueue returns a queue on a fresh fake clock that is shut down when the test ends.
func newTestQueue(t *testing.T, cfg Config[string]) (*Queue[string], *FakeClock) {
	t.Helper()
	clock := NewFakeClock(epoch)
	if cfg.Clock == nil {
		cfg.Clock = clock
	}
	q := New(cfg)
	t.Cleanup(q.ShutDown)
	return q, clock
}

// waitFor polls cond until it holds, for hand-offs to goroutines whose progress a test cannot
// observe directly. It never stands in for the passing of time: that is the fake clock's job.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// checkInvariants fails the test if the queue's bookkeeping is inconsistent: every queued item
// is dirty, not processing, and queued once; every waiting entry is indexed where it sits.
func checkInvariants[T comparable](t *testing.T, q *Queue[T]) {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	seen := map[T]bool{}
	for _, item := range q.queue {
		if seen[item] {
			t.Errorf("item %v queued twice", item)
		}
		seen[item] = true
		if _, ok := q.dirty[item]; !ok {
			t.Errorf("queued item %v is not dirty", item)
		}
		if _, ok := q.processing[item]; ok {
			t.Errorf("queued item %v is also processing", item)
		}
	}
	if len(q.waiting) != len(q.waitingByItem) {
		t.Errorf("waiting heap has %d entries, index has %d", len(q.waiting), len(q.waitingByItem))
	}
	for i, e := range q.waiting {
		if e.index != i || q.waitingByItem[e.item] != e {
			t.Errorf("waiting entry %v at %d is indexed as %d", e.item, i, e.index)
		}
	}
}

// checkSlice reports a mismatch between two sequences with a readable message.
func checkSlice[E comparable](t *testing.T, what string, want, got []E) {
	t.Helper()
	if !slices.Equal(want, got) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// getReady takes the next item, failing instead of blocking when nothing is queued.
func getReady(t *testing.T, q *Queue[string]) string {
	t.Helper()
	if q.Len() == 0 {
		t.Fatal("Get would block: nothing queued")
	}
	item, shutdown := q.Get()
	if shutdown {
		t.Fatal("Get reported shutdown with items queued")
	}
	checkInvariants(t, q)
	return item
}

// drainReady takes and finishes every queued item, in order.
func drainReady(t *testing.T, q *Queue[string]) []string {
	t.Helper()
	var got []string
	for q.Len() > 0 {
		item := getReady(t, q)
		got = append(got, item)
		q.Done(item)
	}
	return got
}

// getAsync runs Get on another goroutine and delivers its result.
type getResult struct {
	item     string
	shutdown bool
}

func getAsync(q *Queue[string]) <-chan getResult {
	ch := make(chan getResult, 1)
	go func() {
		item, shutdown := q.Get()
		ch <- getResult{item, shutdown}
	}()
	return ch
}

func receive(t *testing.T, ch <-chan getResult) getResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Get did not return")
		return getResult{}
	}
}

func parkedGetters(q *Queue[string]) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.getWaiters
}

func TestAddDeduplicatesQueuedItems(t *testing.T) {
	tests := []struct {
		name string
		adds []string
		want []string
	}{
		{name: "distinct items keep their order", adds: []string{"a", "b", "c"}, want: []string{"a", "b", "c"}},
		{name: "a repeated add keeps the first position", adds: []string{"a", "b", "a", "c", "b"}, want: []string{"a", "b", "c"}},
		{name: "many adds of one item deliver it once", adds: repeat("a", 100), want: []string{"a"}},
		{name: "nothing added", adds: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := newTestQueue(t, Config[string]{})
			for _, item := range tt.adds {
				q.Add(item)
				checkInvariants(t, q)
			}
			checkSlice(t, "delivered items", tt.want, drainReady(t, q))
		})
	}
}

func repeat(item string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = item
	}
	return out
}

// An add while the item is processing must not hand it to a second worker, and must deliver it
// exactly once more, only after Done.
func TestAddWhileProcessingRedeliversOnceAfterDone(t *testing.T) {
	q, _ := newTestQueue(t, Config[string]{})
	q.Add("a")
	if got := getReady(t, q); got != "a" {
		t.Fatalf("Get = %q, want a", got)
	}

	waiter := getAsync(q)
	waitFor(t, "a parked Get", func() bool { return parkedGetters(q) == 1 })
	for range 3 {
		q.Add("a")
		checkInvariants(t, q)
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("Len while a is processing = %d, want 0", n)
	}
	select {
	case r := <-waiter:
		t.Fatalf("second worker got %+v while a was processing", r)
	default:
	}

	q.Done("a")
	if r := receive(t, waiter); r != (getResult{item: "a"}) {
		t.Fatalf("Get after Done = %+v, want a", r)
	}
	checkInvariants(t, q)
	q.Done("a")
	if n := q.Len(); n != 0 {
		t.Fatalf("Len after second Done = %d, want 0: a was delivered more than once more", n)
	}
}

func TestDoneOfUnknownItemIsIgnored(t *testing.T) {
	q, _ := newTestQueue(t, Config[string]{})
	q.Add("a")
	q.Done("a") // queued, not processing
	q.Done("b") // never added
	checkInvariants(t, q)
	checkSlice(t, "delivered items", []string{"a"}, drainReady(t, q))
}

// Get parks on the condition variable (it does not poll) until an item arrives or the queue
// shuts down, and reports shutdown only when nothing is left.
func TestGetBlocksUntilAddOrShutDown(t *testing.T) {
	q, _ := newTestQueue(t, Config[string]{})

	waiter := getAsync(q)
	waitFor(t, "a parked Get", func() bool { return parkedGetters(q) == 1 })
	select {
	case r := <-waiter:
		t.Fatalf("Get returned %+v from an empty queue", r)
	default:
	}
	q.Add("a")
	if r := receive(t, waiter); r != (getResult{item: "a"}) {
		t.Fatalf("Get = %+v, want a", r)
	}

	waiter = getAsync(q)
	waitFor(t, "a parked Get", func() bool { return parkedGetters(q) == 1 })
	q.ShutDown()
	if r := receive(t, waiter); !r.shutdown {
		t.Fatalf("Get after ShutDown = %+v, want shutdown", r)
	}
	if _, shutdown := q.Get(); !shutdown {
		t.Fatal("Get on a shut-down empty queue did not report shutdown")
	}
}

func TestShutDown(t *testing.T) {
	tests := []struct {
		name string
		// before runs before ShutDown, after runs after it.
		before, after func(q *Queue[string])
		want          []string
	}{
		{
			name:   "queued items still drain",
			before: func(q *Queue[string]) { q.Add("a"); q.Add("b") },
			want:   []string{"a", "b"},
		},
		{
			name:   "adds after shutdown are ignored",
			before: func(q *Queue[string]) { q.Add("a") },
			after: func(q *Queue[string]) {
				q.Add("b")
				q.AddAfter("c", 0)
				q.AddAfter("d", time.Second)
				q.AddRateLimited("e")
			},
			want: []string{"a"},
		},
		{
			name: "an item added while processing is still delivered after Done",
			before: func(q *Queue[string]) {
				q.Add("a")
				q.Get()
				q.Add("a")
			},
			after: func(q *Queue[string]) { q.Done("a") },
			want:  []string{"a"},
		},
		{
			name:   "delayed items are dropped",
			before: func(q *Queue[string]) { q.AddAfter("a", time.Second) },
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, clock := newTestQueue(t, Config[string]{})
			if tt.before != nil {
				tt.before(q)
			}
			if q.ShuttingDown() {
				t.Fatal("ShuttingDown before ShutDown")
			}
			q.ShutDown()
			if !q.ShuttingDown() {
				t.Fatal("not ShuttingDown after ShutDown")
			}
			if tt.after != nil {
				tt.after(q)
			}
			clock.Step(time.Hour)
			checkInvariants(t, q)
			checkSlice(t, "delivered items", tt.want, drainReady(t, q))
			if _, shutdown := q.Get(); !shutdown {
				t.Error("Get on a drained queue did not report shutdown")
			}
			if n := q.NumRequeues("e"); n != 0 {
				t.Errorf("AddRateLimited after shutdown recorded %d failures", n)
			}
		})
	}
}

func TestShutDownWithDrain(t *testing.T) {
	tests := []struct {
		name     string
		inFlight []string
		// release ends the wait; finishedEarly lists items Done before the wait must end.
		finishedEarly []string
		release       func(q *Queue[string])
	}{
		{
			name:    "returns at once with nothing in flight",
			release: func(*Queue[string]) {},
		},
		{
			name:          "waits for every in-flight item",
			inFlight:      []string{"a", "b"},
			finishedEarly: []string{"a"},
			release:       func(q *Queue[string]) { q.Done("b") },
		},
		{
			name:     "a later ShutDown forces it to return",
			inFlight: []string{"a"},
			release:  func(q *Queue[string]) { q.ShutDown() },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := newTestQueue(t, Config[string]{})
			for _, item := range tt.inFlight {
				q.Add(item)
				getReady(t, q)
			}
			drained := make(chan struct{})
			go func() {
				q.ShutDownWithDrain()
				close(drained)
			}()
			// ShutDownWithDrain holds the lock from marking the queue until it parks, so once
			// ShuttingDown is observed it is either parked or finished.
			waitFor(t, "shutdown to start", q.ShuttingDown)
			if len(tt.inFlight) > 0 {
				for _, item := range tt.finishedEarly {
					q.Done(item)
				}
				select {
				case <-drained:
					t.Fatal("ShutDownWithDrain returned with items in flight")
				default:
				}
			}
			tt.release(q)
			select {
			case <-drained:
			case <-time.After(10 * time.Second):
				t.Fatal("ShutDownWithDrain did not return")
			}
		})
	}
}

func TestItemsOfAnyComparableType(t *testing.T) {
	type key struct{ namespace, name string }
	q := New(Config[key]{Clock: NewFakeClock(epoch)})
	defer q.ShutDown()
	q.Add(key{"ns", "a"})
	q.Add(key{"ns", "a"})
	q.Add(key{"ns", "b"})
	var got []string
	for q.Len() > 0 {
		k, _ := q.Get()
		got = append(got, fmt.Sprintf("%s/%s", k.namespace, k.name))
		q.Done(k)
	}
	checkSlice(t, "delivered items", []string{"ns/a", "ns/b"}, got)
}
