package clitest

import (
	"os/exec"
)

// Command prepares agent-vault in the repository with the test environment
// plus env, for tests that need the process itself (to signal it, or to
// wire its standard streams).
func (e *Env) Command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(e.Bin, args...)
	cmd.Dir = e.Repo
	cmd.Env = append(e.environ(), env...)
	return cmd
}
