package osfs

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// ErrLocked is returned when another writer holds the lock for too long.
var ErrLocked = errors.New("another agent-vault command holds the vault lock")

// Lock takes an exclusive advisory lock on file, waiting up to timeout for
// a concurrent writer to finish. The lock dies with the process, so a
// crashed writer never leaves it stuck.
func Lock(file string, timeout time.Duration) (unlock func(), err error) {
	// O_NOFOLLOW: a .lock symlink committed to the repository must not
	// make us create or open a file outside the vault.
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to open lock file: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("failed to lock %s: %w", file, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, ErrLocked
		}
		time.Sleep(20 * time.Millisecond)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
