package osfs

import (
	"io/fs"
	"os"
	"path"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// syncStaged makes the staged files durable with one syncfs(2) of the
// file system that holds the directory: a single flush instead of one
// journal commit per file.
func (d *Dir) syncStaged(writes []staged) error {
	if len(writes) == 0 {
		return nil
	}
	f, err := d.root.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return d.syncEach(writes)
	}
	return nil
}

// Staged files are made unnamed (O_TMPFILE), written, then linked in under
// their temporary name. Making a named file holds its directory's lock
// through the whole creation, inode allocation included, which costs
// up to a millisecond of kernel time on a busy ext4: workers re-encrypting
// one group's secrets queued on its directory, and two took as long as
// one. An unnamed inode is allocated without that lock; only the link
// takes it, briefly. Where the file system or kernel lacks O_TMPFILE,
// staged files are made by name as before.

// unnamedFiles holds, while writes are staged, a descriptor of each
// directory staged files were linked into.
type unnamedFiles struct {
	off  atomic.Bool // O_TMPFILE or the link failed once: make files by name
	mu   sync.Mutex
	dirs map[string]*os.File
}

// writeUnnamed makes the temporary file tmp holding data as an unnamed
// file linked in once written. It reports false, having made nothing,
// where that cannot be done; the caller then makes tmp by name.
func (d *Dir) writeUnnamed(tmp string, data []byte, perm fs.FileMode) (bool, error) {
	u := &d.unnamed
	if u.off.Load() {
		return false, nil
	}
	dir, err := d.unnamedDir(path.Dir(tmp))
	if err != nil {
		return false, nil // a missing directory: making tmp by name makes it
	}
	fd, err := unix.Openat(int(dir.Fd()), ".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		u.off.Store(true) // EOPNOTSUPP, EISDIR, EINVAL: not here
		return false, nil
	}
	f := os.NewFile(uintptr(fd), tmp)
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return true, err // the unnamed file goes with its descriptor
	}
	base := path.Base(tmp)
	err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), int(dir.Fd()), base, unix.AT_SYMLINK_FOLLOW)
	if err == unix.ENOENT { // no /proc: allowed to a process that may read any file
		err = unix.Linkat(fd, "", int(dir.Fd()), base, unix.AT_EMPTY_PATH)
	}
	if err != nil {
		u.off.Store(true)
		return false, nil
	}
	return true, nil
}

// unnamedDir returns a descriptor of directory dir, opened once.
func (d *Dir) unnamedDir(dir string) (*os.File, error) {
	u := &d.unnamed
	u.mu.Lock()
	f := u.dirs[dir]
	u.mu.Unlock()
	if f != nil {
		return f, nil
	}
	f, err := open(d, dir, func(r *os.Root, base string) (*os.File, error) { return r.Open(base) })
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if old := u.dirs[dir]; old != nil { // another goroutine was first
		f.Close()
		return old, nil
	}
	if u.dirs == nil {
		u.dirs = map[string]*os.File{}
	}
	u.dirs[dir] = f
	return f, nil
}

// closeUnnamed closes the directory descriptors, at the end of staging.
func (d *Dir) closeUnnamed() {
	u := &d.unnamed
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, f := range u.dirs {
		f.Close()
		delete(u.dirs, k)
	}
}
