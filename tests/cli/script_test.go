package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/agent-vault/agent-vault/cli/command"
	"github.com/agent-vault/agent-vault/cli/procenv"
	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// TestMain lets the test binary stand in for agent-vault: a script's
// "exec agent-vault" runs a copy of it, which runs the command in its own
// process, with the script's working directory, environment and stdin.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"agent-vault": func() { os.Exit(command.Main(os.Args[1:], procenv.Env())) },
	})
}

// TestScript runs the end-to-end scripts in testdata/*.txtar, each in a
// fresh HOME whose Git configuration names a test user.
func TestScript(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("the end-to-end scripts need git on PATH")
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup:               setupScript,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":  cmdExitcode,
			"mode":      cmdMode,
			"json":      cmdJSON,
			"cmpsecret": cmdCmpsecret,
			"snapshot":  cmdSnapshot,
		},
	})
}

// gitconfig is the test user's ~/.gitconfig: an identity to commit with
// and a fixed name for the first branch.
const gitconfig = `[user]
	name = Test Owner
	email = owner@example.com
[init]
	defaultBranch = main
`

func setupScript(e *testscript.Env) error {
	home := filepath.Join(e.WorkDir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o644); err != nil {
		return err
	}
	e.Setenv("HOME", home)
	e.Setenv("LC_ALL", "C")
	e.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	// What the scripts cannot spell: the version the binary reports, the
	// shared conformance vectors, and control characters for arguments.
	e.Setenv("VERSION", core.Version)
	e.Setenv("VECTORS", filepath.Join(clitest.Root(), "tests", "vectors"))
	e.Setenv("SOH", "\x01")
	e.Setenv("TAB", "\t")
	return nil
}

// cmdExitcode runs a program like exec and requires a given exit status:
// exitcode N program [args...]. A script's "! exec" only says non-zero,
// and the exit codes are part of the CLI's contract.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: bad status %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdMode requires a file's permission bits: mode 0600 file.
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mode PERM file")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	if err != nil {
		ts.Fatalf("mode: bad permission %q", args[0])
	}
	fi, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := fi.Mode().Perm(); got != fs.FileMode(want) {
		ts.Fatalf("%s has mode %#o, want %#o", args[1], got, want)
	}
}

// cmdCmpsecret requires two files to hold the same bytes, like cmp, but
// never prints them: they hold private keys, which stay out of test logs.
func cmdCmpsecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cmpsecret file1 file2")
	}
	if ts.ReadFile(args[0]) != ts.ReadFile(args[1]) {
		ts.Fatalf("%s and %s differ (contents not shown)", args[0], args[1])
	}
}

// cmdJSON requires that a file, or stdout, is one well-formed JSON value;
// stdout and grep then check what it holds.
func cmdJSON(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: json file|stdout")
	}
	var v any
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &v); err != nil {
		ts.Fatalf("%s is not JSON: %v", args[0], err)
	}
}

// cmdSnapshot prints what a refused command must leave alone: HEAD and
// the status (ignored files included) of the repository in the current
// directory, and every name and mode under $HOME/.agent-vault. Compare two
// snapshots with cmp.
func cmdSnapshot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: snapshot")
	}
	var b strings.Builder
	for _, git := range [][]string{{"rev-parse", "HEAD"}, {"status", "--porcelain", "--ignored"}} {
		cmd := exec.Command("git", git...)
		cmd.Dir = ts.MkAbs(".")
		cmd.Env = []string{"HOME=" + ts.Getenv("HOME"), "PATH=" + ts.Getenv("PATH"), "LC_ALL=C", "GIT_CONFIG_NOSYSTEM=1"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			ts.Fatalf("git %s: %v\n%s", strings.Join(git, " "), err, out)
		}
		fmt.Fprintf(&b, "$ git %s\n%s", strings.Join(git, " "), out)
	}
	keys := filepath.Join(ts.Getenv("HOME"), ".agent-vault")
	b.WriteString("$ keys\n")
	err := filepath.WalkDir(keys, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(keys, p)
		fmt.Fprintf(&b, "%s %s\n", filepath.ToSlash(rel), fi.Mode())
		return nil
	})
	ts.Check(err)
	fmt.Fprint(ts.Stdout(), b.String())
}
