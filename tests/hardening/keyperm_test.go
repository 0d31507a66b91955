package hardening

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// TestKeyFilePermissions: a key file group or others can access is refused
// as ssh refuses one, naming its mode and the chmod that fixes it, by every
// command that reads a key and however the key file was named; nothing is
// changed. --insecure-key-permissions uses it anyway.
func TestKeyFilePermissions(t *testing.T) {
	e := clitest.New(t)
	must(t, e, "init")
	must(t, e, "add-agent", "bot")
	must(t, e, "set", "app/key", "value")
	must(t, e, "grant", "bot", "app")
	owner, agent := e.OwnerKey(), e.AgentKey("bot")
	link := filepath.Join(t.TempDir(), "link.key")
	if err := os.Symlink(agent, link); err != nil {
		t.Fatal(err)
	}
	ownerRaw, _ := os.ReadFile(owner)
	probes := []struct {
		name string
		key  string // the file whose mode is loosened
		env  []string
		args []string
	}{
		{"get, default owner key", owner, nil, []string{"get", "app/key"}},
		{"get --key", agent, nil, []string{"get", "--key", agent, "app/key"}},
		{"get, AGENT_VAULT_KEY path", agent, []string{"AGENT_VAULT_KEY=" + agent}, []string{"get", "app/key"}},
		{"get through a symlink", agent, nil, []string{"get", "--key", link, "app/key"}},
		{"check", owner, nil, []string{"check"}},
		{"set (the owner key is optional)", owner, nil, []string{"set", "app/other", "v"}},
		{"add-agent", owner, nil, []string{"add-agent", "bot2"}},
		{"grant", owner, nil, []string{"grant", "bot", "app"}},
		{"revoke", owner, nil, []string{"revoke", "bot", "app"}},
		{"restore-agent", owner, nil, []string{"restore-agent", "bot", "--to", filepath.Join(t.TempDir(), "r.key")}},
		{"mcp", agent, nil, []string{"mcp", "--repo", e.Repo, "--key", agent, "--no-pull"}},
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o601} {
		for _, p := range probes {
			before := snapshot(t, filepath.Dir(e.Repo), filepath.Join("repo", ".git"))
			os.Chmod(p.key, mode)
			r := result(t, command(e, []byte{}, p.env, p.args...))
			os.Chmod(p.key, 0o600)
			what := p.name + " with mode " + mode.String()
			if r.Code != exitCodes[core.CodeInvalidKey] {
				t.Errorf("%s: exit %d, want %d\n%s", what, r.Code, exitCodes[core.CodeInvalidKey], r.Stderr)
				continue
			}
			octal := fmt.Sprintf("%04o", mode)
			if !strings.Contains(r.Stderr, "permissions "+octal+" for '"+p.key+"' are too open") &&
				!(p.key == agent && strings.Contains(r.Stderr, "permissions "+octal+" for '"+link+"' are too open")) {
				t.Errorf("%s: stderr does not name the mode and file:\n%s", what, r.Stderr)
			}
			if !strings.Contains(r.Stderr, "hint: run: chmod 600 '") {
				t.Errorf("%s: no chmod hint:\n%s", what, r.Stderr)
			}
			if keyRE.MatchString(r.Stdout+r.Stderr) || strings.Contains(r.Stdout, "value") {
				t.Errorf("%s: printed key or value material", what)
			}
			if err := sameSnapshot(before, snapshot(t, filepath.Dir(e.Repo), filepath.Join("repo", ".git"))); err != nil {
				t.Errorf("%s changed something: %v", what, err)
			}
		}
	}

	// init reuses an existing owner key only if it is private.
	e2 := clitest.New(t)
	write(t, e2.OwnerKey(), ownerRaw)
	os.Chmod(e2.OwnerKey(), 0o644)
	if r := run(t, e2, "init"); r.Code != exitCodes[core.CodeInvalidKey] || !strings.Contains(r.Stderr, "are too open") {
		t.Errorf("init over an owner key readable by all: exit %d\n%s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(e2.Repo, core.DirName)); err == nil {
		t.Error("init created a vault with a refused key")
	}

	// The explicit override.
	os.Chmod(agent, 0o644)
	os.Chmod(owner, 0o644)
	if out := must(t, e, "get", "--key", agent, "--insecure-key-permissions", "app/key"); out != "value" {
		t.Errorf("get --insecure-key-permissions: %q", out)
	}
	must(t, e, "set", "app/other", "v2", "--insecure-key-permissions")
	must(t, e2, "init", "--insecure-key-permissions")
	if r := result(t, command(e, []byte{}, nil, "mcp", "--repo", e.Repo, "--key", agent, "--no-pull", "--insecure-key-permissions")); r.Code != 0 {
		t.Errorf("mcp --insecure-key-permissions: exit %d\n%s", r.Code, r.Stderr)
	}
}
