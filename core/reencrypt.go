package core

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// reencrypt rewrites each secret so its recipients match the current
// policy. It decrypts with the owner key (stanza 0, one unwrap); memory
// holds one secret per worker, and the names of the files written.
func (e *Editor) reencrypt(secrets []string) error {
	if len(secrets) == 0 {
		return nil
	}
	if err := e.requireOwner(); err != nil {
		return err
	}
	rc, err := e.newRecipientCache()
	if err != nil {
		return err
	}
	groups := e.v.manifest.groupIndex()
	work := func() error {
		return e.parallel(len(secrets), func(i int) error { return e.reencryptOne(rc, groups, secrets[i]) })
	}
	// Each secret is read once, before its own write, so the writes can be
	// staged and made durable together rather than file by file.
	st, ok := e.w.(writeStager)
	if !ok {
		if err := work(); err != nil {
			return err
		}
		return e.dropLegacy(secrets)
	}
	st.StageWrites()
	err = work()
	if cerr := st.CommitStaged(err != nil); err == nil && cerr != nil {
		err = fmt.Errorf("failed to write the re-encrypted secrets: %w", cerr)
	}
	if err != nil {
		return err
	}
	// Only now are the new files in place: a stale copy in the earlier
	// layout may go.
	return e.dropLegacy(secrets)
}

// parallel runs fn(0..n-1) on opts.Workers goroutines, reports progress,
// and stops handing out work at the first error. Each secret's work is
// mostly crypto; its writes are staged (see reencrypt) and never wait for
// the disk, so one goroutine per core keeps every core busy.
func (e *Editor) parallel(n int, fn func(i int) error) error {
	return parallel(e.opts.Workers, n, fn, e.opts.Progress)
}

// parallel runs fn(0..n-1) on workers goroutines (at least one), calls
// progress (if set) as items finish, and stops handing out work at the
// first error, which it returns.
func parallel(workers, n int, fn func(i int) error, progress func(done, total int)) error {
	var (
		next, done atomic.Int64
		firstErr   error
		errOnce    sync.Once
		wg         sync.WaitGroup
	)
	for range min(max(workers, 1), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errOnce.Do(func() { firstErr = err })
					next.Store(int64(n))
					return
				}
				if progress != nil {
					progress(int(done.Add(1)), n)
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func (e *Editor) reencryptOne(rc *recipientCache, groups map[string]string, secret string) error {
	mdata, err := e.v.metadataBytes(secret)
	var meta *Metadata
	if err == nil {
		meta, err = parseSecretMetadata(secret, mdata)
	}
	if err != nil {
		if CodeOf(err) != CodeSecretNotFound {
			return err
		}
		// Metadata lost in a crash: rebuild it from policy.
		now := stamp(e.opts.Now())
		meta = &Metadata{Name: secret, Created: now, Rotated: now}
	}
	meta.Group = groups[secret]
	if meta.Group == "" {
		return errorf(CodeCorruptVault, "secret %s is in no group", secret)
	}
	ct, err := readFile(e.v.fsys, findEncFile(e.v.fsys, secret), maxSecretSize)
	if err != nil {
		return classifyRead(err, CodeSecretNotFound, "secret "+secret+" not found")
	}
	// The very bytes decrypted below are the ones checked.
	if err := e.checkSecretRead(secret, ct, mdata); err != nil {
		return err
	}
	pt, err := decrypt(ct, e.opts.Owner.id, 0, maxSecretSize)
	if err != nil {
		return wrap(CodeOf(err), err, "failed to decrypt %s with the owner key", secret)
	}
	defer zero(pt)
	return e.writeSecret(rc, meta, pt)
}
