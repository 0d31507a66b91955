package hardening

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/clitest"
)

// gitRecorder puts a git wrapper first on PATH that saves the environment
// and arguments of every git process it stands in for, then runs the real
// git. It returns the PATH to use and a function that reads the records.
func gitRecorder(t *testing.T) (path string, records func() []string) {
	t.Helper()
	real, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git is required")
	}
	bin, logs := t.TempDir(), t.TempDir()
	script := "#!/bin/sh\nf=$(mktemp '" + logs + "/git.XXXXXX')\n{ printf 'args: %s\\n' \"$*\"; env; } > \"$f\"\nexec '" + real + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin + string(os.PathListSeparator) + os.Getenv("PATH"), func() []string {
		entries, err := os.ReadDir(logs)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ent := range entries {
			data, err := os.ReadFile(filepath.Join(logs, ent.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(data))
			os.Remove(filepath.Join(logs, ent.Name()))
		}
		return out
	}
}

// TestGitNeverSeesTheKey drives a read (which fast-forwards from the
// remote) and a write (which commits, running the pre-commit hook) with
// the owner key in AGENT_VAULT_KEY, as a raw key and as a path. No git
// process, nor anything git starts, may inherit that variable or the key.
func TestGitNeverSeesTheKey(t *testing.T) {
	e := clitest.New(t)
	must(t, e, "init")
	must(t, e, "set", "app/key", "value")
	e.Git(e.Repo, "push", "--quiet", "--set-upstream", "origin", "main")
	ownerKey, err := os.ReadFile(e.OwnerKey()) // the throwaway owner key init made
	if err != nil {
		t.Fatal(err)
	}
	keyLine := keyRE.FindString(string(ownerKey))
	if keyLine == "" {
		t.Fatal("no key in the owner key file")
	}
	path, records := gitRecorder(t)
	for _, env := range []string{keyLine, e.OwnerKey()} {
		for _, args := range [][]string{{"get", "app/key"}, {"set", "app/other", "v2"}} {
			r := result(t, command(e, nil, []string{"PATH=" + path, "AGENT_VAULT_KEY=" + env}, args...))
			if r.Code != 0 {
				t.Fatalf("%v: exit %d\n%s", args, r.Code, r.Stderr)
			}
			seen := map[string]bool{}
			for _, rec := range records() {
				line, _, _ := strings.Cut(strings.TrimPrefix(rec, "args: "), "\n")
				// The subcommand is the first word after "-c name=value"
				// options.
				words := strings.Fields(line)
				for len(words) >= 2 && words[0] == "-c" {
					words = words[2:]
				}
				sub := ""
				if len(words) > 0 {
					sub = words[0]
				}
				seen[sub] = true
				if strings.Contains(rec, "AGENT_VAULT_KEY") || strings.Contains(rec, keyLine) {
					t.Errorf("%v: git %s inherited the key", args, sub)
				}
				if !strings.Contains(rec, "\nGIT_TERMINAL_PROMPT=0\n") {
					t.Errorf("%v: git %s may prompt on the terminal", args, sub)
				}
			}
			want := map[string][]string{"get": {"rev-parse", "pull"}, "set": {"commit"}}[args[0]]
			for _, w := range want {
				if !seen[w] {
					t.Errorf("%v: no git %s was recorded (saw %v); the test did not exercise it", args, w, seen)
				}
			}
		}
	}
}
