package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/clitest"
)

// TestBadInputChangesNothing runs every kind of bad input against a vault
// holding a secret and checks the exit code, the message, and that neither
// the repository nor the key directory changed.
func TestBadInputChangesNothing(t *testing.T) {
	e := initVault(t)
	e.OK("add-agent", "bot")
	const secret = "s3cr3t-value-never-printed"
	e.OK("set", "app/key", secret)
	notKey := filepath.Join(t.TempDir(), "not-a-key")
	os.WriteFile(notKey, []byte("hello\n"), 0o600)
	valueFile := filepath.Join(t.TempDir(), "value")
	os.WriteFile(valueFile, []byte("v"), 0o600)
	dirKey := t.TempDir()

	cases := []struct {
		name string
		code int
		args []string
		env  []string
	}{
		{"unknown command", 2, []string{"frobnicate"}, nil},
		{"unknown flag", 2, []string{"list", "--nope"}, nil},
		{"missing argument", 2, []string{"grant", "bot"}, nil},
		{"unknown agent grant", 2, []string{"grant", "ghost", "app"}, nil},
		{"unknown agent revoke", 2, []string{"revoke", "ghost", "app"}, nil},
		{"unknown agent remove", 2, []string{"remove-agent", "ghost"}, nil},
		{"unknown agent recover", 2, []string{"recover-agent", "ghost"}, nil},
		{"unknown agent restore", 2, []string{"restore-agent", "ghost", "--to", filepath.Join(dirKey, "x")}, nil},
		{"restore without --to", 2, []string{"restore-agent", "bot"}, nil},
		{"unknown group grant", 2, []string{"grant", "bot", "nogroup"}, nil},
		{"unknown group list", 2, []string{"list", "--group", "nogroup"}, nil},
		{"revoke not granted", 2, []string{"revoke", "bot", "app"}, nil},
		{"unknown secret", 4, []string{"get", "app/missing"}, nil},
		{"dotdot path", 2, []string{"set", "app/../x", "v"}, nil},
		{"leading slash", 2, []string{"set", "/app/x", "v"}, nil},
		{"backslash", 2, []string{"set", `app\x`, "v"}, nil},
		{"nul byte", 2, []string{"get", "app/x\x01"}, nil},
		{"control char", 2, []string{"set", "app/x\ty", "v"}, nil},
		{"empty segment", 2, []string{"set", "app//x", "v"}, nil},
		{"trailing slash", 2, []string{"set", "app/", "v"}, nil},
		{"unicode lookalike", 2, []string{"set", "аpp/x", "v"}, nil},
		{"bad agent name", 2, []string{"add-agent", "../evil"}, nil},
		{"bad group name", 2, []string{"set", "app/y", "v", "--group", "a/b"}, nil},
		{"malformed expires", 2, []string{"set", "app/y", "v", "--expires", "next tuesday"}, nil},
		{"value twice", 2, []string{"set", "app/y", "v", "--from-file", valueFile}, nil},
		{"no value", 2, []string{"set", "app/y"}, nil},
		{"missing from-file", 2, []string{"set", "app/y", "--from-file", filepath.Join(dirKey, "nope")}, nil},
		{"missing key file", 6, []string{"get", "--key", filepath.Join(dirKey, "nope.key"), "app/key"}, nil},
		{"unreadable key (directory)", 6, []string{"get", "--key", dirKey, "app/key"}, nil},
		{"wrong key type", 6, []string{"get", "--key", notKey, "app/key"}, nil},
		{"env key garbage", 6, []string{"get", "app/key"}, []string{"AGENT_VAULT_KEY=AGE-SECRET-KEY-1NOTVALID"}},
		{"agent key for owner op", 6, []string{"grant", "bot", "app", "--key", e.AgentKey("bot")}, nil},
		{"second init", 8, []string{"init"}, nil},
		{"existing agent", 8, []string{"add-agent", "bot"}, nil},
	}
	head := e.Git(e.Repo, "rev-parse", "HEAD")
	status := e.Git(e.Repo, "status", "--porcelain", "--ignored")
	keys := listDir(t, filepath.Join(e.Home, ".agent-vault"))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Run(nil, c.env, c.args...)
			if r.Code != c.code {
				t.Fatalf("exit %d, want %d\n%s", r.Code, c.code, r.Stderr)
			}
			if !strings.HasPrefix(r.Stderr, "agent-vault: error: ") {
				t.Errorf("stderr %q", r.Stderr)
			}
			if strings.Contains(r.Stdout+r.Stderr, secret) {
				t.Error("a secret value appeared in the output")
			}
			if got := e.Git(e.Repo, "rev-parse", "HEAD"); got != head {
				t.Error("a commit was made")
			}
			if st := e.Git(e.Repo, "status", "--porcelain", "--ignored"); st != status {
				t.Errorf("the work tree changed:\n%s", st)
			}
			if got := listDir(t, filepath.Join(e.Home, ".agent-vault")); got != keys {
				t.Errorf("the key directory changed:\n%s\nwas\n%s", got, keys)
			}
		})
	}

	t.Run("not initialised", func(t *testing.T) {
		bare := clitest.New(t)
		for _, args := range [][]string{{"list"}, {"get", "a/b"}, {"set", "a/b", "v"}, {"check"}, {"list-agents"}} {
			r := bare.Run(nil, nil, args...)
			if r.Code != 3 || !strings.Contains(r.Stderr, "hint:") {
				t.Errorf("%v: exit %d %q", args, r.Code, r.Stderr)
			}
		}
	})
	t.Run("init outside git", func(t *testing.T) {
		dir := t.TempDir()
		r := e.Run(nil, nil, "init", dir)
		if r.Code != 2 || !strings.Contains(r.Stderr, "git init") {
			t.Errorf("exit %d %q", r.Code, r.Stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, ".agent-vault")); !os.IsNotExist(err) {
			t.Error("init created a vault outside git")
		}
	})
}

// listDir renders a tree's names, sizes and modes, to detect any change.
func listDir(t *testing.T, root string) string {
	var b strings.Builder
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			b.WriteString(p + " " + fi.Mode().String() + "\n")
		}
		return nil
	})
	return b.String()
}
