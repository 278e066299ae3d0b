package workqueue

import (
	"testing"
	"time"
)

func fired(tm Timer) bool {
	select {
	case <-tm.C():
		return true
	default:
		return false
	}
}

func TestFakeClockStepFiresDueTimers(t *testing.T) {
	tests := []struct {
		name      string
		delay     time.Duration
		steps     []time.Duration
		wantFired bool
	}{
		{name: "not yet due", delay: time.Second, steps: []time.Duration{999 * time.Millisecond}},
		{name: "due exactly", delay: time.Second, steps: []time.Duration{time.Second}, wantFired: true},
		{name: "overdue", delay: time.Second, steps: []time.Duration{time.Hour}, wantFired: true},
		{name: "due after several steps", delay: time.Second, steps: []time.Duration{400 * time.Millisecond, 600 * time.Millisecond}, wantFired: true},
		{name: "zero delay fires at once", delay: 0, wantFired: true},
		{name: "negative delay fires at once", delay: -time.Second, wantFired: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewFakeClock(epoch)
			tm := c.NewTimer(tt.delay)
			for _, d := range tt.steps {
				c.Step(d)
			}
			if got := fired(tm); got != tt.wantFired {
				t.Errorf("fired = %v, want %v", got, tt.wantFired)
			}
			wantWaiters := 1
			if tt.wantFired {
				wantWaiters = 0
			}
			if got := c.Waiters(); got != wantWaiters {
				t.Errorf("Waiters = %d, want %d", got, wantWaiters)
			}
		})
	}
}

func TestFakeClockTimerFiresOnce(t *testing.T) {
	c := NewFakeClock(epoch)
	tm := c.NewTimer(time.Second)
	c.Step(time.Second)
	c.Step(time.Second) // must not block or fire again
	if !fired(tm) {
		t.Fatal("timer did not fire")
	}
	if fired(tm) {
		t.Fatal("timer fired twice")
	}
	if tm.Stop() {
		t.Error("Stop of a fired timer reported that it stopped it")
	}
}

func TestFakeClockStop(t *testing.T) {
	c := NewFakeClock(epoch)
	tm := c.NewTimer(time.Second)
	if !tm.Stop() {
		t.Fatal("Stop of an armed timer reported false")
	}
	if tm.Stop() {
		t.Error("second Stop reported true")
	}
	c.Step(time.Hour)
	if fired(tm) {
		t.Error("stopped timer fired")
	}
	if n := c.Waiters(); n != 0 {
		t.Errorf("Waiters = %d, want 0", n)
	}
}

func TestFakeClockTime(t *testing.T) {
	c := NewFakeClock(epoch)
	c.Step(90 * time.Second)
	if got, want := c.Now(), epoch.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
	if got := c.Since(epoch); got != 90*time.Second {
		t.Errorf("Since(epoch) = %v, want 90s", got)
	}
	tm := c.NewTimer(time.Minute)
	c.SetTime(epoch.Add(time.Hour))
	if !fired(tm) {
		t.Error("SetTime past the deadline did not fire the timer")
	}
}

func TestRealClockTimer(t *testing.T) {
	c := RealClock()
	start := c.Now()
	tm := c.NewTimer(0)
	select {
	case <-tm.C():
	case <-time.After(10 * time.Second):
		t.Fatal("a zero real timer did not fire")
	}
	if c.Since(start) < 0 {
		t.Error("real clock went backwards")
	}
	if c.NewTimer(time.Hour).Stop() != true {
		t.Error("Stop of an armed real timer reported false")
	}
}
