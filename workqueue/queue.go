package workqueue

import (
	"sync"
	"time"
)

// Config tunes a Queue. The zero value is a working queue: real clock, default controller rate
// limiter, no metrics.
type Config[T comparable] struct {
	// Name labels the queue's metrics. Empty turns metrics off even when MetricsProvider is set,
	// because unlabelled series from several queues would be indistinguishable.
	Name string
	// Clock drives delays, rate limiting and metrics; nil means RealClock().
	Clock Clock
	// RateLimiter decides how long AddRateLimited waits; nil means
	// DefaultControllerRateLimiter built on Clock.
	RateLimiter RateLimiter[T]
	// MetricsProvider receives the queue's metrics; nil means none are recorded.
	MetricsProvider MetricsProvider
}

// Queue is a rate-limited work queue of comparable items, usually "namespace/name" keys.
//
// An item is either queued (waiting for Get), processing (handed out and not yet Done), or both
// in the sense that it was added again while processing: then it is marked dirty and re-queued by
// Done, so a worker never shares an item with another worker and no Add is lost. Adding an item
// that is already queued is a no-op, which collapses bursts of events into one sync.
type Queue[T comparable] struct {
	clock   Clock
	limiter RateLimiter[T]
	metrics *queueMetrics[T] // nil when metrics are off

	mu sync.Mutex
	// itemReady wakes Get when an item is queued or shutdown starts.
	itemReady sync.Cond
	// idle wakes ShutDownWithDrain when processing empties or ShutDown overrides the drain.
	idle sync.Cond
	// queue is the FIFO of items ready for Get; every entry is also in dirty.
	queue []T
	// dirty holds items that need processing: queued ones, and processing ones added again.
	dirty map[T]struct{}
	// processing holds items handed out by Get and not yet Done.
	processing map[T]struct{}
	// waiting holds items added with a delay, earliest first, indexed by waitingByItem so a
	// duplicate delayed add can move an existing entry instead of adding a second one.
	waiting       waitHeap[T]
	waitingByItem map[T]*waitEntry[T]
	shuttingDown  bool
	// drain is set by ShutDownWithDrain and cleared by ShutDown to release it early.
	drain bool
	// getWaiters counts goroutines parked in Get, so tests can see Get blocks on the condition
	// variable rather than polling.
	getWaiters int

	// wake tells the delay loop that the earliest waiting item may have changed; its buffer of
	// one means a producer never blocks and the loop never misses the latest change.
	wake     chan struct{}
	stop     chan struct{} // closed on shutdown; background goroutines exit on it
	stopOnce sync.Once
	// background tracks the delay and metrics goroutines so that shutdown returns only after
	// they have exited.
	background sync.WaitGroup
}

// New returns a running queue. Call ShutDown or ShutDownWithDrain to release its goroutines.
func New[T comparable](cfg Config[T]) *Queue[T] {
	clock := cfg.Clock
	if clock == nil {
		clock = RealClock()
	}
	limiter := cfg.RateLimiter
	if limiter == nil {
		limiter = DefaultControllerRateLimiter[T](clock)
	}
	q := &Queue[T]{
		clock:         clock,
		limiter:       limiter,
		dirty:         map[T]struct{}{},
		processing:    map[T]struct{}{},
		waitingByItem: map[T]*waitEntry[T]{},
		wake:          make(chan struct{}, 1),
		stop:          make(chan struct{}),
	}
	q.itemReady.L = &q.mu
	q.idle.L = &q.mu
	if cfg.Name != "" && cfg.MetricsProvider != nil {
		q.metrics = newQueueMetrics[T](cfg.Name, cfg.MetricsProvider, clock)
	}
	q.background.Go(q.runDelayLoop)
	if q.metrics != nil {
		q.background.Go(q.runMetricsLoop)
	}
	return q
}

// Add marks item as needing processing. It is a no-op if the item is already waiting for Get or
// the queue is shutting down; if the item is processing, it is handed out again after Done.
func (q *Queue[T]) Add(item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(item)
}

func (q *Queue[T]) addLocked(item T) {
	if q.shuttingDown {
		return
	}
	if _, ok := q.dirty[item]; ok {
		return
	}
	q.dirty[item] = struct{}{}
	q.metrics.add(item)
	if _, ok := q.processing[item]; ok {
		return // Done re-queues it; queuing it now would hand it to a second worker
	}
	q.queue = append(q.queue, item)
	q.itemReady.Signal()
}

// Get blocks until an item is ready and hands it to the caller, who must call Done with it.
// shutdown is true only once the queue is shutting down and nothing is left to hand out, so
// workers drain what was queued before they exit.
func (q *Queue[T]) Get() (item T, shutdown bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.shuttingDown {
		q.getWaiters++
		q.itemReady.Wait()
		q.getWaiters--
	}
	if len(q.queue) == 0 {
		return item, true
	}
	item = q.queue[0]
	var zero T
	q.queue[0] = zero // let the backing array release the item
	q.queue = q.queue[1:]
	q.processing[item] = struct{}{}
	delete(q.dirty, item)
	q.metrics.get(item)
	return item, false
}

// Done ends the processing of item. If item was added while it was processing, it is queued
// again now, so the change that caused that add is not missed.
func (q *Queue[T]) Done(item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.processing[item]; !ok {
		return // not handed out: a caller bug, but it must not corrupt the bookkeeping
	}
	delete(q.processing, item)
	q.metrics.done(item)
	if _, ok := q.dirty[item]; ok {
		q.queue = append(q.queue, item)
		q.itemReady.Signal()
	}
	if len(q.processing) == 0 {
		q.idle.Broadcast()
	}
}

// AddRateLimited adds item after the delay its rate limiter asks for, recording a failure.
// Workers call it when a sync fails with an error a retry may fix.
func (q *Queue[T]) AddRateLimited(item T) {
	q.mu.Lock()
	if q.shuttingDown {
		q.mu.Unlock()
		return // the retry would be dropped, so do not count a failure for it either
	}
	q.metrics.retry()
	q.mu.Unlock()
	q.AddAfter(item, q.limiter.When(item))
}

// Forget clears item's failure history once it has been processed successfully, so its next
// failure starts again from the shortest backoff.
func (q *Queue[T]) Forget(item T) {
	q.limiter.Forget(item)
}

// NumRequeues reports how many failures the rate limiter has recorded for item since it was
// last forgotten.
func (q *Queue[T]) NumRequeues(item T) int {
	return q.limiter.NumRequeues(item)
}

// Len reports how many items are queued for Get; delayed and processing items are not counted.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// ShutDown stops the queue: later adds are ignored, delayed items are dropped, and Get returns
// shutdown once the already-queued items are handed out. It does not wait for processing items,
// and it releases a ShutDownWithDrain that is waiting for them.
func (q *Queue[T]) ShutDown() {
	q.mu.Lock()
	q.drain = false
	q.shutDownLocked()
	q.mu.Unlock()
	q.background.Wait()
}

// ShutDownWithDrain stops the queue like ShutDown and then waits until every processing item is
// Done, so a controller can finish in-flight syncs before it exits. A ShutDown from another
// goroutine makes it return without waiting further.
func (q *Queue[T]) ShutDownWithDrain() {
	q.mu.Lock()
	q.drain = true
	q.shutDownLocked()
	for q.drain && len(q.processing) > 0 {
		q.idle.Wait()
	}
	q.mu.Unlock()
	q.background.Wait()
}

func (q *Queue[T]) shutDownLocked() {
	q.shuttingDown = true
	clear(q.waiting)
	q.waiting = q.waiting[:0]
	clear(q.waitingByItem)
	q.itemReady.Broadcast()
	q.idle.Broadcast()
	q.stopOnce.Do(func() { close(q.stop) })
}

// ShuttingDown reports whether ShutDown or ShutDownWithDrain has been called.
func (q *Queue[T]) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shuttingDown
}

// metricsUpdatePeriod is how often the gauges that describe work still in progress are
// refreshed; they change continuously, so they are sampled rather than updated on each event.
const metricsUpdatePeriod = 500 * time.Millisecond

func (q *Queue[T]) runMetricsLoop() {
	for {
		t := q.clock.NewTimer(metricsUpdatePeriod)
		select {
		case <-q.stop:
			t.Stop()
			return
		case <-t.C():
			q.updateUnfinishedWork()
		}
	}
}

// updateUnfinishedWork refreshes the in-progress gauges now; tests call it directly.
func (q *Queue[T]) updateUnfinishedWork() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.metrics.updateUnfinishedWork()
}
