// Package proc starts the background processes of the local environment and finds them again
// through PID files, so that a later command can stop exactly the processes it started and
// nothing else. A PID file records the process start time too: a PID the kernel has since
// reused for some other process is never signalled.
package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Record identifies one process: its PID and its start time in clock ticks since boot (field 22
// of /proc/<pid>/stat), which together never name two different processes.
type Record struct {
	PID       int
	StartTime uint64
}

// StartTime reads the start time of pid from /proc.
func StartTime(pid int) (uint64, error) {
	_, start, err := stat(pid)
	return start, err
}

// stat returns the state letter and the start time of pid.
func stat(pid int) (byte, uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces: skip past it.
	s := string(data)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, 0, fmt.Errorf("parsing /proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(s[end+1:])
	// fields[0] is field 3 (state); the start time is field 22.
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0, fmt.Errorf("parsing /proc/%d/stat: %d fields", pid, len(fields))
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parsing /proc/%d/stat: %w", pid, err)
	}
	return fields[0][0], start, nil
}

// RecordOf returns the record of a running process.
func RecordOf(pid int) (Record, error) {
	st, err := StartTime(pid)
	if err != nil {
		return Record{}, fmt.Errorf("reading start time of pid %d: %w", pid, err)
	}
	return Record{PID: pid, StartTime: st}, nil
}

// Alive reports whether the process the record names still runs (and is not a zombie).
func (r Record) Alive() bool {
	if r.PID <= 0 {
		return false
	}
	state, start, err := stat(r.PID)
	return err == nil && start == r.StartTime && state != 'Z' && state != 'X'
}

// Signal sends sig to the process if, and only if, it is still the one recorded.
func (r Record) Signal(sig syscall.Signal) error {
	if !r.Alive() {
		return os.ErrProcessDone
	}
	return syscall.Kill(r.PID, sig)
}

// WriteFile stores the record at path.
func WriteFile(path string, r Record) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %d\n", r.PID, r.StartTime), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadFile loads a record written by WriteFile.
func ReadFile(path string) (Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Record{}, err
	}
	var r Record
	if _, err := fmt.Sscanf(string(data), "%d %d", &r.PID, &r.StartTime); err != nil {
		return Record{}, fmt.Errorf("parsing pid file %s: %w", path, err)
	}
	return r, nil
}

// Running reports whether the PID file at path names a live process.
func Running(path string) (Record, bool) {
	r, err := ReadFile(path)
	if err != nil {
		return Record{}, false
	}
	return r, r.Alive()
}

// Stop sends SIGTERM to the process recorded at path, waits up to grace for it to exit, then
// sends SIGKILL to it and to its process group (when it leads one). It removes the PID file. A
// missing file or a process that is already gone is not an error.
func Stop(path string, grace time.Duration) error {
	r, err := ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		_ = os.Remove(path)
		return err
	}
	StopRecord(r, grace)
	return os.Remove(path)
}

// StopRecord terminates one recorded process: SIGTERM, up to grace to exit, then SIGKILL to it
// and to its process group if it leads one.
func StopRecord(r Record, grace time.Duration) {
	if !r.Alive() {
		return
	}
	leadsGroup := false
	if pgid, err := syscall.Getpgid(r.PID); err == nil && pgid == r.PID {
		leadsGroup = true
	}
	_ = r.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !r.Alive() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.Alive() {
		_ = r.Signal(syscall.SIGKILL)
	}
	if leadsGroup {
		// Children it left behind in its own group go too. The group id is the recorded PID,
		// checked above to lead the group while the recorded process still ran.
		_ = syscall.Kill(-r.PID, syscall.SIGKILL)
	}
	for i := 0; i < 100 && r.Alive(); i++ {
		time.Sleep(20 * time.Millisecond)
	}
}

// StartDetached starts cmd in a new session, with its output appended to logPath, and records it
// at pidPath. The process outlives the caller: make's interrupt does not reach it.
func StartDetached(cmd *exec.Cmd, logPath, pidPath string) (Record, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return Record{}, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Record{}, err
	}
	defer logFile.Close()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return Record{}, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	r, err := RecordOf(cmd.Process.Pid)
	if err != nil {
		_ = cmd.Process.Kill()
		return Record{}, err
	}
	if err := WriteFile(pidPath, r); err != nil {
		_ = cmd.Process.Kill()
		return Record{}, err
	}
	// Reap it if it exits while we still run; the caller does not wait.
	go func() { _ = cmd.Wait() }()
	return r, nil
}
