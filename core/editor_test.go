package core

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"filippo.io/age"

	"github.com/agent-vault/agent-vault/internal/osfs"
)

// testVault is a vault in a temp dir with a throwaway owner key.
type testVault struct {
	t     *testing.T
	dir   string // the .agent-vault directory
	owner *Identity
	keys  map[string][]byte
}

func newTestVault(t *testing.T) *testVault {
	t.Helper()
	dir := filepath.Join(t.TempDir(), DirName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	key, pub, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := ParseIdentity(key)
	d := mustDir(t, dir)
	_ = pub
	if err := InitSigned(d, "owner", owner); err != nil {
		t.Fatal(err)
	}
	return &testVault{t: t, dir: dir, owner: owner, keys: map[string][]byte{}}
}

func mustDir(t *testing.T, dir string) *osfs.Dir {
	d, err := osfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func (tv *testVault) editor(w WriteFS) *Editor {
	tv.t.Helper()
	if w == nil {
		w = mustDir(tv.t, tv.dir)
	}
	e, err := Edit(w, EditOptions{Owner: tv.owner, Workers: 2, Local: tv.local()})
	if err != nil {
		tv.t.Fatal(err)
	}
	return e
}

// local is the vault's clone-local state directory, beside it.
func (tv *testVault) local() *osfs.Dir {
	dir := filepath.Join(filepath.Dir(tv.dir), "local")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tv.t.Fatal(err)
	}
	return mustDir(tv.t, dir)
}

func (tv *testVault) addAgent(e *Editor, name string) {
	tv.t.Helper()
	key, _, err := NewKey()
	if err != nil {
		tv.t.Fatal(err)
	}
	if err := e.AddAgent(name, key); err != nil {
		tv.t.Fatal(err)
	}
	tv.keys[name] = key
}

// get reads secret as agent ("owner" for the owner) from a fresh open.
func (tv *testVault) get(who, secret string) ([]byte, error) {
	v, err := Open(os.DirFS(tv.dir))
	if err != nil {
		return nil, err
	}
	id := tv.owner
	if who != "owner" {
		if id, err = ParseIdentity(tv.keys[who]); err != nil {
			return nil, err
		}
	}
	return v.WithIdentity(id).Get(secret)
}

func (tv *testVault) mustGet(who, secret string, want []byte) {
	tv.t.Helper()
	got, err := tv.get(who, secret)
	if err != nil || !bytes.Equal(got, want) {
		tv.t.Fatalf("get %s as %s = %q, %v; want %q", secret, who, got, err, want)
	}
}

func (tv *testVault) mustDeny(who, secret string) {
	tv.t.Helper()
	if _, err := tv.get(who, secret); CodeOf(err) != CodeNotAuthorized {
		tv.t.Fatalf("get %s as %s: %v, want not_authorized", secret, who, err)
	}
}

func TestOwnerAgentFlow(t *testing.T) {
	tv := newTestVault(t)
	e := tv.editor(nil)
	for _, a := range []string{"a1", "a2", "a3"} {
		tv.addAgent(e, a)
	}
	value := []byte("line1\nline2\x00\xff")
	if err := e.Set("stripe/api-key", value, SetOptions{}); err != nil {
		t.Fatal(err)
	}
	tv.mustDeny("a1", "stripe/api-key")
	for _, a := range []string{"a3", "a1"} {
		if _, err := e.Grant(a, "stripe"); err != nil {
			t.Fatal(err)
		}
	}
	tv.mustGet("owner", "stripe/api-key", value)
	tv.mustGet("a1", "stripe/api-key", value)
	tv.mustGet("a3", "stripe/api-key", value)
	tv.mustDeny("a2", "stripe/api-key")

	meta, err := e.Vault().Metadata("stripe/api-key")
	if err != nil {
		t.Fatal(err)
	}
	// Manifest order, not grant order, fixes the recipient order.
	if !slices.Equal(meta.AuthorizedAgents, []string{"a1", "a3"}) {
		t.Fatalf("authorized_agents = %v", meta.AuthorizedAgents)
	}
	tv.assertStanzaOrder("stripe/api-key", []string{"a1", "a3"})

	rotate, err := e.Revoke("a1", "stripe")
	if err != nil || !slices.Equal(rotate, []string{"stripe/api-key"}) {
		t.Fatalf("revoke = %v, %v", rotate, err)
	}
	tv.mustDeny("a1", "stripe/api-key")
	tv.mustGet("a3", "stripe/api-key", value)
	if _, err := e.Revoke("a1", "stripe"); CodeOf(err) != CodeInvalidInput {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := e.Grant("nobody", "stripe"); CodeOf(err) != CodeInvalidInput {
		t.Fatalf("grant unknown agent: %v", err)
	}
	if _, err := e.Grant("a2", "nogroup"); CodeOf(err) != CodeInvalidInput {
		t.Fatalf("grant unknown group: %v", err)
	}
}

// assertStanzaOrder checks docs/architecture.md §4: owner first, then the agents in
// authorized_agents order, by unwrapping each stanza alone.
func (tv *testVault) assertStanzaOrder(secret string, agents []string) {
	tv.t.Helper()
	ct, err := os.ReadFile(filepath.Join(tv.dir, encFile(secret)))
	if err != nil {
		tv.t.Fatal(err)
	}
	n, _ := stanzaCount(ct)
	if n != len(agents)+1 {
		tv.t.Fatalf("%d stanzas, want %d", n, len(agents)+1)
	}
	ids := []*Identity{tv.owner}
	for _, a := range agents {
		id, _ := ParseIdentity(tv.keys[a])
		ids = append(ids, id)
	}
	for i, id := range ids {
		if _, err := age.Decrypt(bytes.NewReader(ct), onlyStanza{id.id, i}); err != nil {
			tv.t.Fatalf("stanza %d does not belong to recipient %d: %v", i, i, err)
		}
	}
}

// onlyStanza tries a single stanza, to test recipient order.
type onlyStanza struct {
	id age.Identity
	i  int
}

func (o onlyStanza) Unwrap(s []*age.Stanza) ([]byte, error) { return o.id.Unwrap(s[o.i : o.i+1]) }

func TestSetKeepsCreatedGroupAndExpiry(t *testing.T) {
	tv := newTestVault(t)
	e := tv.editor(nil)
	exp, _ := ParseExpiry("2030-01-02")
	if err := e.Set("token", []byte("v1"), SetOptions{Group: "ops", Expires: &exp}); err != nil {
		t.Fatal(err)
	}
	first, _ := e.Vault().Metadata("token")
	if err := e.Set("token", []byte("v2"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	m, _ := e.Vault().Metadata("token")
	if m.Group != "ops" || !m.Created.Equal(first.Created) || m.Expires == nil || !m.Expires.Equal(exp) {
		t.Fatalf("metadata after update: %+v", m)
	}
	tv.mustGet("owner", "token", []byte("v2"))
	if g := e.Manifest().GroupOf("token"); g != "ops" {
		t.Fatalf("group %q", g)
	}
}

func TestRemoveRecoverRestore(t *testing.T) {
	tv := newTestVault(t)
	e := tv.editor(nil)
	tv.addAgent(e, "keep")
	tv.addAgent(e, "gone")
	if err := e.Set("db/url", []byte("postgres://x"), SetOptions{Agents: []string{"keep", "gone"}}); err != nil {
		t.Fatal(err)
	}
	tv.mustGet("gone", "db/url", []byte("postgres://x"))
	restored, err := e.RestoreAgent("keep")
	if err != nil || !bytes.Equal(restored, tv.keys["keep"]) {
		t.Fatalf("restore = %v", err)
	}
	if _, err := e.RemoveAgent("gone"); err != nil {
		t.Fatal(err)
	}
	tv.mustDeny("gone", "db/url")
	if _, err := os.Lstat(filepath.Join(tv.dir, "agents", "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("agent dir still there: %v", err)
	}
	old := tv.keys["keep"]
	newKey, _, _ := NewKey()
	if _, err := e.RecoverAgent("keep", newKey); err != nil {
		t.Fatal(err)
	}
	tv.keys["keep"] = newKey
	tv.mustGet("keep", "db/url", []byte("postgres://x"))
	tv.keys["old"] = old
	tv.mustDeny("old", "db/url")

	// An escrow copied from another agent is refused.
	tv.addAgent(e, "other")
	esc, _ := os.ReadFile(filepath.Join(tv.dir, escrowFile("other")))
	if err := os.WriteFile(filepath.Join(tv.dir, escrowFile("keep")), esc, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.RestoreAgent("keep"); CodeOf(err) != CodeCorruptVault {
		t.Fatalf("restore with foreign escrow: %v", err)
	}
}

func TestOwnerKeyRequired(t *testing.T) {
	tv := newTestVault(t)
	e, err := Edit(mustDir(t, tv.dir), EditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tv.addAgent(e, "a")
	if err := e.Set("x/y", []byte("v"), SetOptions{}); err != nil {
		t.Fatalf("set without owner key: %v", err)
	}
	if _, err := e.Grant("a", "x"); CodeOf(err) != CodeInvalidKey {
		t.Fatalf("grant without owner key: %v", err)
	}
	agentKey, _ := ParseIdentity(tv.keys["a"])
	e2, _ := Edit(mustDir(t, tv.dir), EditOptions{Owner: agentKey})
	if _, err := e2.Grant("a", "x"); CodeOf(err) != CodeInvalidKey {
		t.Fatalf("grant with an agent key: %v", err)
	}
}

// A group already shared by as many agents as an age file can carry
// refuses one more, before anything is written.
func TestGrantRefusesOverfullGroup(t *testing.T) {
	tv := newTestVault(t)
	m := &Manifest{Version: 1, Owners: []OwnerEntry{{Name: "owner", PublicKey: ownerPubFile}}}
	for i := range MaxAgentsPerGroup {
		m.Agents = append(m.Agents, AgentEntry{Name: fmt.Sprintf("a%04d", i), Groups: []string{"g"}})
	}
	m.Agents = append(m.Agents, AgentEntry{Name: "extra", Groups: []string{}})
	m.Groups = []GroupEntry{{Name: "g", Secrets: []string{}}}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(tv.dir, manifestFile)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tv.editor(nil).Grant("extra", "g"); CodeOf(err) != CodeInvalidInput {
		t.Fatalf("grant to a full group: %v, want invalid_input", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
		t.Fatal("a refused grant changed the manifest")
	}
}
