//go:build unix

package runner

import (
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// forwarded are the signals relayed to the child.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// relay passes sig on to the child. A SIGINT typed at a terminal has
// already reached the child, which shares this process's foreground
// process group, so relaying it would deliver it twice.
func relay(sig os.Signal, p *os.Process, isolated bool) {
	if sig == syscall.SIGINT && !isolated && inForeground() {
		return
	}
	_ = p.Signal(sig)
}

// inForeground reports whether this process's group is the foreground
// group of the terminal on stdin, stdout or stderr.
func inForeground() bool {
	for _, fd := range []int{0, 1, 2} {
		if pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP); err == nil {
			return pgrp == unix.Getpgrp()
		}
	}
	return false
}

// isolate puts the child in its own process group and makes a cancel
// kill the whole group.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Output pipes held open by a process that left the group stop
	// being read this long after the child exits.
	cmd.WaitDelay = time.Second
}

// reap kills whatever is left in the child's process group.
func reap(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// exitCode is the exit status, or 128+n for a child ended by signal n, as
// shells report it.
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
