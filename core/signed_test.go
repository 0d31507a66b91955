package core

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// signedVault is a signed test vault with agents a and b, a granted group
// g holding g/s1 and g/s2, and b holding nothing.
func signedVault(t *testing.T) (*testVault, map[string][]byte) {
	t.Helper()
	tv := newTestVault(t)
	e := tv.editor(nil)
	tv.addAgent(e, "a")
	tv.addAgent(e, "b")
	values := map[string][]byte{"g/s1": []byte("value-one"), "g/s2": []byte("value-two")}
	for _, s := range sortedKeys(values) {
		if err := e.Set(s, values[s], SetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Grant("a", "g"); err != nil {
		t.Fatal(err)
	}
	return tv, values
}

// write replaces a vault file as someone with push access would.
func (tv *testVault) write(name string, data []byte) {
	tv.t.Helper()
	p := filepath.Join(tv.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tv.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tv.t.Fatal(err)
	}
}

func (tv *testVault) read(name string) []byte {
	tv.t.Helper()
	data, err := os.ReadFile(filepath.Join(tv.dir, name))
	if err != nil {
		tv.t.Fatal(err)
	}
	return data
}

// findings runs check with the owner key and returns "kind:subject" of
// every error.
func (tv *testVault) findings(opts CheckOptions) []string {
	tv.t.Helper()
	v, err := Open(os.DirFS(tv.dir))
	if err != nil {
		tv.t.Fatal(err)
	}
	opts.Now, opts.Owner = time.Now(), tv.owner
	fs, err := v.Check(opts)
	if err != nil {
		tv.t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		if f.Severity == SeverityError {
			out = append(out, f.Kind+":"+f.Subject)
		}
	}
	return out
}

func requireUntrusted(t *testing.T, what string, err error, mention string) {
	t.Helper()
	if CodeOf(err) != CodeUntrusted {
		t.Fatalf("%s: %v, want untrusted", what, err)
	}
	if !strings.Contains(err.Error(), mention) {
		t.Fatalf("%s: %q does not say what changed (%s)", what, err, mention)
	}
}

// attackerKey is a key someone with push access holds.
func attackerKey(t *testing.T) ([]byte, string) {
	key, pub, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return key, pub
}

// Attack 2: someone who can push enrols their own agent (public key,
// escrow, manifest entry with a group). The owner's next set or grant must
// not encrypt to it.
func TestAttackEnrolledAgent(t *testing.T) {
	tv, _ := signedVault(t)
	evilKey, evilPub := attackerKey(t)
	tv.write(agentPubFile("evil"), []byte(evilPub+"\n"))
	tv.write(escrowFile("evil"), []byte("not an escrow"))
	m := tv.read(manifestFile)
	m = bytes.Replace(m, []byte("agents:\n"), []byte("agents:\n  - name: evil\n    groups: [g]\n"), 1)
	tv.write(manifestFile, m)

	e := tv.editor(nil)
	requireUntrusted(t, "set after a planted agent", e.Set("g/s3", []byte("fresh"), SetOptions{}), "agents/evil/public.key")
	_, err := e.Grant("b", "g")
	requireUntrusted(t, "grant after a planted agent", err, "manifest.yaml")
	if exists(os.DirFS(tv.dir), encFile("g/s3")) {
		t.Fatal("a refused set wrote the secret")
	}
	// Nothing in the vault opens with the planted key.
	tv.keys["evil"] = evilKey
	tv.mustDeny("evil", "g/s1")
	got := tv.findings(CheckOptions{})
	for _, want := range []string{"unsigned_change:manifest.yaml", "unsigned_change:agents/evil/public.key"} {
		if !slices.Contains(got, want) {
			t.Errorf("check does not report %s: %v", want, got)
		}
	}
}

// Attack 3: someone swaps an agent's public key for their own. check sees
// the escrow no longer matches, and the owner refuses to encrypt to it.
func TestAttackSwappedAgentKey(t *testing.T) {
	tv, _ := signedVault(t)
	_, evilPub := attackerKey(t)
	tv.write(agentPubFile("a"), []byte(evilPub+"\n"))
	e := tv.editor(nil)
	requireUntrusted(t, "set to a group of the swapped agent", e.Set("g/s3", []byte("fresh"), SetOptions{}), "agents/a/public.key")
	got := tv.findings(CheckOptions{})
	for _, want := range []string{"unsigned_change:agents/a/public.key", "escrow_mismatch:a"} {
		if !slices.Contains(got, want) {
			t.Errorf("check does not report %s: %v", want, got)
		}
	}
}

// The escrow comparison needs no signature: a vault the original tool
// made, never signed, still shows a swapped key.
func TestEscrowMismatchInUnsignedVault(t *testing.T) {
	tv, _ := signedVault(t)
	for _, f := range []string{stateFile} {
		os.Remove(filepath.Join(tv.dir, f))
	}
	os.RemoveAll(filepath.Join(tv.dir, bucketsDir))
	_, evilPub := attackerKey(t)
	tv.write(agentPubFile("b"), []byte(evilPub+"\n"))
	if got := tv.findings(CheckOptions{}); !slices.Contains(got, "escrow_mismatch:b") {
		t.Fatalf("check does not report the swapped key: %v", got)
	}
}

// Attack 4: someone replaces owner.pub. Owner commands use the key derived
// from owner.key, refuse the vault, and seal restores owner.pub.
func TestAttackSwappedOwnerPub(t *testing.T) {
	tv, values := signedVault(t)
	_, evilPub := attackerKey(t)
	tv.write(ownerPubFile, []byte(evilPub+"\n"))
	e := tv.editor(nil)
	requireUntrusted(t, "set with a replaced owner.pub", e.Set("g/s3", []byte("fresh"), SetOptions{}), "owner.pub")
	if got := tv.findings(CheckOptions{}); !slices.Contains(got, "owner_key_replaced:owner.pub") {
		t.Fatalf("check does not report the replaced owner key: %v", got)
	}
	r, err := e.ReviewSeal()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(r.Changes, func(c SealChange) bool { return c.File == ownerPubFile && c.Change == "restored" }) {
		t.Fatalf("seal does not restore owner.pub: %+v", r.Changes)
	}
	if err := e.Seal(r); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(tv.read(ownerPubFile))); got != tv.owner.Recipient() {
		t.Fatalf("owner.pub after seal: %s", got)
	}
	e = tv.editor(nil)
	if err := e.Set("g/s3", []byte("fresh"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	tv.mustGet("owner", "g/s3", []byte("fresh"))
	tv.mustGet("owner", "g/s1", values["g/s1"])
}

// Attack 5: someone commits the pre-revoke tree again, signatures and all.
// An owner who remembers the version signed since refuses it, so the
// rotated credential is never encrypted to the revoked agent.
func TestAttackRollbackAfterRevoke(t *testing.T) {
	tv, _ := signedVault(t)
	before := filepath.Join(t.TempDir(), "before")
	copyDir(t, tv.dir, before)
	e := tv.editor(nil)
	if _, err := e.Revoke("a", "g"); err != nil {
		t.Fatal(err)
	}
	id, version := e.SignedState()
	os.RemoveAll(tv.dir)
	copyDir(t, before, tv.dir)
	seen := func(v string) uint64 {
		if v == id {
			return version
		}
		return 0
	}
	e2, err := Edit(mustDir(t, tv.dir), EditOptions{Owner: tv.owner, Local: tv.local(), Seen: seen})
	if err != nil {
		t.Fatal(err)
	}
	requireUntrusted(t, "set of the rotated value on a rolled-back vault", e2.Set("g/s1", []byte("rotated"), SetOptions{}), "rolled back")
	tv.mustGet("a", "g/s1", []byte("value-one")) // the old value, as before: nothing new reached a
	if _, err := e2.ReviewSeal(); CodeOf(err) != CodeUntrusted {
		t.Fatalf("seal accepts a rollback: %v", err)
	}
}

// Attack 6: a journal committed inside .agent-vault is never applied, and
// check reports it as an attack when Git tracks it.
func TestAttackPlantedJournal(t *testing.T) {
	tv, _ := signedVault(t)
	evil := "op: grant\nargs: [b, g]\nstarted: 2026-01-01T00:00:00Z\nmanifest: |\n  version: 1\n  agents:\n    - name: b\n      groups: [g]\n"
	tv.write(journalFile, []byte(evil))
	e := tv.editor(nil)
	if op, _, err := e.Pending(); op != "" || err != nil {
		t.Fatalf("a journal in the working tree is pending: %q %v", op, err)
	}
	if op, err := e.Repair(); op != "" || err != nil {
		t.Fatalf("repair applied a planted journal: %q %v", op, err)
	}
	if err := e.Set("g/s3", []byte("fresh"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	tv.mustDeny("b", "g/s3")
	if got := tv.findings(CheckOptions{JournalTracked: true}); !slices.Contains(got, "tracked_journal:"+journalFile) {
		t.Fatalf("check does not report a tracked journal: %v", got)
	}
	if got := tv.findings(CheckOptions{}); slices.Contains(got, "tracked_journal:"+journalFile) {
		t.Fatalf("an untracked old journal is reported as an attack: %v", got)
	}
}

// A change made without the owner key (as the original tool makes it) is
// never signed silently: the owner's next write refuses and names it,
// seal lists it and, once accepted, writes work again.
func TestUnsignedChangeNeedsSeal(t *testing.T) {
	tv, _ := signedVault(t)
	plain, err := Edit(mustDir(t, tv.dir), EditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Set("g/by-hand", []byte("from the other tool"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	e := tv.editor(nil)
	err = e.Set("g/s3", []byte("fresh"), SetOptions{})
	requireUntrusted(t, "write after an unsigned change", err, "manifest.yaml")
	if !strings.Contains(HintOf(err), "seal") {
		t.Fatalf("no hint to seal: %q", HintOf(err))
	}
	r, err := e.ReviewSeal()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, c := range r.Changes {
		files = append(files, c.Change+" "+c.File)
	}
	want := []string{"changed manifest.yaml", "new secrets/g/by-hand.enc", "new secrets/g/by-hand.meta"}
	if !slices.Equal(files, want) {
		t.Fatalf("seal review %v, want %v", files, want)
	}
	if err := e.Seal(r); err != nil {
		t.Fatal(err)
	}
	if got := tv.findings(CheckOptions{}); len(got) != 0 {
		t.Fatalf("check after seal: %v", got)
	}
	if err := tv.editor(nil).Set("g/s3", []byte("fresh"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A vault the original tool made is refused until sealed, then signed.
func TestNeverSignedVault(t *testing.T) {
	dir := filepath.Join(t.TempDir(), DirName)
	os.MkdirAll(dir, 0o755)
	key, pub, _ := NewKey()
	owner, _ := ParseIdentity(key)
	if err := Init(mustDir(t, dir), "owner", pub); err != nil {
		t.Fatal(err)
	}
	tv := &testVault{t: t, dir: dir, owner: owner, keys: map[string][]byte{}}
	v, _ := Open(os.DirFS(dir))
	if tr, err := v.LoadTrust(""); err != nil || tr.Signed() {
		t.Fatalf("unsigned vault: %v signed=%v", err, tr != nil && tr.Signed())
	}
	if _, err := v.LoadTrust(mustPin(t, owner)); CodeOf(err) != CodeUntrusted {
		t.Fatalf("unsigned vault with a pin: %v", err)
	}
	e := tv.editor(nil)
	requireUntrusted(t, "write to a never-signed vault", e.Set("x/y", []byte("v"), SetOptions{}), "no owner signature")
	r, err := e.ReviewSeal()
	if err != nil || r.FromVersion != 0 || r.Version != 1 || len(r.VaultID) != 32 {
		t.Fatalf("review of a never-signed vault: %+v %v", r, err)
	}
	if err := e.Seal(r); err != nil {
		t.Fatal(err)
	}
	v, _ = Open(os.DirFS(dir))
	tr, err := v.LoadTrust(mustPin(t, owner))
	if err != nil || !tr.Signed() || tr.Version() != 1 || tr.VaultID() != r.VaultID {
		t.Fatalf("after seal: %v", err)
	}
}

func mustPin(t *testing.T, id *Identity) string {
	p, err := OwnerVerificationKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// trusted opens a fresh session that verifies against pin.
func (tv *testVault) trusted(who, pin string) (*Session, error) {
	v, err := Open(os.DirFS(tv.dir))
	if err != nil {
		return nil, err
	}
	tr, err := v.LoadTrust(pin)
	if err != nil {
		return nil, err
	}
	id := tv.owner
	if who != "owner" {
		if id, err = ParseIdentity(tv.keys[who]); err != nil {
			return nil, err
		}
	}
	return v.WithIdentity(id).WithTrust(tr), nil
}

// Attack 1 (reader side): a value planted by someone who can push (a
// ciphertext to the owner and the agent, both public keys) is refused by
// a reader that verifies, while the untouched secret still reads.
func TestReaderRefusesPlantedValue(t *testing.T) {
	tv, values := signedVault(t)
	pin := mustPin(t, tv.owner)
	ownerR, _ := ParseRecipient(tv.owner.Recipient())
	aID, _ := ParseIdentity(tv.keys["a"])
	aR, _ := ParseRecipient(aID.Recipient())
	planted, err := encrypt([]byte("attacker's value"), []age.Recipient{ownerR, aR})
	if err != nil {
		t.Fatal(err)
	}
	tv.write(encFile("g/s1"), planted)
	if got, err := tv.get("a", "g/s1"); err != nil || string(got) != "attacker's value" {
		t.Fatalf("without verification the planted value reads: %q %v", got, err)
	}
	s, err := tv.trusted("a", pin)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Get("g/s1")
	requireUntrusted(t, "get of a planted value", err, "secrets/g/s1.enc")
	if got, err := s.Get("g/s2"); err != nil || !bytes.Equal(got, values["g/s2"]) {
		t.Fatalf("untouched secret: %q %v", got, err)
	}
	// Changed metadata is refused too, and so is a listing.
	tv.write(encFile("g/s1"), planted)
	meta := tv.read(metaFile("g/s2"))
	tv.write(metaFile("g/s2"), append(meta, "# edited\n"...))
	s, _ = tv.trusted("a", pin)
	_, err = s.Get("g/s2")
	requireUntrusted(t, "get with edited metadata", err, "secrets/g/s2.meta")
	v, _ := Open(os.DirFS(tv.dir))
	tr, _ := v.LoadTrust(pin)
	_, err = tr.List("")
	requireUntrusted(t, "list with edited metadata", err, "secrets/g/s")
}

// A reader with a pin refuses a state signed by any other key, such as a
// whole signed/ directory forged by someone who can push.
func TestReaderRefusesForeignSignature(t *testing.T) {
	tv, _ := signedVault(t)
	forger, _, _ := NewKey()
	fid, _ := ParseIdentity(forger)
	k, _ := ownerSigner(fid)
	st, err := readState(os.DirFS(tv.dir))
	if err != nil {
		t.Fatal(err)
	}
	st.signer = k.pub
	tv.write(stateFile, st.sign(k))
	v, _ := Open(os.DirFS(tv.dir))
	if _, err := v.LoadTrust(mustPin(t, tv.owner)); CodeOf(err) != CodeUntrusted {
		t.Fatalf("forged state with the owner's pin: %v", err)
	}
	// Without a pin it verifies (trust on first use) and names its key,
	// which differs from the owner's.
	tr, err := v.LoadTrust("")
	if err != nil || tr.OwnerKey() == mustPin(t, tv.owner) {
		t.Fatalf("forged state without a pin: %v", err)
	}
	if _, err := tv.editor(nil).ReviewSeal(); CodeOf(err) != CodeUntrusted {
		t.Fatalf("the owner seals over a forged state: %v", err)
	}
	if got := tv.findings(CheckOptions{}); !slices.Contains(got, "foreign_signature:"+stateFile) {
		t.Fatalf("check: %v", got)
	}
}

// Versions only go up, the vault id stays, and CheckSeen refuses an older
// version, another vault and an unsigned vault after a signed one.
func TestVersionsAndRollback(t *testing.T) {
	tv, _ := signedVault(t)
	v, _ := Open(os.DirFS(tv.dir))
	t1, err := v.LoadTrust(mustPin(t, tv.owner))
	if err != nil {
		t.Fatal(err)
	}
	e := tv.editor(nil)
	if err := e.Set("g/s3", []byte("v"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	v, _ = Open(os.DirFS(tv.dir))
	t2, _ := v.LoadTrust(mustPin(t, tv.owner))
	if t2.Version() != t1.Version()+1 || t2.VaultID() != t1.VaultID() || t2.Fingerprint() != t1.Fingerprint() {
		t.Fatalf("versions %d -> %d, ids %s %s", t1.Version(), t2.Version(), t1.VaultID(), t2.VaultID())
	}
	if err := t2.CheckSeen(t1.VaultID(), t1.Version()); err != nil {
		t.Fatal(err)
	}
	if err := t1.CheckSeen(t2.VaultID(), t2.Version()); CodeOf(err) != CodeUntrusted {
		t.Fatalf("older version accepted: %v", err)
	}
	if err := t2.CheckSeen(strings.Repeat("0", 32), 1); CodeOf(err) != CodeUntrusted {
		t.Fatalf("another vault id accepted: %v", err)
	}
	if err := (&Trust{v: v}).CheckSeen(t2.VaultID(), 1); CodeOf(err) != CodeUntrusted {
		t.Fatalf("unsigned after signed accepted: %v", err)
	}
	if len(t2.Fingerprint()) != 19 || !strings.HasPrefix(t2.OwnerKey(), OwnerKeyPrefix) {
		t.Fatalf("fingerprint %q key %q", t2.Fingerprint(), t2.OwnerKey())
	}
}

// Signing rewrites only the buckets a change touches.
func TestOnlyChangedBucketsAreWritten(t *testing.T) {
	tv, _ := signedVault(t)
	for i := range 40 {
		if err := tv.editor(nil).Set("many/s"+string(rune('a'+i%26))+string(rune('a'+i/26)), []byte("v"), SetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recordingFS{WriteFS: mustDir(t, tv.dir)}
	e := tv.editor(rec)
	if err := e.Set("many/sb", []byte("new value"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	var buckets int
	for _, n := range rec.written {
		if strings.HasPrefix(n, bucketsDir+"/") {
			buckets++
		}
	}
	if buckets != 1 {
		t.Fatalf("a one-secret set wrote %d buckets: %v", buckets, rec.written)
	}
}

type recordingFS struct {
	WriteFS
	written []string
}

func (r *recordingFS) WriteFile(name string, data []byte, perm os.FileMode) error {
	r.written = append(r.written, name)
	return r.WriteFS.WriteFile(name, data, perm)
}

// The signing key is a fixed function of the owner key: the same key
// gives the same pin, another key another pin, and the pin round-trips.
func TestSigningKeyDerivation(t *testing.T) {
	key, _, _ := NewKey()
	a, _ := ParseIdentity(key)
	b, _ := ParseIdentity(key)
	other, _, _ := NewKey()
	c, _ := ParseIdentity(other)
	pa, pb, pc := mustPin(t, a), mustPin(t, b), mustPin(t, c)
	if pa != pb || pa == pc || len(pa) != len(OwnerKeyPrefix)+52 {
		t.Fatalf("pins %s %s %s", pa, pb, pc)
	}
	pub, err := ParseOwnerKey(" " + pa + "\n")
	if err != nil || formatOwnerKey(pub) != pa {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", "avowner1", pa[:len(pa)-1], strings.ToUpper(pa), "age1" + pa[8:]} {
		if _, err := ParseOwnerKey(bad); err == nil {
			t.Errorf("accepted pin %q", bad)
		}
	}
	if PinPath("/h/.agent-vault/agents/bot.key") != "/h/.agent-vault/agents/bot.owner" {
		t.Error(PinPath("/h/.agent-vault/agents/bot.key"))
	}
}

// The pin a reader derives is the public half of the key the owner signs
// with, for any seed: publicKeyOf agrees with crypto/ed25519.
func TestPinIsTheSigningKeysPublicHalf(t *testing.T) {
	for i := 0; i < 64; i++ {
		seed := make([]byte, ed25519.SeedSize)
		rand.Read(seed)
		want := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		if got := publicKeyOf(seed); !bytes.Equal(got, want) {
			t.Fatalf("seed %d: derived %x, crypto/ed25519 %x", i, got, want)
		}
	}
	key, _, _ := NewKey()
	id, _ := ParseIdentity(key)
	s, err := ownerSigner(id)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParseOwnerKey(mustPin(t, id))
	if err != nil || !bytes.Equal(pub, s.pub) {
		t.Fatalf("pin %x, signer %x (%v)", pub, s.pub, err)
	}
	msg := []byte("state")
	if !ed25519.Verify(pub, msg, ed25519.Sign(s.priv, msg)) {
		t.Fatal("a signature by the owner's signing key does not verify under its pin")
	}
}

// RFC 8032 §7.1's own vectors (TEST 1 to 3): the public key of each
// secret key.
func TestPublicKeyOfRFC8032Vectors(t *testing.T) {
	for _, v := range []struct{ seed, pub string }{
		{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"},
		{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"},
		{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"},
	} {
		seed, _ := hex.DecodeString(v.seed)
		if got := hex.EncodeToString(publicKeyOf(seed)); got != v.pub {
			t.Errorf("seed %s: public key %s, RFC 8032 %s", v.seed[:8], got, v.pub)
		}
	}
}
