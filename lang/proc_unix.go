//go:build unix

package lang

import (
	"os/exec"
	"syscall"
)

// killGroup makes cmd the leader of a new process group and, when its
// context ends, kills the whole group: apertium is a shell script running a
// pipeline of a dozen programs, and killing the script alone would leave them
// running, holding its output open.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
