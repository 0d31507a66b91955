// Package clitest builds the agent-vault binary and runs it in a throwaway
// HOME against real Git repositories with a bare remote, for end-to-end
// tests.
package clitest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Root is the repository root of this checkout.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Binary builds ./cli/agent-vault once per test process and returns its path.
func Binary(t testing.TB) string {
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "agent-vault-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, "agent-vault"), "./cli/agent-vault")
		cmd.Dir = Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "agent-vault")
}

// Env is a temporary HOME with a clone of a bare remote at Repo.
type Env struct {
	T      testing.TB
	Bin    string
	Home   string
	Repo   string
	Remote string
	// Extra is added to every command's environment.
	Extra []string
}

// New creates HOME, a bare remote and a clone of it, with a Git identity.
func New(t testing.TB) *Env {
	t.Helper()
	base := t.TempDir()
	e := &Env{T: t, Bin: Binary(t), Home: filepath.Join(base, "home"),
		Remote: filepath.Join(base, "remote.git"), Repo: filepath.Join(base, "repo")}
	if err := os.MkdirAll(e.Home, 0o755); err != nil {
		t.Fatal(err)
	}
	e.Git(base, "init", "--quiet", "--bare", "--initial-branch=main", e.Remote)
	e.Git(base, "clone", "--quiet", e.Remote, e.Repo)
	e.Git(e.Repo, "config", "user.name", "Test Owner")
	e.Git(e.Repo, "config", "user.email", "owner@example.com")
	return e
}

func (e *Env) environ() []string {
	env := []string{"HOME=" + e.Home, "PATH=" + os.Getenv("PATH"), "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_DATE=", "TMPDIR=" + os.TempDir()}
	return append(env, e.Extra...)
}

// Git runs git in dir and fails the test on error.
func (e *Env) Git(dir string, args ...string) string {
	e.T.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = e.environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.T.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Result is one finished command.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs agent-vault in the repository with stdin and extra environment.
func (e *Env) Run(stdin []byte, env []string, args ...string) Result {
	e.T.Helper()
	cmd := exec.Command(e.Bin, args...)
	cmd.Dir = e.Repo
	cmd.Env = append(e.environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.T.Fatalf("agent-vault %s: %v", strings.Join(args, " "), err)
	}
	return Result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// OK runs a command that must succeed and returns its stdout.
func (e *Env) OK(args ...string) string {
	e.T.Helper()
	r := e.Run(nil, nil, args...)
	if r.Code != 0 {
		e.T.Fatalf("agent-vault %s: exit %d\n%s", strings.Join(args, " "), r.Code, r.Stderr)
	}
	return r.Stdout
}

// Fail runs a command that must fail with code and returns the result.
func (e *Env) Fail(code int, args ...string) Result {
	e.T.Helper()
	r := e.Run(nil, nil, args...)
	if r.Code != code {
		e.T.Fatalf("agent-vault %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, code, r.Stdout, r.Stderr)
	}
	if code != 0 && !strings.HasPrefix(r.Stderr, "agent-vault: error: ") {
		e.T.Fatalf("agent-vault %s: stderr %q does not start with 'agent-vault: error: '", strings.Join(args, " "), r.Stderr)
	}
	return r
}

// AgentKey is the path of an agent's key file in this HOME.
func (e *Env) AgentKey(name string) string {
	return filepath.Join(e.Home, ".agent-vault", "agents", name+".key")
}

// OwnerKey is the path of the owner key in this HOME.
func (e *Env) OwnerKey() string { return filepath.Join(e.Home, ".agent-vault", "owner.key") }
