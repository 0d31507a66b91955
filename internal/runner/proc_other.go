//go:build !unix

package runner

import (
	"os"
	"os/exec"
	"time"
)

// forwarded are the signals caught while the child runs. The console
// delivers Ctrl-C to the child itself; catching it here only keeps this
// process alive until the child has finished.
var forwarded = []os.Signal{os.Interrupt}

// relay does nothing: there is no portable way to send a signal.
func relay(os.Signal, *os.Process, bool) {}

// isolate bounds how long output is read after the child exits.
func isolate(cmd *exec.Cmd) { cmd.WaitDelay = time.Second }

// reap has no process group to kill.
func reap(*exec.Cmd) {}

// exitCode is the exit status.
func exitCode(ps *os.ProcessState) int { return ps.ExitCode() }
