package reader

import (
	"context"
	"time"
)

// Hooks for the external tests of the read lock (lock_test.go).

// ErrLockTimeout is what AcquireLock returns when the wait runs out.
var ErrLockTimeout = errLockTimeout

// Timings are the lock's waits, with the defaults' polling.
func Timings(wait, stale, unstamped time.Duration) lockTimings {
	t := defaultLockTimings
	t.wait, t.stale, t.unstamped = wait, stale, unstamped
	return t
}

// AcquireLock takes the lock file at path on h.
func AcquireLock(ctx context.Context, h Host, path string, t lockTimings, pulling bool) (release func() error, joined bool, err error) {
	return (&fileLock{host: h, path: path, t: t}).acquire(ctx, pulling)
}

// Stamp is the content of a lock file taken at at.
func Stamp(at time.Time, pulling bool) []byte { return newStamp(at, pulling) }

// SetLockTimings changes the waits of r's read lock.
func SetLockTimings(r *Reader, t lockTimings) { r.lockTimings = t }
