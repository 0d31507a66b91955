package reader

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/agent-vault/agent-vault/core"
)

// ensureClone clones a URL into its cache directory unless a clone is
// already there, and reports whether it cloned. The clone is made beside
// the target and renamed into place, so an interrupted clone never leaves
// a half-filled directory that later opens would trust.
func (r *Reader) ensureClone(ctx context.Context) error {
	if r.remote == "" {
		return nil
	}
	if r.kind(filepath.Join(r.dir, ".git")) != "" {
		return r.checkDir()
	}
	parent := filepath.Dir(r.dir)
	if err := r.host.MkdirAll(parent); err != nil {
		return core.Wrap(core.CodeVaultNotFound, err, "failed to create the repository cache %s", parent)
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	tmp := filepath.Join(parent, ".clone-"+hex.EncodeToString(suffix[:]))
	if _, err := r.host.Git(ctx, parent, "clone", "--quiet", "--", r.remote, tmp); err != nil {
		r.host.RemoveAll(tmp)
		return core.Wrap(core.CodeVaultNotFound, err, "failed to clone %s", r.shown).
			WithHint("check the URL, and that 'git clone' works for it in this environment")
	}
	if err := r.host.Rename(tmp, r.dir); err != nil {
		r.host.RemoveAll(tmp)
		// Another process may have finished its clone first: use that one.
		if r.kind(filepath.Join(r.dir, ".git")) == "" {
			return core.Wrap(core.CodeVaultNotFound, err, "failed to move the clone of %s into the cache", r.shown)
		}
	}
	return r.checkDir()
}

// probeGit learns whether the vault is the top of a Git work tree, its
// HEAD, and whether its branch tracks an upstream, with one git command.
// A vault that merely sits inside some other repository is not synced:
// pulling that repository is not ours to do.
func (r *Reader) probeGit(ctx context.Context) {
	r.probed = true
	if r.kind(filepath.Join(r.dir, ".git")) == "" {
		return
	}
	// rev-parse prints one line per argument and stops at the first it
	// cannot resolve, so a branch without upstream still yields the first
	// two lines. --show-cdup prints an empty line at the top of the tree.
	out, err := r.host.Git(ctx, r.dir, "rev-parse", "--show-cdup", "HEAD", "@{upstream}")
	var ge *GitError
	if err != nil && !errors.As(err, &ge) {
		return // no git to run
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) < 2 || lines[0] != "" {
		return
	}
	r.git, r.head = true, strings.TrimSpace(lines[1])
	r.upstream = err == nil && len(lines) >= 3
}

// probeLate probes a vault opened without probing. The HEAD the open state
// was read at is unknown, so it counts as moved: a Git vault is reopened,
// and probeLate reports whether that succeeded.
func (r *Reader) probeLate(ctx context.Context) bool {
	r.probeGit(ctx)
	return r.git && r.reopen() == nil
}

// pullDue reports whether a read should pull first.
func (r *Reader) pullDue() bool {
	if !r.opts.AutoPull || !r.upstream {
		return false
	}
	return !r.pulled || r.opts.Now().Sub(r.lastPull) >= r.opts.PullInterval
}

// refresh pulls if due and follows HEAD, holding the clone's read lock
// (lock.go) from the pull to the end of the caller's read. A reader that
// waited while another reader of the clone pulled uses that pull instead
// of its own: it began after this call did, so it fetched as fresh a
// state.
func (r *Reader) refresh(ctx context.Context) error {
	if !r.pullDue() {
		return nil
	}
	if err := r.lock(ctx, true); err != nil {
		return err
	}
	r.pullShared(ctx)
	if !r.lockedOpen {
		// Open read the state without the lock, perhaps while another
		// reader's pull rewrote it: read it again, now under the lock.
		r.head, r.lockedOpen = "", true
	}
	return r.followHead(ctx)
}

// refreshPolicy is refresh for the reads that use the policy, which always
// read it afresh: a listing is rare next to a get, and a local commit made
// without a pull must show. With auto-pull on, the reopen is locked too.
func (r *Reader) refreshPolicy(ctx context.Context) error {
	due := r.pullDue()
	if err := r.lock(ctx, due); err != nil {
		return err
	}
	if due {
		r.pullShared(ctx)
	}
	// Unprobed, HEAD stays unknown: the next stale reopens anyway.
	if r.git {
		r.head = r.readHead(ctx)
	}
	return r.reopen()
}

// pullShared pulls, unless lock found that another reader just did.
func (r *Reader) pullShared(ctx context.Context) {
	if r.joined {
		r.lastPull, r.pulled = r.opts.Now(), true
		return
	}
	r.pull(ctx)
}

// pull fast-forwards and warns, once per streak of failures, when it
// cannot: offline, the local copy is still the last policy the owner
// published, and an agent keeps working.
func (r *Reader) pull(ctx context.Context) {
	err := r.pullNow(ctx)
	if err != nil && !r.pullFailing {
		r.warn(fmt.Sprintf("could not update %s from its upstream, using the local copy: %v", r.shown, err))
	}
	r.pullFailing = err != nil
}

func (r *Reader) pullNow(ctx context.Context) error {
	r.lastPull, r.pulled = r.opts.Now(), true
	if _, err := r.host.Git(ctx, r.dir, "pull", "--ff-only", "--quiet"); err != nil {
		return core.Wrap(core.CodeConflict, err, "failed to fast-forward %s", r.shown)
	}
	return nil
}

// followHead reopens the vault if HEAD moved.
func (r *Reader) followHead(ctx context.Context) error {
	if head := r.readHead(ctx); head != r.head {
		r.head = head
		return r.reopen()
	}
	return nil
}

// stale reports whether HEAD moved since the vault was opened, reopening
// it if so. A failed get calls it, so a long-lived reader sees a commit
// made beside it without paying a git command on every get; with
// auto-pull on it takes the read lock for the caller's retry. Before the
// first probe (auto-pull off, so no lock) HEAD counts as moved (probeLate).
func (r *Reader) stale(ctx context.Context) bool {
	if !r.probed {
		return r.probeLate(ctx)
	}
	if !r.git {
		return false
	}
	// A get that read without the lock may have met another reader's pull
	// half done: look again under the lock.
	if r.lock(ctx, false) != nil {
		return false
	}
	head := r.readHead(ctx)
	if head == r.head {
		return false
	}
	r.head = head
	return r.reopen() == nil
}

func (r *Reader) readHead(ctx context.Context) string {
	out, err := r.host.Git(ctx, r.dir, "rev-parse", "HEAD")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
