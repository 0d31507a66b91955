// Package cli drives the built agent-vault binary end to end in a
// temporary HOME, against real Git repositories with a bare remote.
package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// initVault runs init and returns the env.
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

func TestInit(t *testing.T) {
	e := initVault(t)
	for _, f := range []string{"config.yaml", "owner.pub", "manifest.yaml", ".gitignore"} {
		if _, err := os.Stat(filepath.Join(e.Repo, ".agent-vault", f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if m := mode(t, e.OwnerKey()); m != 0o600 {
		t.Errorf("owner key mode %o", m)
	}
	subject, files := lastCommit(e)
	if subject != "agent-vault: init vault" || len(files) != 4 {
		t.Errorf("init commit %q %v", subject, files)
	}
	key, _ := os.ReadFile(e.OwnerKey())
	// A second vault reuses the owner key rather than replacing it.
	e2 := clitest.New(t)
	e2.Home = e.Home
	e2.OK("init")
	again, _ := os.ReadFile(e.OwnerKey())
	if string(key) != string(again) {
		t.Error("init overwrote an existing owner key")
	}
	pub1, _ := os.ReadFile(filepath.Join(e.Repo, ".agent-vault", "owner.pub"))
	pub2, _ := os.ReadFile(filepath.Join(e2.Repo, ".agent-vault", "owner.pub"))
	if string(pub1) != string(pub2) {
		t.Error("second vault has a different owner")
	}
	e.Fail(8, "init")
}

func TestOwnerToAgentFlow(t *testing.T) {
	e := initVault(t)
	out := e.OK("add-agent", "billing")
	if !strings.Contains(out, e.AgentKey("billing")) {
		t.Errorf("add-agent does not print the key path: %q", out)
	}
	if m := mode(t, e.AgentKey("billing")); m != 0o600 {
		t.Errorf("agent key mode %o", m)
	}
	e.OK("add-agent", "deploy")
	e.Fail(8, "add-agent", "billing")

	value := "sk_live_flow_" + strings.Repeat("x", 20)
	if r := e.Run([]byte(value), nil, "set", "stripe/api-key", "-"); r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	subject, files := lastCommit(e)
	if subject != "agent-vault: set stripe/api-key" || strings.Join(files, " ") != ".agent-vault/manifest.yaml .agent-vault/secrets/stripe/api-key.enc .agent-vault/secrets/stripe/api-key.meta" {
		t.Errorf("set commit %q %v", subject, files)
	}
	cert := "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	certFile := filepath.Join(t.TempDir(), "cert.pem")
	os.WriteFile(certFile, []byte(cert), 0o600)
	e.OK("set", "tls/cert", "--from-file", certFile, "--expires", "2099-01-01")
	e.OK("set", "postgres/conn", "postgres://u:p@h/db", "--agents", "deploy")

	agentKey := []string{"AGENT_VAULT_KEY=" + e.AgentKey("billing")}
	if r := e.Run(nil, agentKey, "get", "stripe/api-key"); r.Code != 5 {
		t.Fatalf("get before grant: exit %d %s", r.Code, r.Stderr)
	}
	e.OK("grant", "billing", "stripe")
	if subject, _ := lastCommit(e); subject != "agent-vault: grant billing stripe" {
		t.Errorf("grant commit %q", subject)
	}
	if r := e.Run(nil, agentKey, "get", "stripe/api-key"); r.Code != 0 || r.Stdout != value {
		t.Fatalf("get as agent: %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
	if got := e.OK("get", "tls/cert"); got != cert {
		t.Fatalf("multi-line value changed: %q", got)
	}
	raw, _ := os.ReadFile(e.AgentKey("deploy"))
	if r := e.Run(nil, []string{"AGENT_VAULT_KEY=" + string(raw)}, "get", "postgres/conn"); r.Stdout != "postgres://u:p@h/db" {
		t.Fatalf("get with raw AGENT_VAULT_KEY: %q %s", r.Stdout, r.Stderr)
	}
	if got := e.OK("get", "--key", e.AgentKey("deploy"), "postgres/conn"); got != "postgres://u:p@h/db" {
		t.Fatalf("get --key: %q", got)
	}

	var list []core.Metadata
	if err := json.Unmarshal([]byte(e.OK("list", "--json")), &list); err != nil || len(list) != 3 {
		t.Fatalf("list --json: %v %v", list, err)
	}
	if strings.Contains(e.OK("list"), value) {
		t.Fatal("list printed a value")
	}
	var agents []core.AgentInfo
	if err := json.Unmarshal([]byte(e.OK("list-agents", "--json")), &agents); err != nil || len(agents) != 2 || agents[0].Groups[0] != "stripe" {
		t.Fatalf("list-agents --json: %+v %v", agents, err)
	}

	out = e.OK("revoke", "billing", "stripe")
	if !strings.Contains(out, "stripe/api-key") || !strings.Contains(out, "Git history") {
		t.Errorf("revoke output lacks rotation advice: %q", out)
	}
	if r := e.Run(nil, agentKey, "get", "stripe/api-key"); r.Code != 5 || !strings.Contains(r.Stderr, "not authorized") {
		t.Fatalf("get after revoke: %d %s", r.Code, r.Stderr)
	}

	deployKey, _ := os.ReadFile(e.AgentKey("deploy"))
	restored := filepath.Join(t.TempDir(), "deploy.key")
	e.OK("restore-agent", "deploy", "--to", restored)
	if got, _ := os.ReadFile(restored); string(got) != string(deployKey) || mode(t, restored) != 0o600 {
		t.Fatal("restore-agent did not restore the original key with mode 0600")
	}
	e.Fail(8, "restore-agent", "deploy", "--to", restored)
	e.OK("restore-agent", "deploy", "--to", restored, "--force")

	out = e.OK("recover-agent", "deploy")
	if !strings.Contains(out, e.AgentKey("deploy")) {
		t.Errorf("recover-agent does not print the new key path: %q", out)
	}
	if r := e.Run(nil, []string{"AGENT_VAULT_KEY=" + restored}, "get", "postgres/conn"); r.Code != 5 {
		t.Fatalf("old key after recover: %d", r.Code)
	}
	if r := e.Run(nil, []string{"AGENT_VAULT_KEY=" + e.AgentKey("deploy")}, "get", "postgres/conn"); r.Code != 0 {
		t.Fatalf("new key after recover: %s", r.Stderr)
	}

	out = e.OK("remove-agent", "deploy")
	if !strings.Contains(out, "postgres/conn") {
		t.Errorf("remove-agent lacks rotation advice: %q", out)
	}
	if _, err := os.Stat(filepath.Join(e.Repo, ".agent-vault", "agents", "deploy")); !os.IsNotExist(err) {
		t.Error("remove-agent left the agent's files")
	}
	if r := e.Run(nil, []string{"AGENT_VAULT_KEY=" + e.AgentKey("deploy")}, "get", "postgres/conn"); r.Code != 5 {
		t.Fatalf("removed agent: %d", r.Code)
	}

	var check struct {
		Findings []core.Finding `json:"findings"`
		Errors   int            `json:"errors"`
		Verified bool           `json:"ciphertext_verified"`
	}
	if err := json.Unmarshal([]byte(e.OK("check", "--json")), &check); err != nil || check.Errors != 0 || !check.Verified {
		t.Fatalf("check: %+v %v", check, err)
	}
	if st := e.Git(e.Repo, "status", "--porcelain"); st != "" {
		t.Errorf("commands left uncommitted changes:\n%s", st)
	}
	if log := e.Git(e.Repo, "log", "--format=%s"); strings.Count(log, "agent-vault: ") != 10 {
		t.Errorf("expected one commit per mutating command:\n%s", log)
	}
}

func TestCheckReportsErrors(t *testing.T) {
	e := initVault(t)
	e.OK("set", "old/token", "v", "--expires", "2020-01-01T00:00:00Z")
	r := e.Run(nil, nil, "check")
	if r.Code != 9 || !strings.Contains(r.Stdout, "expired") {
		t.Fatalf("check on expired secret: %d %q", r.Code, r.Stdout)
	}
}

func TestGetFastForwardsAndWorksOffline(t *testing.T) {
	e := initVault(t)
	e.OK("set", "app/key", "v1")
	e.Git(e.Repo, "push", "--quiet", "-u", "origin", "HEAD")
	// A second clone of the same remote, sharing the owner key.
	other := filepath.Join(t.TempDir(), "other")
	e.Git(e.Repo, "clone", "--quiet", e.Remote, other)
	e.Git(other, "config", "user.name", "Other")
	e.Git(other, "config", "user.email", "other@example.com")
	if r := e.Run(nil, nil, "set", "--repo", other, "app/key", "v2"); r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	e.Git(other, "push", "--quiet")
	if got := e.OK("get", "app/key"); got != "v2" {
		t.Fatalf("get did not fast-forward: %q", got)
	}
	if got := e.OK("get", "--no-pull", "app/key"); got != "v2" {
		t.Fatalf("get --no-pull: %q", got)
	}
	os.Rename(e.Remote, e.Remote+".gone")
	r := e.Run(nil, nil, "get", "app/key")
	if r.Code != 0 || r.Stdout != "v2" || !strings.Contains(r.Stderr, "warning") {
		t.Fatalf("offline get: %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
}

func TestFixtureVaultOpens(t *testing.T) {
	e := clitest.New(t)
	fixture := filepath.Join(clitest.Root(), "tests", "vectors")
	r := e.Run(nil, nil, "get", "--repo", filepath.Join(fixture, "vault"), "--no-pull",
		"--key", filepath.Join(fixture, "keys", "billing.key"), "stripe/api-key")
	if r.Code != 0 || r.Stdout != "sk_test_fixture_4eC39HqLyjWDarjtT1zdp7dc" {
		t.Fatalf("fixture get: %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	e := clitest.New(t)
	if out := e.OK("--version"); !strings.HasPrefix(out, "agent-vault "+core.Version) {
		t.Errorf("--version: %q", out)
	}
	help := e.OK("--help")
	for _, c := range []string{"init", "add-agent", "remove-agent", "list-agents", "recover-agent", "restore-agent",
		"set", "get", "list", "grant", "revoke", "check", "completions", "mcp"} {
		if !strings.Contains(help, "  "+c+" ") {
			t.Errorf("--help does not list %s", c)
		}
		if c == "mcp" {
			continue
		}
		if out := e.OK(c, "--help"); !strings.HasPrefix(out, "Usage: agent-vault "+c) {
			t.Errorf("%s --help: %q", c, out)
		}
	}
	// bash, zsh and fish ask the binary (completion_test.go runs them);
	// PowerShell's script carries the commands.
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if out := e.OK("completions", sh); !strings.Contains(out, "__complete") {
			t.Errorf("completions %s does not call back into agent-vault", sh)
		}
	}
	if out := e.OK("completions", "powershell"); !strings.Contains(out, "restore-agent") {
		t.Errorf("completions powershell lacks commands")
	}
	e.Fail(2, "completions", "tcsh")
}
