package core

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
)

// Files as the original Rust agent-vault writes them, and what this tool
// must do with them. tests/compat runs the original itself; these cases
// pin each format detail without it.

var keyLine = regexp.MustCompile(`^AGE-SECRET-KEY-1[0-9A-Z]+\n$`)

// The original CLI reads a key file as one trimmed key: a comment line
// makes it fail. Every key this tool writes, and every escrow, is the key
// line alone.
func TestKeyFilesAreOneLine(t *testing.T) {
	key, _, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if !keyLine.Match(key) {
		t.Fatalf("NewKey writes %d lines, want the key line alone", bytes.Count(key, []byte("\n")))
	}
	tv := newTestVault(t)
	e := tv.editor(nil)
	// An age-keygen file with its comment header is accepted, but only its
	// key line goes into the escrow.
	commented := append([]byte("# created: 2026-01-01T00:00:00Z\n# public key: age1x\n"), key...)
	if err := e.AddAgent("bot", commented); err != nil {
		t.Fatal(err)
	}
	escrow, err := os.ReadFile(filepath.Join(tv.dir, escrowFile("bot")))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := decrypt(escrow, tv.owner.id, 0, maxKeySize)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain, key) {
		t.Fatal("escrow does not hold exactly the key line")
	}
	restored, err := e.RestoreAgent("bot")
	if err != nil || !bytes.Equal(restored, key) {
		t.Fatalf("restore: %v, same bytes %v", err, bytes.Equal(restored, key))
	}

	// Escrows already written with a comment header (earlier versions) or
	// without a newline (the original) restore to the one-line form.
	owner, _ := ParseRecipient(tv.ownerPub(t))
	for name, content := range map[string][]byte{
		"commented": commented,
		"original":  bytes.TrimSpace(key),
	} {
		ct, err := encrypt(content, []age.Recipient{owner})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tv.dir, escrowFile("bot")), ct, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := e.RestoreAgent("bot")
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%s escrow: restore %v, one key line %v", name, err, keyLine.Match(got))
		}
	}
}

func (tv *testVault) ownerPub(t *testing.T) string {
	data, err := os.ReadFile(filepath.Join(tv.dir, ownerPubFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func (tv *testVault) check(t *testing.T, owner *Identity) []Finding {
	t.Helper()
	v, err := Open(os.DirFS(tv.dir))
	if err != nil {
		t.Fatal(err)
	}
	f, err := v.Check(CheckOptions{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// accept seals the current state, as the owner does after reviewing an
// edit made with the original tool (it signs nothing).
func (tv *testVault) accept(t *testing.T) {
	t.Helper()
	e := tv.editor(nil)
	r, err := e.ReviewSeal()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Seal(r); err != nil {
		t.Fatal(err)
	}
}

// kinds lists the kinds of findings, "kind:subject". The files the
// original tool rewrites are unsigned changes on a signed vault; these
// tests are about what else check says, so those are left out.
func kinds(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		if f.Kind != "unsigned_change" {
			out = append(out, f.Kind+":"+f.Subject)
		}
	}
	return out
}

func hasKind(fs []Finding, kind string) bool {
	for _, f := range fs {
		if f.Kind == kind {
			return true
		}
	}
	return false
}

func (tv *testVault) exists(name string) bool {
	_, err := os.Lstat(filepath.Join(tv.dir, name))
	return err == nil
}

func (tv *testVault) move(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(tv.dir, to)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tv.dir, from), filepath.Join(tv.dir, to)); err != nil {
		t.Fatal(err)
	}
}

// A path without '/' lives at secrets/default/<path>.*, as in the original
// CLI. Files in the earlier place, secrets/<path>.*, are still read, moved
// on the next write or by Relocate, and reported by check.
func TestTopLevelSecretLayout(t *testing.T) {
	tv := newTestVault(t)
	e := tv.editor(nil)
	tv.addAgent(e, "bot")
	if err := e.Set("toplevel", []byte("v1"), SetOptions{Group: "lone"}); err != nil {
		t.Fatal(err)
	}
	if !tv.exists("secrets/default/toplevel.enc") || !tv.exists("secrets/default/toplevel.meta") || tv.exists("secrets/toplevel.enc") {
		t.Fatal("a top-level secret is not stored at secrets/default/toplevel.*")
	}
	// Granting its group re-encrypts it where it is.
	if _, err := e.Grant("bot", "lone"); err != nil {
		t.Fatal(err)
	}
	tv.mustGet("bot", "toplevel", []byte("v1"))
	if f := tv.check(t, tv.owner); len(f) != 0 {
		t.Fatalf("check: %v", kinds(f))
	}

	// The earlier layout: still read, listed and checked, with a warning.
	tv.move(t, "secrets/default/toplevel.enc", "secrets/toplevel.enc")
	tv.move(t, "secrets/default/toplevel.meta", "secrets/toplevel.meta")
	tv.mustGet("bot", "toplevel", []byte("v1"))
	if l, err := tv.editor(nil).Vault().List(""); err != nil || len(l) != 1 {
		t.Fatalf("list: %v %v", l, err)
	}
	if f := tv.check(t, tv.owner); strings.Join(kinds(f), " ") != "legacy_location:toplevel legacy_location:toplevel" {
		t.Fatalf("check of the earlier layout: %v", kinds(f))
	}
	// A write moves it.
	if err := tv.editor(nil).Set("toplevel", []byte("v2"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	if tv.exists("secrets/toplevel.enc") || tv.exists("secrets/toplevel.meta") || !tv.exists("secrets/default/toplevel.enc") {
		t.Fatal("set did not move the secret out of the earlier layout")
	}
	tv.mustGet("bot", "toplevel", []byte("v2"))

	// Both places: the original's wins, check reports the other, and
	// Relocate keeps the more recently rotated copy.
	for _, ext := range []string{".enc", ".meta"} {
		data, _ := os.ReadFile(filepath.Join(tv.dir, "secrets/default/toplevel"+ext))
		os.WriteFile(filepath.Join(tv.dir, "secrets/toplevel"+ext), data, 0o644)
	}
	if err := tv.editor(nil).Set("toplevel", []byte("v3"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".enc", ".meta"} { // an older copy left beside it
		data, _ := os.ReadFile(filepath.Join(tv.dir, "secrets/default/toplevel"+ext))
		os.WriteFile(filepath.Join(tv.dir, "secrets/toplevel"+ext), data, 0o644)
	}
	if err := os.WriteFile(filepath.Join(tv.dir, "secrets/toplevel.meta"),
		[]byte("name: toplevel\ngroup: lone\ncreated: 2020-01-01T00:00:00Z\nrotated: 2020-01-01T00:00:00Z\nauthorized_agents: [bot]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tv.mustGet("bot", "toplevel", []byte("v3"))
	if f := tv.check(t, tv.owner); !hasKind(f, "shadowed_file") {
		t.Fatalf("check does not report the shadowed copy: %v", kinds(f))
	}
	moved, err := tv.editor(nil).Relocate()
	if err != nil || strings.Join(moved, ",") != "toplevel" {
		t.Fatalf("relocate = %v, %v", moved, err)
	}
	tv.mustGet("bot", "toplevel", []byte("v3"))
	if f := tv.check(t, tv.owner); len(f) != 0 {
		t.Fatalf("check after relocate: %v", kinds(f))
	}
	// Only in the earlier place: Relocate moves it byte for byte.
	tv.move(t, "secrets/default/toplevel.enc", "secrets/toplevel.enc")
	tv.move(t, "secrets/default/toplevel.meta", "secrets/toplevel.meta")
	if _, err := tv.editor(nil).Relocate(); err != nil {
		t.Fatal(err)
	}
	if tv.exists("secrets/toplevel.enc") || !tv.exists("secrets/default/toplevel.enc") {
		t.Fatal("relocate did not move the secret")
	}
	tv.mustGet("bot", "toplevel", []byte("v3"))

	// "x" and "default/x" would share files: the second is refused.
	if err := tv.editor(nil).Set("default/toplevel", []byte("v"), SetOptions{}); CodeOf(err) != CodeConflict {
		t.Fatalf("set default/toplevel beside toplevel: %v, want conflict", err)
	}
}

// greaseRecipient adds a stanza of an unknown type after the real one, as
// rage does to every file.
type greaseRecipient struct{ age.Recipient }

func (g greaseRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	s, err := g.Recipient.Wrap(fileKey)
	body := make([]byte, 37)
	rand.Read(body)
	return append(s, &age.Stanza{Type: "%Q)-grease", Args: []string{"w7", "K"}, Body: body}), err
}

// A grease stanza is not a recipient: check must not count it.
func TestGreaseStanzaIsNotARecipient(t *testing.T) {
	tv := newTestVault(t)
	e := tv.editor(nil)
	tv.addAgent(e, "bot")
	if err := e.Set("g/s", []byte("value"), SetOptions{Agents: []string{"bot"}}); err != nil {
		t.Fatal(err)
	}
	owner, _ := ParseRecipient(tv.ownerPub(t))
	bot, _ := ParseIdentity(tv.keys["bot"])
	botR, _ := ParseRecipient(bot.Recipient())
	ct, err := encrypt([]byte("value"), []age.Recipient{owner, greaseRecipient{botR}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tv.dir, encFile("g/s")), ct, 0o644); err != nil {
		t.Fatal(err)
	}
	tv.mustGet("bot", "g/s", []byte("value"))
	for _, who := range []*Identity{tv.owner, nil} {
		if f := tv.check(t, who); len(kinds(f)) != 0 {
			t.Fatalf("check (owner key %v) of a greased file: %v", who != nil, kinds(f))
		}
	}
	// A real extra recipient is still caught.
	extra, _ := age.GenerateX25519Identity()
	ct, _ = encrypt([]byte("value"), []age.Recipient{owner, botR, extra.Recipient()})
	os.WriteFile(filepath.Join(tv.dir, encFile("g/s")), ct, 0o644)
	if f := tv.check(t, tv.owner); !hasKind(f, "recipients_mismatch") {
		t.Fatalf("check misses an extra recipient: %v", kinds(f))
	}
}

// The original lists authorized agents in name order after a grant; the
// set, not the order, is the policy.
func TestCheckAcceptsAgentsInAnyOrder(t *testing.T) {
	tv := newTestVault(t)
	e := tv.editor(nil)
	tv.addAgent(e, "zed")
	tv.addAgent(e, "alpha")
	if err := e.Set("g/s", []byte("v"), SetOptions{Agents: []string{"zed", "alpha"}}); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(tv.dir, metaFile("g/s"))
	data, _ := os.ReadFile(name)
	swapped := strings.Replace(string(data), "[zed, alpha]", "[alpha, zed]", 1)
	if swapped == string(data) {
		t.Fatalf("unexpected metadata %q", data)
	}
	os.WriteFile(name, []byte(swapped), 0o644)
	if f := tv.check(t, nil); len(kinds(f)) != 0 {
		t.Fatalf("check: %v", kinds(f))
	}
}

// snapshotDir reads every file under dir.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		data, _ := os.ReadFile(p)
		out[rel] = string(data)
		return nil
	})
	return out
}

func sameFiles(t *testing.T, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if w, ok := after[k]; !ok || w != v {
			t.Errorf("%s changed or went missing", k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s appeared", k)
		}
	}
}

// An operation that fails on the vault's content (a secret the owner
// cannot decrypt, a public key gone) leaves every file as it was and no
// journal, so the next command works.
func TestFailedOperationLeavesVaultAsItWas(t *testing.T) {
	tv := newTestVault(t)
	e := tv.editor(nil)
	tv.addAgent(e, "bot")
	for _, s := range []string{"g/a", "g/b", "g/c"} {
		if err := e.Set(s, []byte("v-"+s), SetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// g/b can no longer be opened with the owner key.
	stranger, _ := age.GenerateX25519Identity()
	ct, _ := encrypt([]byte("x"), []age.Recipient{stranger.Recipient()})
	os.WriteFile(filepath.Join(tv.dir, encFile("g/b")), ct, 0o644)
	tv.accept(t)
	before := snapshotDir(t, tv.dir)
	if _, err := tv.editor(nil).Grant("bot", "g"); CodeOf(err) != CodeNotAuthorized {
		t.Fatalf("grant over an undecryptable secret: %v", err)
	}
	sameFiles(t, before, snapshotDir(t, tv.dir))
	tv.mustDeny("bot", "g/a")

	// A new secret whose group names an agent without a public key.
	// On a signed vault the missing key is refused as an unsigned change
	// before anything is written; either way nothing changes.
	pub := filepath.Join(tv.dir, agentPubFile("bot"))
	pubData, _ := os.ReadFile(pub)
	os.Remove(pub)
	before = snapshotDir(t, tv.dir)
	if err := tv.editor(nil).Set("h/new", []byte("v"), SetOptions{Agents: []string{"bot"}}); CodeOf(err) != CodeCorruptVault && CodeOf(err) != CodeUntrusted {
		t.Fatalf("set for an agent without a public key: %v", err)
	}
	sameFiles(t, before, snapshotDir(t, tv.dir))
	os.WriteFile(pub, pubData, 0o644)
	if err := tv.editor(nil).Set("g/a", []byte("v2"), SetOptions{}); err != nil {
		t.Fatalf("set after the failures: %v", err)
	}
	tv.mustGet("owner", "g/a", []byte("v2"))
}

// A journal whose plan names a secret with no ciphertext at all (left by an
// earlier version that looked in the wrong place, or a file deleted by
// hand) is still finished by Repair: there is nothing to re-encrypt.
func TestRepairSkipsMissingSecret(t *testing.T) {
	tv := newTestVault(t)
	e := tv.editor(nil)
	tv.addAgent(e, "bot")
	for _, s := range []string{"g/a", "g/b"} {
		if err := e.Set(s, []byte("v-"+s), SetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(tv.dir, encFile("g/b")))
	m := e.Manifest().clone()
	m.Agent("bot").Groups = []string{"g"}
	mdata, _ := m.Marshal()
	journal := "op: grant\nargs: [bot, g]\nstarted: 2026-01-01T00:00:00Z\nmanifest: |\n" +
		"  " + strings.ReplaceAll(strings.TrimSuffix(string(mdata), "\n"), "\n", "\n  ") + "\nsecrets: [g/a, g/b]\n"
	tv.accept(t)
	os.WriteFile(filepath.Join(filepath.Dir(tv.dir), "local", localJournal), []byte(journal), 0o600)
	op, err := tv.editor(nil).Repair()
	if err != nil || op != "grant" {
		t.Fatalf("repair = %q, %v", op, err)
	}
	tv.mustGet("bot", "g/a", []byte("v-g/a"))
	if f := tv.check(t, tv.owner); strings.Join(kinds(f), " ") != "missing_file:g/b" {
		t.Fatalf("check after repair: %v", kinds(f))
	}
}

// The original writes nanosecond timestamps; a rewrite of the metadata
// keeps them to the digit.
func TestMetadataKeepsTimestampPrecision(t *testing.T) {
	tv := newTestVault(t)
	e := tv.editor(nil)
	tv.addAgent(e, "bot")
	if err := e.Set("g/s", []byte("v"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	const created = "created: 2026-12-01T19:58:24.147245030Z"
	const rotated = "rotated: 2026-12-01T19:58:24.382705899Z"
	const expires = "expires: 2027-01-01T00:00:00.500Z"
	orig := "name: g/s\ngroup: g\n" + created + "\n" + rotated + "\n" + expires + "\nauthorized_agents: []\n"
	os.WriteFile(filepath.Join(tv.dir, metaFile("g/s")), []byte(orig), 0o644)
	tv.accept(t)
	if _, err := tv.editor(nil).Grant("bot", "g"); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(tv.dir, metaFile("g/s")))
	for _, line := range []string{created, rotated, expires, "authorized_agents: [bot]"} {
		if !strings.Contains(string(after), line+"\n") {
			t.Errorf("rewritten metadata lacks %q:\n%s", line, after)
		}
	}
	// Times this tool makes are whole seconds.
	if err := tv.editor(nil).Set("g/new", []byte("v"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	fresh, _ := os.ReadFile(filepath.Join(tv.dir, metaFile("g/new")))
	if !regexp.MustCompile(`(?m)^created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).Match(fresh) {
		t.Errorf("new metadata: %s", fresh)
	}
}
