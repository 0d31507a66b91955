package core

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"filippo.io/age"
)

// A key file's name only suggests which agent it belongs to: a file named
// after another agent, or after no agent at all, must still be recognised
// by its public key.
func TestSessionAgentFromKeyFileName(t *testing.T) {
	tv := newTestVault(t)
	e := tv.editor(nil)
	for _, a := range []string{"a1", "a2", "a3"} {
		tv.addAgent(e, a)
	}
	if err := e.Set("g/s", []byte("v"), SetOptions{Agents: []string{"a1", "a2", "a3"}}); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	for _, c := range []struct{ file, agent string }{
		{"a2", "a2"},
		{"a1", "a3"},     // misleading name
		{"nobody", "a3"}, // unknown name
		{"a2.old", "a1"}, // not an agent name
	} {
		path := filepath.Join(home, c.file+".key")
		if err := os.WriteFile(path, tv.keys[c.agent], 0o600); err != nil {
			t.Fatal(err)
		}
		id, err := LoadIdentity(KeySpec{Path: path}, os.ReadFile)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Open(os.DirFS(tv.dir))
		if err != nil {
			t.Fatal(err)
		}
		s := v.WithIdentity(id)
		if got := s.Name(); got != c.agent {
			t.Errorf("key of %s in %s.key: session is %q", c.agent, c.file, got)
		}
		if got, err := s.Get("g/s"); err != nil || string(got) != "v" {
			t.Errorf("key of %s in %s.key: get = %q, %v", c.agent, c.file, got, err)
		}
	}
}

// recordingIdentity records how many stanzas each unwrap is offered.
type recordingIdentity struct {
	inner age.Identity
	calls *[]int
}

func (r recordingIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	*r.calls = append(*r.calls, len(stanzas))
	return r.inner.Unwrap(stanzas)
}

// Every reader's predicted stanza is its own, so a get unwraps exactly one
// stanza, whichever place the reader has among the recipients.
func TestSessionPredictsOwnStanza(t *testing.T) {
	tv := newTestVault(t)
	e := tv.editor(nil)
	agents := []string{"a1", "a2", "a3", "a4"}
	for _, a := range agents {
		tv.addAgent(e, a)
	}
	if err := e.Set("g/s", []byte("v"), SetOptions{Agents: []string{"a4", "a2", "a3"}}); err != nil {
		t.Fatal(err)
	}
	ct, err := os.ReadFile(filepath.Join(tv.dir, encFile("g/s")))
	if err != nil {
		t.Fatal(err)
	}
	v, err := Open(os.DirFS(tv.dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"owner", "a2", "a3", "a4"} {
		id := tv.owner
		if who != "owner" {
			path := filepath.Join(t.TempDir(), who+".key")
			if err := os.WriteFile(path, tv.keys[who], 0o600); err != nil {
				t.Fatal(err)
			}
			if id, err = LoadIdentity(KeySpec{Path: path}, os.ReadFile); err != nil {
				t.Fatal(err)
			}
		}
		s := v.WithIdentity(id)
		var calls []int
		pt, err := decrypt(ct, recordingIdentity{inner: id.id, calls: &calls}, s.stanzaIndex("g/s", nil), maxSecretSize)
		if err != nil || string(pt) != "v" || !slices.Equal(calls, []int{1}) {
			t.Errorf("%s: get = %q, %v after unwrapping %v stanzas, want one", who, pt, err, calls)
		}
	}
}
