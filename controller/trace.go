package controller

import (
	"time"

	"k8s.io/klog/v2"

	"github.com/khulnasoft/gateway/workqueue"
)

// syncStage is one stage of a Gateway sync (DESIGN.md §1), plus the managed-Kengine apply
// that runs between translate and render for managed Gateways.
type syncStage int

const (
	stageSnapshot syncStage = iota
	stageTranslate
	stageRender
	stageManaged
	stagePush
	stageStatus
	numStages
)

var stageNames = [numStages]string{"snapshot", "translate", "render", "managed", "push", "status"}

// String is the stage's label value.
func (s syncStage) String() string { return stageNames[s] }

// syncTrace collects what one Gateway sync did, for its metrics and its one log line. A
// stage may run more than once in a sync (a re-render without layer4, an isolation after a
// refusal): its durations add up.
type syncTrace struct {
	clock   workqueue.Clock
	started time.Time
	total   time.Duration
	stages  [numStages]time.Duration
	ran     [numStages]bool
	// bytes is the size of the last config rendered, 0 if none was.
	bytes int
	// version is the last config's version, "" if none was rendered.
	version string
	// pods, ok, unchanged and failed count the pods of the last push and how it went.
	pods, ok, unchanged, failed int
}

func newSyncTrace(clock workqueue.Clock) *syncTrace {
	return &syncTrace{clock: clock, started: clock.Now()}
}

// begin starts timing a stage; call the returned function when the stage ends.
func (t *syncTrace) begin(s syncStage) func() {
	start := t.clock.Now()
	return func() {
		t.stages[s] += t.clock.Since(start)
		t.ran[s] = true
	}
}

// pushed records the outcome of the last push.
func (t *syncTrace) pushed(o pushOutcome) {
	t.pods, t.ok, t.unchanged, t.failed = o.pods, o.ok, o.unchanged, len(o.failed)
}

// finish stops the clock of the whole sync.
func (t *syncTrace) finish() { t.total = t.clock.Since(t.started) }

// log writes the sync's one line at V(2).
func (t *syncTrace) log(logger klog.Logger, result string, err error) {
	kv := []any{"result", result, "duration", t.total}
	for s := range numStages {
		if t.ran[s] {
			kv = append(kv, s.String(), t.stages[s])
		}
	}
	if t.version != "" {
		kv = append(kv, "version", t.version[:min(12, len(t.version))], "bytes", t.bytes)
	}
	kv = append(kv, "pods", t.pods, "podsOK", t.ok, "podsUnchanged", t.unchanged, "podsFailed", t.failed)
	if err != nil {
		kv = append(kv, "err", err)
	}
	logger.V(2).Info("Synced Gateway", kv...)
}
