package reader_test

import (
	"context"
	"slices"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
)

// With auto-pull off, a get and a listing that succeed run no git at all:
// a one-shot reader pays no git process.
func TestReadsWithoutAutoPullRunNoGit(t *testing.T) {
	f := newFixture(t)
	h := &countingHost{}
	r := open(t, h, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Path: f.agentKey}})
	if v, err := r.Get(context.Background(), "stripe/api-key"); err != nil || string(v) != "first-value" {
		t.Fatalf("get: %q %v", v, err)
	}
	if got := names(t, r, reader.ListOptions{}); !slices.Equal(got, []string{"stripe/api-key"}) {
		t.Fatalf("list: %v", got)
	}
	if len(h.git) != 0 {
		t.Fatalf("git commands: %v", h.git)
	}
}

// A reader that has not asked Git for HEAD yet does not know which HEAD its
// state was read at, so the first failed get reopens; later ones reopen
// only when HEAD moved.
func TestFirstFailedGetReopens(t *testing.T) {
	f := newFixture(t)
	h := &countingHost{}
	r := open(t, h, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Path: f.agentKey}})
	set := func(secret, value string) {
		f.edit(t, f.work, func(e *core.Editor) {
			if err := e.Set(secret, []byte(value), core.SetOptions{Agents: []string{"bot"}}); err != nil {
				t.Fatal(err)
			}
		})
	}
	get := func(secret, want string) {
		t.Helper()
		if v, err := r.Get(context.Background(), secret); err != nil || string(v) != want {
			t.Fatalf("get %s: %q %v", secret, v, err)
		}
	}
	get("stripe/api-key", "first-value") // verifies the state opened
	// Committed after that and before any git command.
	set("stripe/new", "new-value")
	get("stripe/new", "new-value")
	if h.count("rev-parse") != 1 {
		t.Fatalf("git commands: %v, want one rev-parse", h.git)
	}
	set("stripe/newer", "newer-value")
	get("stripe/newer", "newer-value")
	if _, err := r.Get(context.Background(), "stripe/missing"); core.CodeOf(err) != core.CodeSecretNotFound {
		t.Fatalf("missing secret: %v", err)
	}
	if h.count("pull") != 0 {
		t.Fatalf("pulled with auto-pull off: %v", h.git)
	}
}

// Pull works on a reader opened without auto-pull, which has not probed,
// and the get after it reads the pulled state at once.
func TestPullBeforeAnyProbe(t *testing.T) {
	f := newFixture(t)
	h := &countingHost{}
	r := open(t, h, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Text: string(f.ownerKey)}})
	f.publish(t, "stripe/pushed", "pushed-value")
	if err := r.Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, err := r.Get(context.Background(), "stripe/pushed"); err != nil || string(v) != "pushed-value" {
		t.Fatalf("get after pull: %q %v", v, err)
	}
	// The probe and the HEAD after the pull; a get that failed first
	// would have asked again.
	if h.count("pull") != 1 || h.count("rev-parse") != 2 {
		t.Fatalf("git commands: %v", h.git)
	}
}

// A reader that pulls asks Git at open, before its first read.
func TestAutoPullProbesAtOpen(t *testing.T) {
	f := newFixture(t)
	h := &countingHost{}
	open(t, h, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Path: f.agentKey}, AutoPull: true})
	if h.count("@{upstream}") != 1 || h.count("pull") != 0 {
		t.Fatalf("git commands at open: %v", h.git)
	}
}
