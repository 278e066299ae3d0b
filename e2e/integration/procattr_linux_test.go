package integration

import "syscall"

// childProcAttr makes the kernel kill Kengine if the test binary dies without cleaning up
// (a panic or a -timeout), so that no server outlives its test.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
