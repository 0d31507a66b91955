package core

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"filippo.io/age"
)

// failingFS stops writing after a number of writes, like a crash: every
// write before it is complete (they are atomic), none after it happens.
type failingFS struct {
	WriteFS
	left int
}

var errCrash = errors.New("simulated crash")

func (f *failingFS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	if f.left <= 0 {
		return errCrash
	}
	f.left--
	return f.WriteFS.WriteFile(name, data, perm)
}

func (f *failingFS) Remove(name string) error {
	if f.left <= 0 {
		return errCrash
	}
	f.left--
	return f.WriteFS.Remove(name)
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCrashAtEveryWrite interrupts each bulk operation after every possible
// number of writes and checks docs/architecture.md §7.5: the owner can always read
// every secret, check reports the half-done operation, and Repair
// finishes it so the policy holds.
func TestCrashAtEveryWrite(t *testing.T) {
	base := newTestVault(t)
	e := base.editor(nil)
	base.addAgent(e, "a")
	base.addAgent(e, "b")
	values := map[string][]byte{}
	for i := range 4 {
		s := fmt.Sprintf("grp/s%d", i)
		values[s] = []byte("value-" + s)
		if err := e.Set(s, values[s], SetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Grant("a", "grp"); err != nil {
		t.Fatal(err)
	}
	newKey, _, _ := NewKey()
	ops := map[string]func(e *Editor) error{
		"revoke":        func(e *Editor) error { _, err := e.Revoke("a", "grp"); return err },
		"grant":         func(e *Editor) error { _, err := e.Grant("b", "grp"); return err },
		"remove-agent":  func(e *Editor) error { _, err := e.RemoveAgent("a"); return err },
		"recover-agent": func(e *Editor) error { _, err := e.RecoverAgent("a", newKey); return err },
		"set":           func(e *Editor) error { return e.Set("grp/new", []byte("fresh"), SetOptions{}) },
	}
	for name, op := range ops {
		for n := 0; ; n++ {
			tv := &testVault{t: t, dir: filepath.Join(t.TempDir(), DirName), owner: base.owner, keys: base.keys}
			copyDir(t, base.dir, tv.dir)
			ff := &failingFS{WriteFS: mustDir(t, tv.dir), left: n}
			err := op(tv.editor(ff))
			if err == nil {
				break // n writes were enough: every crash point is covered
			}
			if !errors.Is(err, errCrash) {
				t.Fatalf("%s after %d writes: %v", name, n, err)
			}
			for s, v := range values {
				tv.mustGet("owner", s, v)
			}
			v, err := Open(os.DirFS(tv.dir))
			if err != nil {
				t.Fatalf("%s after %d writes: vault does not open: %v", name, n, err)
			}
			findings, _ := v.Check(CheckOptions{Now: time.Now(), Owner: tv.owner, Local: tv.local()})
			pending, _, _ := tv.editor(nil).Pending()
			if pending != "" && !slices.ContainsFunc(findings, func(f Finding) bool { return f.Kind == "pending_operation" }) {
				t.Fatalf("%s after %d writes: check does not report the pending operation", name, n)
			}
			op, err := tv.editor(nil).Repair()
			if err != nil {
				t.Fatalf("%s after %d writes: repair: %v", name, n, err)
			}
			if pending != op {
				t.Fatalf("repair finished %q, pending was %q", op, pending)
			}
			v, _ = Open(os.DirFS(tv.dir))
			findings, _ = v.Check(CheckOptions{Now: time.Now(), Owner: tv.owner})
			for _, f := range findings {
				if f.Severity == SeverityError {
					t.Fatalf("%s after %d writes, repaired: %+v", name, n, f)
				}
			}
			if pending == "revoke" || pending == "remove-agent" {
				for s := range values {
					tv.mustDeny("a", s)
				}
			}
		}
	}
}

func TestCheckFindsDamage(t *testing.T) {
	tv := newTestVault(t)
	e := tv.editor(nil)
	tv.addAgent(e, "a")
	for _, s := range []string{"g/one", "g/two", "g/three"} {
		if err := e.Set(s, []byte("v"), SetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Grant("a", "g"); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Remove(filepath.Join(tv.dir, encFile("g/one"))))
	must(os.WriteFile(filepath.Join(tv.dir, "secrets", "g", "stray.enc"), []byte("x"), 0o644))
	// Stale ciphertext: encrypted to the owner only while policy has agent a.
	owner, _ := ParseRecipient(e.Vault().OwnerRecipient())
	ct, _ := encrypt([]byte("v"), []age.Recipient{owner})
	must(os.WriteFile(filepath.Join(tv.dir, encFile("g/two")), ct, 0o644))
	must(os.Remove(filepath.Join(tv.dir, escrowFile("a"))))
	v, err := Open(os.DirFS(tv.dir))
	must(err)
	findings, err := v.Check(CheckOptions{Now: time.Now(), Owner: tv.owner})
	must(err)
	var got []string
	for _, f := range findings {
		got = append(got, f.Severity+":"+f.Kind+":"+f.Subject)
	}
	for _, want := range []string{"error:missing_file:g/one", "error:orphaned_file:g/stray", "error:recipients_mismatch:g/two", "error:missing_escrow:a"} {
		if !slices.Contains(got, want) {
			t.Errorf("check did not report %s; got %v", want, got)
		}
	}
}
