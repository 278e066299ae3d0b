package workqueue

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// processingTracker watches many consumers from outside the queue: it catches a key held by two
// consumers at once and, through one global sequence, whether the last add of every key came
// before that key's last processing start (else an add was lost).
type processingTracker struct {
	mu        sync.Mutex
	seq       int
	active    map[int]bool
	lastAdd   map[int]int
	lastStart map[int]int
	overlaps  []string
}

func newProcessingTracker() *processingTracker {
	return &processingTracker{active: map[int]bool{}, lastAdd: map[int]int{}, lastStart: map[int]int{}}
}

// noteAdd is called just before Add: an add recorded here must be followed by a start recorded
// later, which holds even if a consumer takes the key between the two.
func (tr *processingTracker) noteAdd(key int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.seq++
	tr.lastAdd[key] = tr.seq
}

func (tr *processingTracker) start(key, consumer int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.active[key] {
		tr.overlaps = append(tr.overlaps, fmt.Sprintf("consumer %d got key %d while another consumer held it", consumer, key))
	}
	tr.active[key] = true
	tr.seq++
	tr.lastStart[key] = tr.seq
}

func (tr *processingTracker) finish(key int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.active[key] = false
}

func TestManyProducersAndConsumers(t *testing.T) {
	const (
		producers       = 8
		consumers       = 8
		keys            = 32
		addsPerProducer = 2000
	)
	q := New(Config[int]{})
	tr := newProcessingTracker()

	var consumersDone sync.WaitGroup
	for c := range consumers {
		consumersDone.Go(func() {
			for {
				key, shutdown := q.Get()
				if shutdown {
					return
				}
				tr.start(key, c)
				runtime.Gosched() // widen the window in which a second consumer could get the key
				tr.finish(key)
				q.Done(key)
			}
		})
	}

	var producersDone sync.WaitGroup
	for p := range producers {
		producersDone.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(p), 0))
			for range addsPerProducer {
				key := rng.IntN(keys)
				tr.noteAdd(key)
				q.Add(key)
				if rng.IntN(16) == 0 {
					runtime.Gosched()
				}
			}
		})
	}

	producersDone.Wait()
	q.ShutDownWithDrain()
	consumersDone.Wait()

	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, o := range tr.overlaps {
		t.Error(o)
	}
	for key, added := range tr.lastAdd {
		if started := tr.lastStart[key]; started < added {
			t.Errorf("key %d: last added at step %d but last processing started at step %d: an add was lost", key, added, started)
		}
	}
	if len(tr.lastAdd) != keys {
		t.Errorf("producers touched %d keys, want %d", len(tr.lastAdd), keys)
	}
	if n := q.Len(); n != 0 {
		t.Errorf("Len after drain = %d, want 0", n)
	}
}
