package proc

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestStartDetachedAndStop(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "sleep.pid")
	r, err := StartDetached(exec.Command("sleep", "30"), filepath.Join(dir, "sleep.log"), pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := Running(pidFile); !ok || got != r {
		t.Fatalf("Running() = %+v, %v; want %+v, true", got, ok, r)
	}
	if err := Stop(pidFile, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if r.Alive() {
		t.Fatal("process still alive after Stop")
	}
	if _, ok := Running(pidFile); ok {
		t.Fatal("pid file still names a running process")
	}
	// A second Stop of a missing file is fine.
	if err := Stop(pidFile, time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestStaleRecordIsNotSignalled(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r, err := RecordOf(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	// Same PID, different start time: some other process now, which must be left alone.
	stale := Record{PID: r.PID, StartTime: r.StartTime + 1}
	if stale.Alive() {
		t.Fatal("a record with another start time must not count as alive")
	}
	StopRecord(stale, time.Second)
	if !r.Alive() {
		t.Fatal("StopRecord signalled a process that the record does not name")
	}
}
