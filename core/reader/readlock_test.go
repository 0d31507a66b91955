package reader_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/internal/oshost"
)

// lockingHost records the lock files a reader creates.
type lockingHost struct {
	oshost.Host
	mu      sync.Mutex
	created []string
}

func (h *lockingHost) CreateExclusive(name string, data []byte) error {
	h.mu.Lock()
	h.created = append(h.created, name)
	h.mu.Unlock()
	return h.Host.CreateExclusive(name, data)
}

func (h *lockingHost) locks() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.created)
}

// TestReadLockReleasedOnEveryPath: with auto-pull on, each read takes the
// clone's lock in .git/agent-vault and releases it however the read ends:
// a value, a refusal, a missing secret, a failed pull, a listing, an
// explicit pull, a reload.
func TestReadLockReleasedOnEveryPath(t *testing.T) {
	f := newFixture(t)
	h := &lockingHost{}
	r := open(t, h, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Path: f.agentKey}, AutoPull: true})
	lock := filepath.Join(f.work, ".git", "agent-vault", "read.lock")
	ctx := context.Background()
	steps := []struct {
		name string
		run  func() error
		code core.Code
	}{
		{"get", func() error { _, err := r.Get(ctx, "stripe/api-key"); return err }, ""},
		{"refused get", func() error { _, err := r.Get(ctx, "other/token"); return err }, core.CodeNotAuthorized},
		{"missing secret", func() error { _, err := r.Get(ctx, "stripe/none"); return err }, core.CodeSecretNotFound},
		{"list", func() error { _, err := r.List(ctx, reader.ListOptions{}); return err }, ""},
		{"agents", func() error { _, err := r.Agents(ctx); return err }, ""},
		{"check", func() error { _, err := r.Check(ctx, time.Now()); return err }, ""},
		{"pull", func() error { return r.Pull(ctx) }, ""},
		{"reload", r.Reload, ""},
		{"get after a failed pull", func() error {
			os.Rename(f.bare, f.bare+".gone")
			defer os.Rename(f.bare+".gone", f.bare)
			_, err := r.Get(ctx, "stripe/api-key")
			return err
		}, ""},
		{"failed explicit pull", func() error {
			os.Rename(f.bare, f.bare+".gone")
			defer os.Rename(f.bare+".gone", f.bare)
			return r.Pull(ctx)
		}, core.CodeConflict},
	}
	for _, s := range steps {
		before := len(h.locks())
		if err := s.run(); core.CodeOf(err) != s.code && !(s.code == "" && err == nil) {
			t.Fatalf("%s: %v, want %q", s.name, err, s.code)
		}
		if got := slices.Compact(h.locks()[before:]); len(got) != 1 || got[0] != lock {
			t.Fatalf("%s: created %v, want the lock %s", s.name, got, lock)
		}
		mustNotExist(t, lock)
	}
}

// TestReadLockOnlyWhenPulling: with a pull interval, a get whose pull is
// not due reads without the lock; one that fails looks again under it.
func TestReadLockOnlyWhenPulling(t *testing.T) {
	f := newFixture(t)
	h := &lockingHost{}
	r := open(t, h, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Path: f.agentKey}, AutoPull: true, PullInterval: 1 << 62})
	lock := filepath.Join(f.work, ".git", "agent-vault", "read.lock")
	ctx := context.Background()
	if _, err := r.Get(ctx, "stripe/api-key"); err != nil {
		t.Fatal(err)
	}
	n := len(h.locks())
	if n == 0 {
		t.Fatal("the first get, which pulls, took no lock")
	}
	if _, err := r.Get(ctx, "stripe/api-key"); err != nil {
		t.Fatal(err)
	}
	if len(h.locks()) != n {
		t.Fatal("a get with no pull due took the lock")
	}
	if _, err := r.Get(ctx, "stripe/none"); core.CodeOf(err) != core.CodeSecretNotFound {
		t.Fatalf("got %v, want secret_not_found", err)
	}
	if len(h.locks()) != n+1 {
		t.Fatal("a failed get did not look again under the lock")
	}
	mustNotExist(t, lock)
}

// TestNoReadLockWithoutAutoPull: a reader that does not pull takes no lock.
func TestNoReadLockWithoutAutoPull(t *testing.T) {
	f := newFixture(t)
	h := &lockingHost{}
	r := open(t, h, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Path: f.agentKey}})
	if _, err := r.Get(context.Background(), "stripe/api-key"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.List(context.Background(), reader.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := h.locks(); len(got) != 0 {
		t.Fatalf("created %v", got)
	}
}

// TestReadLockHeldElsewhereIsAConflict: a lock another reader keeps past
// the wait fails the read with conflict, naming the lock, and is left in
// place; once it is gone, reads work again.
func TestReadLockHeldElsewhereIsAConflict(t *testing.T) {
	f := newFixture(t)
	r := open(t, oshost.Host{}, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Path: f.agentKey}, AutoPull: true})
	reader.SetLockTimings(r, reader.Timings(100*time.Millisecond, 5*time.Minute, 10*time.Second))
	lock := filepath.Join(f.work, ".git", "agent-vault", "read.lock")
	held := reader.Stamp(time.Now(), true)
	plant(t, lock, held)
	_, err := r.Get(context.Background(), "stripe/api-key")
	if core.CodeOf(err) != core.CodeConflict || !strings.Contains(err.Error(), lock) {
		t.Fatalf("got %v, want conflict naming the lock", err)
	}
	if got, _ := os.ReadFile(lock); string(got) != string(held) {
		t.Fatal("the holder's lock was touched")
	}
	os.Remove(lock)
	if v, err := r.Get(context.Background(), "stripe/api-key"); err != nil || string(v) != "first-value" {
		t.Fatalf("get once released: %q %v", v, err)
	}
}

// TestReadLockOfALinkedWorkTree lives in that work tree's own git
// directory, which its .git file names.
func TestReadLockOfALinkedWorkTree(t *testing.T) {
	f := newFixture(t)
	wt := filepath.Join(t.TempDir(), "linked")
	git(t, f.work, "worktree", "add", "--quiet", "--track", "-b", "linked", wt, "origin/main")
	h := &lockingHost{}
	r := open(t, h, reader.Options{Repo: wt, Home: f.home, Key: core.KeySpec{Path: f.agentKey}, AutoPull: true})
	if v, err := r.Get(context.Background(), "stripe/api-key"); err != nil || string(v) != "first-value" {
		t.Fatalf("get: %q %v", v, err)
	}
	want := filepath.Join(f.work, ".git", "worktrees", "linked", "agent-vault", "read.lock")
	if got := slices.Compact(h.locks()); len(got) != 1 || got[0] != want {
		t.Fatalf("created %v, want %s", got, want)
	}
}
