package workqueue

import (
	"container/heap"
	"time"
)

// AddAfter adds item once d has passed; d <= 0 adds it now. If item is already waiting, the
// earlier of the two ready times wins, so a pending retry is never pushed back by a later one.
// Delayed items that are not ready at shutdown are dropped.
func (q *Queue[T]) AddAfter(item T, d time.Duration) {
	if d <= 0 {
		q.Add(item)
		return
	}
	// The ready time is fixed here, not when the delay loop sees the item, so the delay is
	// measured from the call whatever the loop is doing.
	readyAt := q.clock.Now().Add(d)

	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return
	}
	e, ok := q.waitingByItem[item]
	switch {
	case !ok:
		e = &waitEntry[T]{item: item, readyAt: readyAt}
		heap.Push(&q.waiting, e)
		q.waitingByItem[item] = e
	case readyAt.Before(e.readyAt):
		e.readyAt = readyAt
		heap.Fix(&q.waiting, e.index)
	default:
		return
	}
	if q.waiting[0] == e {
		// The loop may be sleeping until a later deadline.
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// runDelayLoop moves waiting items to the queue as they become ready. One goroutine serves all
// delayed items, sleeping until the earliest one; it exits on shutdown.
func (q *Queue[T]) runDelayLoop() {
	for {
		q.mu.Lock()
		if q.shuttingDown {
			q.mu.Unlock()
			return
		}
		next, pending := q.releaseReadyLocked(q.clock.Now())
		q.mu.Unlock()

		var timer Timer
		var fired <-chan time.Time
		if pending {
			timer = q.clock.NewTimer(-q.clock.Since(next))
			// Time may have moved between reading it and arming the timer (a fake clock can jump
			// past the deadline then); the timer would wait too long, so look again at once.
			if !q.clock.Now().Before(next) {
				timer.Stop()
				continue
			}
			fired = timer.C()
		}
		select {
		case <-q.stop:
		case <-q.wake:
		case <-fired:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// releaseReadyLocked queues every waiting item whose time has come and reports the ready time of
// the earliest item still waiting, if any.
func (q *Queue[T]) releaseReadyLocked(now time.Time) (next time.Time, pending bool) {
	for len(q.waiting) > 0 {
		e := q.waiting[0]
		if e.readyAt.After(now) {
			return e.readyAt, true
		}
		heap.Pop(&q.waiting)
		delete(q.waitingByItem, e.item)
		q.addLocked(e.item)
	}
	return time.Time{}, false
}

// waitEntry is an item waiting for its ready time; index is its position in the heap, kept so a
// duplicate AddAfter can fix the entry in place.
type waitEntry[T comparable] struct {
	item    T
	readyAt time.Time
	index   int
}

// waitHeap orders waiting items by ready time, earliest first; it implements heap.Interface.
type waitHeap[T comparable] []*waitEntry[T]

func (h waitHeap[T]) Len() int           { return len(h) }
func (h waitHeap[T]) Less(i, j int) bool { return h[i].readyAt.Before(h[j].readyAt) }

func (h waitHeap[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *waitHeap[T]) Push(x any) {
	e := x.(*waitEntry[T])
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *waitHeap[T]) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return e
}
