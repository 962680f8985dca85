package lang

import "syscall"

// dieWithParent asks Linux to kill the child when tocsin dies, so a crash
// does not leave an orphaned apertium-apy holding its port. (The signal
// follows the thread that started the child; Go keeps threads alive.)
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
