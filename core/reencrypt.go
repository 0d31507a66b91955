package core

import (
	"sync"
	"sync/atomic"
)

// reencrypt rewrites each secret so its recipients match the current
// policy. It decrypts with the owner key (stanza 0, one unwrap); memory
// stays at one secret per worker whatever the vault size.
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
	return e.parallel(len(secrets), func(i int) error { return e.reencryptOne(rc, groups, secrets[i]) })
}

// parallel runs fn(0..n-1), reports progress, and stops handing out work
// at the first error. It runs twice as many goroutines as opts.Workers:
// the crypto in fn holds one of opts.Workers slots (compute), and the
// extra goroutines keep the cores busy while others wait for the disk to
// sync a file.
func (e *Editor) parallel(n int, fn func(i int) error) error {
	return parallel(2*e.opts.Workers, n, fn, e.opts.Progress)
}

// compute runs fn in one of the opts.Workers slots for CPU-bound work.
func (e *Editor) compute(fn func() error) error {
	e.cpu <- struct{}{}
	defer func() { <-e.cpu }()
	return fn()
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
	meta, err := e.v.Metadata(secret)
	if err != nil {
		if CodeOf(err) != CodeSecretNotFound {
			return err
		}
		// Metadata lost in a crash: rebuild it from policy.
		now := e.opts.Now().UTC()
		meta = &Metadata{Name: secret, Created: now, Rotated: now}
	}
	meta.Group = groups[secret]
	if meta.Group == "" {
		return errorf(CodeCorruptVault, "secret %s is in no group", secret)
	}
	ct, err := readFile(e.v.fsys, encFile(secret), maxSecretSize)
	if err != nil {
		return classifyRead(err, CodeSecretNotFound, "secret "+secret+" not found")
	}
	var pt []byte
	err = e.compute(func() (err error) {
		pt, err = decrypt(ct, e.opts.Owner.id, 0, maxSecretSize)
		return err
	})
	if err != nil {
		return wrap(CodeOf(err), err, "failed to decrypt %s with the owner key", secret)
	}
	defer zero(pt)
	return e.writeSecret(rc, meta, pt)
}
