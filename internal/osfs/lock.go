package osfs

import (
	"errors"
	"fmt"
	"time"
)

// ErrLocked is returned when another writer holds the lock for too long.
var ErrLocked = errors.New("another agent-vault command holds the vault lock")

// Lock takes an exclusive advisory lock on file, waiting up to timeout for
// a concurrent writer to finish. The lock dies with the process, so a
// crashed writer never leaves it stuck. A symbolic link at file is
// refused: a .lock link committed to the repository must not make us
// create or open a file outside the vault. The system calls differ by OS
// (lock_unix.go, lock_windows.go); the waiting is here, once.
func Lock(file string, timeout time.Duration) (unlock func(), err error) {
	f, err := openLockFile(file)
	if err != nil {
		return nil, fmt.Errorf("failed to open lock file: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("failed to lock %s: %w", file, err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, ErrLocked
		}
		time.Sleep(20 * time.Millisecond)
	}
	return func() {
		unlockFile(f)
		f.Close()
	}, nil
}
