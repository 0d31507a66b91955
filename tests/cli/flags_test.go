package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/clitest"
)

// Global flags may come before the command name, as with git.
func TestGlobalFlagsBeforeCommand(t *testing.T) {
	e := initVault(t)
	e.OK("set", "stripe/api-key", "sk_test_global_flags")
	// Another checkout without a vault: only --repo can find e's.
	other := clitest.New(t)
	other.Home = e.Home
	for _, args := range [][]string{
		{"--repo", e.Repo, "list"},
		{"--repo=" + e.Repo, "list", "--json"},
		{"--key", e.OwnerKey(), "--repo", e.Repo, "list"},
	} {
		if r := other.Run(nil, nil, args...); r.Code != 0 || !strings.Contains(r.Stdout, "stripe/api-key") {
			t.Errorf("%v: exit %d\n%s", args, r.Code, r.Stderr)
		}
	}
	if r := other.Run(nil, nil, "--repo", e.Repo, "--key", e.OwnerKey(), "get", "stripe/api-key"); r.Code != 0 || r.Stdout != "sk_test_global_flags" {
		t.Errorf("get with global flags: exit %d\n%s", r.Code, r.Stderr)
	}
	// "~" in --repo=, which no shell expands, means HOME as with --key.
	tilde := clitest.New(t)
	tilde.Home = filepath.Dir(e.Repo)
	if r := tilde.Run(nil, nil, "list", "--repo=~/"+filepath.Base(e.Repo)); r.Code != 0 || !strings.Contains(r.Stdout, "stripe/api-key") {
		t.Errorf("--repo=~/...: exit %d\n%s", r.Code, r.Stderr)
	}
	// A --repo that a command would ignore is refused, naming it; a flag
	// without its value, or without a command, is a usage error.
	if r := other.Fail(2, "--repo", e.Repo, "init"); !strings.Contains(r.Stderr, "init does not take --repo") {
		t.Errorf("init with --repo: %s", r.Stderr)
	}
	other.Fail(2, "--repo")
	if r := other.Fail(2, "--repo", e.Repo); !strings.Contains(r.Stderr, "no command") {
		t.Errorf("--repo without a command: %s", r.Stderr)
	}
}

// An unknown flag is named, with the closest one the command takes, but an
// argument that could be a value is never echoed.
func TestUnknownFlagIsNamed(t *testing.T) {
	e := initVault(t)
	r := e.Fail(2, "list", "--jsn")
	if !strings.Contains(r.Stderr, "unknown flag --jsn") || !strings.Contains(r.Stderr, "did you mean --json?") {
		t.Errorf("list --jsn: %s", r.Stderr)
	}
	r = e.Fail(2, "grant", "--repp", e.Repo, "a", "g")
	if !strings.Contains(r.Stderr, "did you mean --repo?") {
		t.Errorf("grant --repp: %s", r.Stderr)
	}
	r = e.Fail(2, "list", "--frobnicate")
	if !strings.Contains(r.Stderr, "unknown flag --frobnicate") || !strings.Contains(r.Stderr, "--group") {
		t.Errorf("list --frobnicate names neither the flag nor the flags list takes: %s", r.Stderr)
	}
	for _, secret := range []string{"--sk_live_Xy9Q2mP0aB7", "-Secret0Value", "--jsn=hunter2-value"} {
		r := e.Fail(2, "set", "x/y", secret)
		for _, part := range []string{"sk_live", "Secret0", "hunter2"} {
			if strings.Contains(r.Stderr, part) {
				t.Errorf("the error echoes a value-like argument %q: %s", secret, r.Stderr)
			}
		}
	}
}

// mcp --audit-log ~/x.jsonl is expanded like --key and --repo.
func TestMCPAuditLogTilde(t *testing.T) {
	e := initVault(t)
	r := e.Run(nil, nil, "mcp", "--repo", e.Repo, "--key", e.OwnerKey(), "--audit-log", "~/audit.jsonl")
	if r.Code != 0 {
		t.Fatalf("mcp --audit-log ~/audit.jsonl: exit %d\n%s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(e.Home, "audit.jsonl")); err != nil {
		t.Errorf("the audit log is not in HOME: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(e.Repo, "~")); err == nil {
		t.Error("a directory named ~ was created")
	}
}
