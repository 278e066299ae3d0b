//go:build !linux

package integration

import "syscall"

// childProcAttr has nothing to add outside Linux; t.Cleanup still kills the process.
func childProcAttr() *syscall.SysProcAttr { return nil }
