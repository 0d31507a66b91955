package reader

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/core"
)

// The read lock keeps the readers of one clone from pulling over each
// other or reading files while another process's pull rewrites them
// (docs/architecture.md §3). Several MCP servers sharing a HOME share one
// cache clone, and git's own locks make a concurrent pull fail rather than
// wait. The lock is a file made by exclusive create, the one atomic step
// every host has (Node has no flock); waiting, deadlines and breaking a
// lock left by a dead process are here, once, for every language.

// lockDir is the clone-local state directory inside the git directory,
// where the CLI keeps its journal and writer lock: nobody who can push can
// plant anything there, and it never shows in the work tree.
const lockDir = "agent-vault"

// readLockName is the lock file in lockDir.
const readLockName = "read.lock"

// lockTimings are the read lock's waits.
type lockTimings struct {
	// wait is how long a reader waits for the lock before failing.
	wait time.Duration
	// stale is the age after which a lock is taken for one a dead process
	// left behind and broken. A live holder keeps it for a pull and a
	// read, so this is generous.
	stale time.Duration
	// unstamped is how long a waiter watches a lock file without a
	// readable stamp (its writer died between creating and writing it)
	// before breaking it; also the age of a stale break guard.
	unstamped time.Duration
	// poll is the first pause between two tries; pauses double up to
	// maxPoll, with jitter so that waiters do not move in step.
	poll, maxPoll time.Duration
}

var defaultLockTimings = lockTimings{
	wait:      time.Minute,
	stale:     5 * time.Minute,
	unstamped: 10 * time.Second,
	poll:      time.Millisecond,
	maxPoll:   10 * time.Millisecond,
}

// errLockTimeout is a lock another reader held for longer than the wait.
var errLockTimeout = errors.New("timed out")

// fileLock is one lock file on a host.
type fileLock struct {
	host Host
	path string
	t    lockTimings
}

// stampLimit bounds what is read of a lock file; a stamp is ~60 bytes.
const stampLimit = 256

// acquire takes the lock, waiting for another holder to release it, and
// returns the function that releases it. pulling marks the stamp: this
// holder pulls, unless it joined. joined reports that while this call
// waited, a holder that took the lock after the call began pulled and
// released it: the clone is then as fresh as a pull of this call's own
// would have made it.
func (l *fileLock) acquire(ctx context.Context, pulling bool) (release func() error, joined bool, err error) {
	start := time.Now()
	deadline := start.Add(l.t.wait)
	pause := l.t.poll
	seen := map[string]sighting{}
	madeDir := false
	for {
		now := time.Now()
		// A holder that joined a pull does not pull: its stamp must not
		// say so, or a later waiter would join a fetch older than itself.
		stamp := newStamp(now, pulling && !joined)
		err := l.host.CreateExclusive(l.path, stamp)
		switch {
		case err == nil:
			return func() error { return l.release(stamp, now) }, joined, nil
		case errors.Is(err, fs.ErrNotExist) && !madeDir:
			madeDir = true
			if err := l.host.MkdirAll(filepath.Dir(l.path)); err != nil {
				return nil, false, fmt.Errorf("failed to create %s: %w", filepath.Dir(l.path), err)
			}
			continue
		case !errors.Is(err, fs.ErrExist):
			return nil, false, fmt.Errorf("failed to create %s: %w", l.path, err)
		}
		held, err := l.read(l.path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // released in between
		case err != nil:
			return nil, false, fmt.Errorf("failed to read %s: %w", l.path, err)
		case stale(held, now, l.t.stale, l.t.unstamped, seen, l.path):
			// Whatever that holder was doing, it did not finish.
			joined = false
			broke, err := l.breakStale(held, now, seen)
			if err != nil {
				return nil, false, err
			}
			if broke {
				continue
			}
			// Another waiter is breaking it: wait as for a holder.
		}
		// A stamp taken after this call began is never stale: if its
		// holder pulls, its fetch is one this call may use.
		if at, pulls := parseStamp(held); pulls && !at.Before(start) {
			joined = true
		}
		if now.After(deadline) {
			return nil, false, errLockTimeout
		}
		if err := sleep(ctx, pause/2+mrand.N(pause/2+1)); err != nil {
			return nil, false, err
		}
		pause = min(2*pause, l.t.maxPoll)
	}
}

// breakStale removes a stale lock, under a guard file so that two waiters
// that both found it stale cannot have the slower one remove the lock the
// faster one has just taken: whoever holds the guard removes the lock only
// if it is still the stale one. broke is false while another waiter holds
// the guard.
func (l *fileLock) breakStale(held []byte, now time.Time, seen map[string]sighting) (broke bool, err error) {
	guard := l.path + ".break"
	err = l.host.CreateExclusive(guard, newStamp(now, false))
	if errors.Is(err, fs.ErrExist) {
		// Another waiter is breaking it; a guard left by one that died
		// mid-break goes after unstamped.
		if g, err := l.read(guard); err == nil && stale(g, now, l.t.unstamped, l.t.unstamped, seen, guard) {
			l.host.RemoveAll(guard)
			return true, nil
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to create %s: %w", guard, err)
	}
	defer l.host.RemoveAll(guard)
	if cur, err := l.read(l.path); err == nil && bytes.Equal(cur, held) {
		if err := l.host.RemoveAll(l.path); err != nil {
			return false, fmt.Errorf("failed to break the stale lock %s: %w", l.path, err)
		}
	}
	return true, nil
}

// release removes the lock. A holder that kept it past the stale age may
// have had it broken and taken by another reader, so it then removes the
// file only if the stamp is still its own.
func (l *fileLock) release(stamp []byte, since time.Time) error {
	if time.Since(since) >= l.t.stale/2 {
		if cur, err := l.read(l.path); err != nil || !bytes.Equal(cur, stamp) {
			return nil
		}
	}
	if err := l.host.RemoveAll(l.path); err != nil {
		return fmt.Errorf("failed to remove the lock %s: %w", l.path, err)
	}
	return nil
}

func (l *fileLock) read(name string) ([]byte, error) {
	return readSmall(l.host.FS(filepath.Dir(name)), filepath.Base(name), stampLimit)
}

// readSmall reads at most limit bytes of a small file: one host call in
// the module (core.LimitReadFS).
func readSmall(fsys fs.FS, name string, limit int64) ([]byte, error) {
	if lr, ok := fsys.(core.LimitReadFS); ok {
		data, err := lr.ReadFileLimit(name, limit)
		return data[:min(int64(len(data)), limit)], err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// newStamp is what a lock file holds: when it was taken, a random token
// that makes every holder's stamp its own, and "pull" if the holder pulls.
func newStamp(now time.Time, pulling bool) []byte {
	var token [8]byte
	rand.Read(token[:])
	stamp := now.UTC().Format(time.RFC3339Nano) + " " + hex.EncodeToString(token[:])
	if pulling {
		stamp += " pull"
	}
	return []byte(stamp + "\n")
}

// parseStamp reads a stamp's time, and whether its holder pulls; ok is
// false for content that is no stamp.
func parseStamp(stamp []byte) (at time.Time, pulls bool) {
	f := strings.Fields(string(stamp))
	if len(f) < 2 {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, f[0])
	if err != nil {
		return time.Time{}, false
	}
	return at, len(f) == 3 && f[2] == "pull"
}

// sighting is when a waiter first saw a lock file's content.
type sighting struct {
	content string
	at      time.Time
}

// stale reports whether the lock file content held, found at now, is
// older than limit by its stamp, or, without a readable stamp, has stayed
// the same for unstamped since this waiter first saw it (seen, by path).
// A stamp far in the future means the clock moved: that lock is stale too.
func stale(held []byte, now time.Time, limit, unstamped time.Duration, seen map[string]sighting, path string) bool {
	if at, _ := parseStamp(held); !at.IsZero() {
		age := now.Sub(at)
		return age >= limit || age <= -limit
	}
	s, ok := seen[path]
	if !ok || s.content != string(held) {
		seen[path] = sighting{content: string(held), at: now}
		return false
	}
	return now.Sub(s.at) >= unstamped
}

// sleep pauses for d unless ctx ends first. Inside the WebAssembly module
// this is the host's WASI poll_oneoff (docs/wasm-abi.md).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// lockState is what a Reader keeps of its clone's read lock.
type lockState struct {
	// readLock is the lock file, found on first use.
	readLock string
	// lockTimings are the lock's waits; zero means defaultLockTimings.
	lockTimings lockTimings
	// lockedOpen is set once the open state has been read under the lock.
	lockedOpen bool
	// joined is set by lock when another reader's pull, begun after the
	// lock was asked for, brought the clone up to date meanwhile.
	joined bool
	// release, while a call holds the lock, releases it.
	release func() error
}

// lockPath is the read lock of the clone at r.dir: in its git directory,
// which a linked work tree or a submodule names in a .git file.
func (r *Reader) lockPath() (string, error) {
	if r.readLock != "" {
		return r.readLock, nil
	}
	gitDir := filepath.Join(r.dir, ".git")
	switch r.kind(gitDir) {
	case "dir":
	case "file":
		data, err := readSmall(r.host.FS(r.dir), ".git", 4096)
		if err != nil {
			return "", fmt.Errorf("failed to read %s: %w", gitDir, err)
		}
		dir, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir: ")
		if !ok || dir == "" {
			return "", fmt.Errorf("%s does not name a git directory", gitDir)
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(r.dir, dir)
		}
		gitDir = filepath.Clean(dir)
	default:
		return "", fmt.Errorf("%s is not a git directory", gitDir)
	}
	r.readLock = filepath.Join(gitDir, lockDir, readLockName)
	return r.readLock, nil
}

// lock takes the clone's read lock unless this call holds it already; the
// public method that called it releases it with unlock when it returns.
// pulling says the reader is about to pull, which always locks; otherwise
// it locks only with auto-pull on, for reads that must not meet another
// reader's pull half done. A reader that never pulls takes no lock: it
// does not change the clone. lockState.joined is set when another
// reader's pull happened while this one waited (acquire).
func (r *Reader) lock(ctx context.Context, pulling bool) error {
	r.joined = false
	if r.release != nil || !(pulling || r.opts.AutoPull) || !r.git || !r.upstream {
		return nil
	}
	path, err := r.lockPath()
	if err != nil {
		return core.Wrap(core.CodeConflict, err, "failed to lock %s for reading", r.shown)
	}
	t := r.lockTimings
	if t == (lockTimings{}) {
		t = defaultLockTimings
	}
	l := &fileLock{host: r.host, path: path, t: t}
	release, joined, err := l.acquire(ctx, pulling)
	if errors.Is(err, errLockTimeout) {
		return core.Errorf(core.CodeConflict, "another reader of %s has held %s for over %s", r.shown, path, t.wait).
			WithHint("a lock left by a process that died is broken after %s; remove it sooner only if no agent-vault reader of this clone is running", t.stale)
	}
	if err != nil {
		return core.Wrap(core.CodeConflict, err, "failed to lock %s for reading", r.shown)
	}
	r.release, r.joined = release, joined
	return nil
}

// unlock releases the read lock if this call took it.
func (r *Reader) unlock() {
	if r.release == nil {
		return
	}
	if err := r.release(); err != nil {
		r.warn(err.Error())
	}
	r.release = nil
}
