// Package cli holds the end-to-end tests of the agent-vault command line:
// the scripts in testdata/*.txtar (script_test.go), and Go tests that drive
// the built binary through internal/clitest.
package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/clitest"
)

// initVault runs init in a fresh clitest.Env, for the Go tests.
func initVault(t *testing.T) *clitest.Env {
	e := clitest.New(t)
	r := e.Run(nil, nil, "init")
	if r.Code != 0 {
		t.Fatalf("init: %s", r.Stderr)
	}
	if !strings.Contains(r.Stderr, "back up") {
		t.Errorf("init does not warn to back up the owner key: %q", r.Stderr)
	}
	return e
}

// lastCommit is the subject and the files of the repository's HEAD commit.
func lastCommit(e *clitest.Env) (subject string, files []string) {
	out := e.Git(e.Repo, "show", "--name-only", "--format=%s", "HEAD")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines[1:] {
		if l != "" {
			files = append(files, l)
		}
	}
	return lines[0], files
}

// mode is the permission bits of path.
func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
