package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

const exitUntrusted = 10

// signedFlow is a vault with agent bot granted app (app/x) and other
// (other/y), pushed to the remote.
func signedFlow(t *testing.T) *clitest.Env {
	e := initVault(t)
	e.OK("add-agent", "bot")
	e.OK("set", "app/x", "value-x")
	e.OK("set", "other/y", "value-y")
	e.OK("grant", "bot", "app")
	e.OK("grant", "bot", "other")
	e.Git(e.Repo, "push", "--quiet", "origin", "HEAD")
	return e
}

// pusher is a second clone of the remote, where someone with push access
// but no owner key changes the vault with core (as the original tool
// would) or by hand, and pushes.
func pusher(t *testing.T, e *clitest.Env, change func(clone string)) {
	t.Helper()
	clone := filepath.Join(t.TempDir(), "pusher")
	e.Git(filepath.Dir(clone), "clone", "--quiet", e.Remote, clone)
	change(clone)
	e.Git(clone, "add", "--all", "--force", core.DirName)
	e.Git(clone, "-c", "user.name=Pusher", "-c", "user.email=p@example.com", "commit", "--quiet", "--no-verify", "-m", "pushed change")
	e.Git(clone, "push", "--quiet", "origin", "HEAD")
}

// unsignedSet stores a value without the owner key, encrypted to the
// public keys in the repository.
func unsignedSet(t *testing.T, clone, secret, value string) {
	d, err := osfs.Open(filepath.Join(clone, core.DirName))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// An hour on, so the planted metadata differs from the signed one even
	// when the test runs within the second the owner wrote it.
	later := func() time.Time { return time.Now().Add(time.Hour) }
	ed, err := core.Edit(d, core.EditOptions{Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if err := ed.Set(secret, []byte(value), core.SetOptions{}); err != nil {
		t.Fatal(err)
	}
}

// Attack 1, reader side: a planted value pushed by someone without the
// owner key is refused by an agent reading with its pin, which add-agent
// wrote beside the key.
func TestPlantedValueRefusedByReader(t *testing.T) {
	e := signedFlow(t)
	bot := []string{"AGENT_VAULT_KEY=" + e.AgentKey("bot")}
	if r := e.Run(nil, bot, "get", "app/x"); r.Code != 0 || r.Stdout != "value-x" {
		t.Fatalf("get before the attack: %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
	pusher(t, e, func(clone string) { unsignedSet(t, clone, "app/x", "planted-value") })
	r := e.Run(nil, bot, "get", "app/x")
	if r.Code != exitUntrusted || strings.Contains(r.Stdout, "planted") || !strings.Contains(r.Stderr, "secrets/app/x.enc") {
		t.Fatalf("get of a planted value: exit %d stdout %q\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// The pin in the environment works the same, and the untouched
	// secret still reads.
	pin := strings.TrimSpace(e.OK("owner-key"))
	env := append(bot, "AGENT_VAULT_OWNER="+pin)
	if r := e.Run(nil, env, "get", "app/x"); r.Code != exitUntrusted {
		t.Fatalf("get with AGENT_VAULT_OWNER: exit %d", r.Code)
	}
	if r := e.Run(nil, env, "get", "other/y"); r.Code != 0 || r.Stdout != "value-y" {
		t.Fatalf("untouched secret: %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
	if r := e.Run(nil, []string{"AGENT_VAULT_OWNER=" + pin}, "list"); r.Code != exitUntrusted {
		t.Fatalf("list of a vault with an unsigned change: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// Another owner's pin refuses even the untouched secret.
	other, _, _ := core.NewKey()
	oid, _ := core.ParseIdentity(other)
	otherPin, _ := core.OwnerVerificationKey(oid)
	if r := e.Run(nil, append(bot, "AGENT_VAULT_OWNER="+otherPin), "get", "other/y"); r.Code != exitUntrusted {
		t.Fatalf("get with another owner's pin: exit %d", r.Code)
	}
	// The owner never re-signs it: a change that re-encrypts it refuses.
	if r := e.Run(nil, nil, "revoke", "bot", "app"); r.Code != exitUntrusted || !strings.Contains(r.Stderr, "seal") {
		t.Fatalf("owner write after an unsigned change: exit %d\n%s", r.Code, r.Stderr)
	}
}

// Attack 5, reader side: the pre-revoke tree committed again is genuinely
// signed, but a reader that has seen the newer version refuses it.
func TestRollbackRefusedByReader(t *testing.T) {
	e := signedFlow(t)
	preRevoke := strings.TrimSpace(e.Git(e.Repo, "rev-parse", "HEAD"))
	e.OK("revoke", "bot", "app")
	e.Git(e.Repo, "push", "--quiet", "origin", "HEAD")
	bot := []string{"AGENT_VAULT_KEY=" + e.AgentKey("bot")}
	if r := e.Run(nil, bot, "get", "other/y"); r.Code != 0 {
		t.Fatalf("get after revoke: %d %s", r.Code, r.Stderr)
	}
	pusher(t, e, func(clone string) {
		e.Git(clone, "rm", "-r", "--quiet", core.DirName)
		e.Git(clone, "checkout", preRevoke, "--", core.DirName)
	})
	r := e.Run(nil, bot, "get", "app/x")
	if r.Code != exitUntrusted || r.Stdout != "" || !strings.Contains(r.Stderr, "older") {
		t.Fatalf("get on a rolled-back vault: exit %d stdout %q\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// The owner refuses it too: the rotated value never reaches bot.
	if r := e.Run([]byte("rotated"), nil, "set", "app/x", "-"); r.Code != exitUntrusted || !strings.Contains(r.Stderr, "rolled back") {
		t.Fatalf("owner set on a rolled-back vault: exit %d\n%s", r.Code, r.Stderr)
	}
}

// Attacks 2, 3 and 4 through the CLI: check names each change and the
// owner's commands refuse to encrypt to keys the owner did not sign.
func TestOwnerRefusesUnsignedKeys(t *testing.T) {
	e := signedFlow(t)
	evil, evilPub, _ := core.NewKey()
	_ = evil
	vault := filepath.Join(e.Repo, core.DirName)
	write := func(name, content string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(vault, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(vault, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("agents/bot/public.key", evilPub+"\n")
	r := e.Run(nil, nil, "set", "app/new", "v")
	if r.Code != exitUntrusted || !strings.Contains(r.Stderr, "agents/bot/public.key") {
		t.Fatalf("set after a swapped agent key: exit %d\n%s", r.Code, r.Stderr)
	}
	r = e.Run(nil, nil, "check", "--json")
	var rep struct {
		Findings []core.Finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || r.Code != 9 {
		t.Fatalf("check: %d %v %s", r.Code, err, r.Stderr)
	}
	kinds := map[string]bool{}
	for _, f := range rep.Findings {
		kinds[f.Kind+":"+f.Subject] = true
	}
	for _, want := range []string{"unsigned_change:agents/bot/public.key", "escrow_mismatch:bot"} {
		if !kinds[want] {
			t.Errorf("check does not report %s: %v", want, rep.Findings)
		}
	}
	e.Git(e.Repo, "checkout", "--", core.DirName)
	write("owner.pub", evilPub+"\n")
	if r := e.Run(nil, nil, "set", "app/new", "v"); r.Code != exitUntrusted || !strings.Contains(r.Stderr, "owner.pub") {
		t.Fatalf("set after a replaced owner.pub: exit %d\n%s", r.Code, r.Stderr)
	}
	if r := e.Run(nil, nil, "check", "--json"); r.Code != 9 || !strings.Contains(r.Stdout, `"kind":"owner_key_replaced"`) {
		t.Fatalf("check after a replaced owner.pub: %d %s", r.Code, r.Stdout)
	}
	// seal restores owner.pub from the owner key.
	out := e.OK("seal", "--yes")
	if !strings.Contains(out, "restored") || !strings.Contains(out, "Signed version") {
		t.Fatalf("seal: %s", out)
	}
	if pub, _ := os.ReadFile(filepath.Join(vault, "owner.pub")); strings.Contains(string(pub), evilPub) {
		t.Fatal("seal kept the planted owner.pub")
	}
	e.OK("set", "app/new", "v")
}

// Attack 6 through the CLI: a journal committed inside .agent-vault is
// never applied, and check reports it as tracked_journal.
func TestTrackedJournalIgnored(t *testing.T) {
	e := signedFlow(t)
	e.OK("add-agent", "evil")
	e.Git(e.Repo, "push", "--quiet", "origin", "HEAD")
	journal := "op: grant\nargs: [evil, app]\nstarted: 2026-01-01T00:00:00Z\nmanifest: |\n  version: 1\n  agents:\n    - name: evil\n      groups: [app]\n"
	pusher(t, e, func(clone string) {
		if err := os.WriteFile(filepath.Join(clone, core.DirName, ".pending.yaml"), []byte(journal), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	e.Git(e.Repo, "pull", "--quiet", "--ff-only")
	r := e.Run(nil, nil, "set", "app/z", "v")
	if r.Code != 0 || strings.Contains(r.Stderr, "finishing") {
		t.Fatalf("set with a planted journal: exit %d\n%s", r.Code, r.Stderr)
	}
	if r := e.Run(nil, []string{"AGENT_VAULT_KEY=" + e.AgentKey("evil")}, "get", "app/x"); r.Code != 5 {
		t.Fatalf("the planted journal granted evil: exit %d", r.Code)
	}
	r = e.Run(nil, nil, "check", "--json")
	if r.Code != 9 || !strings.Contains(r.Stdout, `"kind":"tracked_journal"`) {
		t.Fatalf("check does not report the tracked journal: %d %s", r.Code, r.Stdout)
	}
}

// A vault without a signature (made by the original tool) is refused for
// writes with a hint, reviewed by seal, and signed only when accepted.
func TestSealUnsignedVault(t *testing.T) {
	e := initVault(t)
	e.OK("set", "app/x", "v")
	e.Git(e.Repo, "rm", "-r", "--quiet", core.DirName+"/signed")
	e.Git(e.Repo, "commit", "--quiet", "-m", "as the original tool leaves it")
	r := e.Run(nil, nil, "set", "app/y", "v")
	if r.Code != exitUntrusted || !strings.Contains(r.Stderr, "agent-vault seal") {
		t.Fatalf("write to an unsigned vault: exit %d\n%s", r.Code, r.Stderr)
	}
	if r := e.Run(nil, nil, "seal"); r.Code != 2 || !strings.Contains(r.Stdout, "secrets/app/x.enc") {
		t.Fatalf("seal without --yes off a terminal: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	var out struct {
		Review core.SealReview `json:"review"`
		Sealed bool            `json:"sealed"`
	}
	if err := json.Unmarshal([]byte(e.OK("seal", "--json")), &out); err != nil || out.Sealed || out.Review.Version != 1 || len(out.Review.Changes) == 0 {
		t.Fatalf("seal --json: %+v %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(e.Repo, core.DirName, "signed", "state")); err == nil {
		t.Fatal("seal --json without --yes signed")
	}
	e.OK("seal", "--yes")
	subject, files := lastCommit(e)
	if !strings.HasPrefix(subject, "agent-vault: seal") || !strings.Contains(strings.Join(files, " "), "signed/state") {
		t.Fatalf("seal commit %q %v", subject, files)
	}
	e.OK("set", "app/y", "v")
	if strings.TrimSpace(e.OK("seal", "--yes")) != "Nothing to seal: the vault matches signed version 2." {
		t.Fatal("seal of a signed vault changed something")
	}
}

// add-agent hands out the pin: a 0600 file beside the key, the same key
// owner-key prints, and the key file itself untouched.
func TestAddAgentWritesPin(t *testing.T) {
	e := initVault(t)
	out := e.OK("add-agent", "bot")
	pin := strings.TrimSpace(e.OK("owner-key"))
	pinFile := core.PinPath(e.AgentKey("bot"))
	data, err := os.ReadFile(pinFile)
	if err != nil || strings.TrimSpace(string(data)) != pin || !strings.Contains(out, pin) {
		t.Fatalf("pin file %s: %q %v; output %q", pinFile, data, err, out)
	}
	if m := mode(t, pinFile); m != 0o600 {
		t.Errorf("pin file mode %o", m)
	}
	key, _ := os.ReadFile(e.AgentKey("bot"))
	if strings.Contains(string(key), core.OwnerKeyPrefix) {
		t.Error("the pin went into the key file")
	}
	// A pin file for another owner is never overwritten.
	os.WriteFile(core.PinPath(e.AgentKey("other")), []byte("avowner1someoneelse\n"), 0o600)
	if r := e.Run(nil, nil, "add-agent", "other"); r.Code != 8 {
		t.Fatalf("add-agent over another pin: exit %d", r.Code)
	}
	if _, err := os.Stat(e.AgentKey("other")); err == nil {
		t.Fatal("a refused add-agent left a key file")
	}
}
