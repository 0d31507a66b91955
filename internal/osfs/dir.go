// Package osfs implements core's file interfaces on the local disk: atomic
// writes under a directory, the writer lock, and key files.
package osfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"sync"
)

// Dir is a directory on disk that core can read and atomically write. It
// records every file it changes so the caller can commit exactly those.
type Dir struct {
	root *os.Root

	mu sync.Mutex
	// subs holds a handle per directory used (see subdirs.go).
	subs map[string]*os.Root
	// retired holds the handles forget dropped while active operations
	// of open were under way; the last of them closes them.
	retired []*os.Root
	active  int
	changed map[string]bool
	// pending holds directories whose sync is deferred, nil when syncs
	// are not deferred.
	pending map[string]bool
	// staged holds the writes waiting for CommitStaged, nil when writes
	// are not staged.
	staged []staged
	// unnamed is how staged files are made where the system allows it
	// (stage_linux.go).
	unnamed unnamedFiles
}

// staged is a written, not yet synced, temporary file and the name it is
// to replace.
type staged struct{ tmp, name string }

// Open opens dir, which must exist.
func Open(dir string) (*Dir, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", dir, err)
	}
	return &Dir{root: root, changed: map[string]bool{}}, nil
}

// Close releases the directory handles.
func (d *Dir) Close() error {
	d.closeUnnamed()
	d.closeSubs()
	return d.root.Close()
}

// Open implements fs.FS.
func (d *Dir) Open(name string) (fs.File, error) {
	return open(d, name, func(r *os.Root, base string) (fs.File, error) {
		f, err := r.Open(base)
		if err != nil {
			return nil, err // not a typed nil *os.File
		}
		return f, nil
	})
}

// Lstat implements fs.ReadLinkFS.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) {
	return open(d, name, (*os.Root).Lstat)
}

// ReadLink implements fs.ReadLinkFS.
func (d *Dir) ReadLink(name string) (string, error) {
	return open(d, name, (*os.Root).Readlink)
}

// WriteFile atomically replaces name: it writes a temporary file in the
// same directory, syncs it, renames it over name and syncs the directory.
// A crash leaves either the old or the new file, never a partial one.
// While writes are staged (see StageWrites) it only writes the temporary
// file.
func (d *Dir) WriteFile(name string, data []byte, perm fs.FileMode) error {
	d.mu.Lock()
	staging := d.staged != nil
	d.mu.Unlock()
	tmp, err := d.writeTemp(name, data, perm, !staging)
	if err != nil {
		return err
	}
	if staging {
		d.mu.Lock()
		d.staged = append(d.staged, staged{tmp: tmp, name: name})
		d.mu.Unlock()
		return nil
	}
	return d.place(tmp, name)
}

// writeTemp writes data to a new temporary file beside name, synced if
// sync is set, and returns its name.
func (d *Dir) writeTemp(name string, data []byte, perm fs.FileMode, sync bool) (string, error) {
	dir := path.Dir(name)
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	tmp := path.Join(dir, "."+path.Base(name)+".tmp-"+hex.EncodeToString(rnd[:]))
	if !sync {
		if made, err := d.writeUnnamed(tmp, data, perm); made {
			if err != nil {
				return "", err
			}
			return tmp, nil
		}
	}
	create := func() (*os.File, error) {
		return open(d, tmp, func(r *os.Root, base string) (*os.File, error) {
			return r.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		})
	}
	// The directory nearly always exists: make it only when it is missing.
	f, err := create()
	if errors.Is(err, fs.ErrNotExist) {
		if err = d.root.MkdirAll(dir, 0o755); err == nil {
			f, err = create()
		}
	}
	if err != nil {
		return "", err
	}
	// A staged file is left to the one sync at commit (see stage.go).
	_, werr := f.Write(data)
	if werr == nil && sync {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		d.remove(tmp)
		return "", werr
	}
	return tmp, nil
}

// place renames a synced temporary file over name and syncs (or, while
// deferred, schedules the sync of) its directory.
func (d *Dir) place(tmp, name string) error {
	// tmp is beside name: one directory handle serves both.
	_, err := open(d, name, func(r *os.Root, base string) (struct{}, error) {
		return struct{}{}, r.Rename(path.Base(tmp), base)
	})
	if err != nil {
		d.remove(tmp)
		return err
	}
	d.syncDir(path.Dir(name))
	d.record(name)
	return nil
}

// Remove deletes a file or an empty directory.
func (d *Dir) Remove(name string) error {
	fi, err := d.Lstat(name)
	if err != nil {
		// Already gone, perhaps removed by an interrupted run whose change
		// was never committed: record it so this run's commit includes it.
		if errors.Is(err, fs.ErrNotExist) {
			d.record(name)
		}
		return err
	}
	if fi.IsDir() {
		d.forget(name)
	}
	if err := d.remove(name); err != nil {
		return err
	}
	d.syncDir(path.Dir(name))
	if !fi.IsDir() {
		d.record(name)
	}
	return nil
}

// syncDir makes a rename or unlink in dir durable, now or, while syncs
// are deferred, at SyncDirs.
func (d *Dir) syncDir(dir string) {
	d.mu.Lock()
	if d.pending != nil {
		d.pending[dir] = true
		d.mu.Unlock()
		return
	}
	d.mu.Unlock()
	d.fsyncDir(dir)
}

// fsyncDir syncs dir. Errors are ignored: some file systems cannot sync
// directories, and the files' data is synced on its own.
func (d *Dir) fsyncDir(dir string) {
	if f, err := d.Open(dir); err == nil {
		f.(*os.File).Sync()
		f.Close()
	}
}

// remove deletes one file or empty directory.
func (d *Dir) remove(name string) error {
	_, err := open(d, name, func(r *os.Root, base string) (struct{}, error) { return struct{}{}, r.Remove(base) })
	return err
}

// DeferDirSyncs makes later writes and removals leave their directory sync
// to SyncDirs. File contents are still synced before each rename, so a
// crash leaves every file old or new; only which of the two is open until
// SyncDirs. Bulk work under a journal uses it: one sync per directory then
// replaces one per file.
func (d *Dir) DeferDirSyncs() {
	d.mu.Lock()
	if d.pending == nil {
		d.pending = map[string]bool{}
	}
	d.mu.Unlock()
}

// SyncDirs syncs every directory deferred since DeferDirSyncs, once each,
// and ends the deferral.
func (d *Dir) SyncDirs() {
	d.mu.Lock()
	dirs := d.pending
	d.pending = nil
	d.mu.Unlock()
	for dir := range dirs {
		d.fsyncDir(dir)
	}
}

func (d *Dir) record(name string) {
	d.mu.Lock()
	d.changed[name] = true
	d.mu.Unlock()
}

// Changed returns the files written or removed so far, sorted.
func (d *Dir) Changed() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.changed))
	for n := range d.changed {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ResetChanged forgets the recorded changes, after they were committed.
func (d *Dir) ResetChanged() {
	d.mu.Lock()
	clear(d.changed)
	d.mu.Unlock()
}
