//go:build unix && !aix

package osfs

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openLockFile opens or creates file; O_NOFOLLOW refuses a symbolic link.
func openLockFile(file string) (*os.File, error) {
	return os.OpenFile(file, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o644)
}

// tryLock takes flock(2)'s exclusive lock without waiting. It reports
// false, and no error, while another open file holds it.
func tryLock(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

func unlockFile(f *os.File) { unix.Flock(int(f.Fd()), unix.LOCK_UN) }
