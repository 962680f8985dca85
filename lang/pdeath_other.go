//go:build unix && !linux

package lang

import "syscall"

// dieWithParent does nothing where the kernel has no parent-death signal;
// Close stops the server.
func dieWithParent(a *syscall.SysProcAttr) {}
