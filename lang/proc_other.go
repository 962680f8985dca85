//go:build !unix

package lang

import "os/exec"

// killGroup leaves cmd as it is: without process groups, cancelling kills
// only the program itself, and WaitDelay bounds the wait for the rest.
func killGroup(cmd *exec.Cmd) {}
