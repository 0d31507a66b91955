package reader_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/internal/oshost"
)

// lockFile is a lock path whose directory does not exist yet, as in a
// clone no reader has locked before.
func lockFile(t *testing.T) string {
	return filepath.Join(t.TempDir(), ".git", "agent-vault", "read.lock")
}

// plant writes content at path as another process's lock would be.
func plant(t *testing.T, path string, content []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // replace in one step, as a holder's hand-over would look
		t.Fatal(err)
	}
}

func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s is still there (%v)", filepath.Base(path), err)
	}
}

var quick = reader.Timings(10*time.Second, 5*time.Minute, 100*time.Millisecond)

// TestLockExcludesOtherHolders has many lockers, each as a separate
// process would be, take the lock in turn: never two inside at once.
func TestLockExcludesOtherHolders(t *testing.T) {
	path := lockFile(t)
	var inside, most, entered atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range 20 {
				release, _, err := reader.AcquireLock(context.Background(), oshost.Host{}, path, quick, true)
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				if n > most.Load() {
					most.Store(n)
				}
				entered.Add(1)
				time.Sleep(200 * time.Microsecond)
				inside.Add(-1)
				if err := release(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if most.Load() != 1 || entered.Load() != 120 {
		t.Fatalf("at most %d holders at once over %d entries, want 1 over 120", most.Load(), entered.Load())
	}
	mustNotExist(t, path)
}

// TestLockWaitsForHolder: a second locker gets the lock only once the
// first has released it.
func TestLockWaitsForHolder(t *testing.T) {
	path := lockFile(t)
	release, _, err := reader.AcquireLock(context.Background(), oshost.Host{}, path, quick, true)
	if err != nil {
		t.Fatal(err)
	}
	var released atomic.Bool
	done := make(chan error)
	go func() {
		r2, joined, err := reader.AcquireLock(context.Background(), oshost.Host{}, path, quick, true)
		switch {
		case err != nil:
		case !released.Load():
			err = errors.New("took the lock while it was held")
		case joined:
			err = errors.New("joined a pull that began before it asked")
		default:
			err = r2()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	released.Store(true)
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mustNotExist(t, path)
}

// TestLockJoinsPullBegunAfterWaiting: a waiter that saw a holder which
// took the lock after the waiter asked, and pulls, may use that pull; not
// one that took it before, nor one that does not pull. A joined holder's
// own stamp does not claim a pull.
func TestLockJoinsPullBegunAfterWaiting(t *testing.T) {
	for _, tt := range []struct {
		name    string
		offset  time.Duration // of the second holder's stamp from the waiter's start
		pulling bool
		want    bool
	}{
		{"pull begun after", 20 * time.Millisecond, true, true},
		{"pull begun before", -time.Second, true, false},
		{"no pull", 20 * time.Millisecond, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := lockFile(t)
			plant(t, path, reader.Stamp(time.Now().Add(-time.Second), true))
			type result struct {
				joined bool
				stamp  []byte
				err    error
			}
			done := make(chan result)
			start := time.Now()
			go func() {
				release, joined, err := reader.AcquireLock(context.Background(), oshost.Host{}, path, quick, true)
				if err != nil {
					done <- result{err: err}
					return
				}
				stamp, _ := os.ReadFile(path)
				done <- result{joined, stamp, release()}
			}()
			time.Sleep(20 * time.Millisecond)
			plant(t, path, reader.Stamp(start.Add(tt.offset), tt.pulling))
			time.Sleep(60 * time.Millisecond) // the waiter polls at least every 10 ms
			os.Remove(path)
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.joined != tt.want {
				t.Fatalf("joined %v, want %v", r.joined, tt.want)
			}
			if got := strings.Contains(string(r.stamp), " pull"); got == r.joined {
				t.Fatalf("stamp %q of a holder that joined=%v", r.stamp, r.joined)
			}
		})
	}
}

// TestStaleLockIsBroken: a lock a dead process left (an old stamp, a
// stamp from a clock that jumped, or no stamp at all) is broken; a fresh
// one is waited for until the deadline and left alone.
func TestStaleLockIsBroken(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name    string
		content []byte
		guard   []byte // a break guard left by a waiter that died
	}{
		{"old stamp", reader.Stamp(now.Add(-10*time.Minute), true), nil},
		{"stamp from the future", reader.Stamp(now.Add(10*time.Minute), true), nil},
		{"no stamp", nil, nil},
		{"old stamp and an abandoned guard", reader.Stamp(now.Add(-10*time.Minute), false), reader.Stamp(now.Add(-time.Minute), false)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := lockFile(t)
			plant(t, path, tt.content)
			if tt.guard != nil {
				plant(t, path+".break", tt.guard)
			}
			release, _, err := reader.AcquireLock(context.Background(), oshost.Host{}, path, quick, false)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(path); bytes.Equal(got, tt.content) {
				t.Fatal("acquired without replacing the stale lock")
			}
			if err := release(); err != nil {
				t.Fatal(err)
			}
			mustNotExist(t, path)
			mustNotExist(t, path+".break")
		})
	}

	t.Run("another waiter breaking it", func(t *testing.T) {
		// A live waiter's guard: this one waits for it, polling, not spinning.
		path := lockFile(t)
		plant(t, path, reader.Stamp(time.Now().Add(-10*time.Minute), false))
		plant(t, path+".break", reader.Stamp(time.Now(), false))
		go func() {
			time.Sleep(100 * time.Millisecond)
			os.Remove(path)
			os.Remove(path + ".break")
		}()
		h := &lockingHost{}
		release, _, err := reader.AcquireLock(context.Background(), h, path, reader.Timings(10*time.Second, 5*time.Minute, 10*time.Second), false)
		if err != nil {
			t.Fatal(err)
		}
		release()
		if n := len(h.locks()); n > 60 {
			t.Fatalf("%d creates in a 100 ms wait: it spins", n)
		}
	})

	t.Run("fresh stamp", func(t *testing.T) {
		path := lockFile(t)
		held := reader.Stamp(time.Now(), true)
		plant(t, path, held)
		_, _, err := reader.AcquireLock(context.Background(), oshost.Host{}, path, reader.Timings(150*time.Millisecond, 5*time.Minute, 10*time.Second), true)
		if !errors.Is(err, reader.ErrLockTimeout) {
			t.Fatalf("got %v, want a timeout", err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, held) {
			t.Fatal("a live holder's lock was touched")
		}
	})
}

// TestReleaseKeepsAnotherHoldersLock: a holder that kept the lock past
// half the stale age checks that the lock is still its own before
// removing it; another reader may have broken it and taken it.
func TestReleaseKeepsAnotherHoldersLock(t *testing.T) {
	path := lockFile(t)
	release, _, err := reader.AcquireLock(context.Background(), oshost.Host{}, path, reader.Timings(time.Second, 100*time.Millisecond, time.Second), false)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	other := reader.Stamp(time.Now(), true)
	plant(t, path, other)
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, other) {
		t.Fatal("release removed the lock another reader holds")
	}
}

// TestLockFailsOnAnUnusableDirectory: a lock that cannot be created for
// another reason than contention is an error at once, not a wait.
func TestLockFailsOnAnUnusableDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "agent-vault"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := reader.AcquireLock(context.Background(), oshost.Host{}, filepath.Join(dir, "agent-vault", "read.lock"), quick, true)
	if err == nil || errors.Is(err, reader.ErrLockTimeout) {
		t.Fatalf("got %v, want a failure to create the lock", err)
	}
}

// BenchmarkReadLock puts the read lock's cost next to what it guards: a
// get with auto-pull on and no pull due (which takes no lock), taking and
// releasing the lock alone, and a pull that finds nothing new (which a
// reader makes under the lock).
func BenchmarkReadLock(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	r := open(b, oshost.Host{}, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Path: f.agentKey}, AutoPull: true, PullInterval: 1 << 62})
	if _, err := r.Get(ctx, "stripe/api-key"); err != nil { // the one pull
		b.Fatal(err)
	}
	b.Run("get", func(b *testing.B) {
		for b.Loop() {
			v, err := r.Get(ctx, "stripe/api-key")
			if err != nil {
				b.Fatal(err)
			}
			clear(v)
		}
	})
	b.Run("lock", func(b *testing.B) {
		path := filepath.Join(f.work, ".git", "agent-vault", "read.lock")
		for b.Loop() {
			release, _, err := reader.AcquireLock(ctx, oshost.Host{}, path, quick, true)
			if err != nil {
				b.Fatal(err)
			}
			release()
		}
	})
	b.Run("pull", func(b *testing.B) {
		for b.Loop() {
			if err := r.Pull(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
