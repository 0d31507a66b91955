package core

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Size limits for files read from a repository. Anything larger is treated
// as hostile rather than loaded into memory.
const (
	maxYAMLSize   = 16 << 20
	maxSecretSize = 64 << 20
	maxKeySize    = 64 << 10
)

// WriteFS is the mutation side of a vault directory. Core never touches the
// operating system itself: native callers implement this over a real
// directory, tests over memory.
type WriteFS interface {
	fs.ReadLinkFS
	// WriteFile atomically replaces name with data, creating parent
	// directories as needed. A reader sees either the old or the new
	// content, never a mix, even after a crash.
	WriteFile(name string, data []byte, perm fs.FileMode) error
	// Remove deletes a file or an empty directory.
	Remove(name string) error
}

// dirSyncDeferrer is a WriteFS that can leave the durability of renames
// and removals to one sync per directory at the end of a batch.
type dirSyncDeferrer interface {
	DeferDirSyncs()
	SyncDirs()
}

// writeStager is a WriteFS that can hold writes back and make many durable
// at once. Until CommitStaged, reads see the old files.
type writeStager interface {
	StageWrites()
	// CommitStaged makes the staged writes durable and puts them in
	// place, or with discard drops them.
	CommitStaged(discard bool) error
}

// LimitReadFS is a file system that reads a whole file in one step, at
// most limit+1 bytes of it. A host whose every file access is a call
// across a boundary (the WebAssembly module's) implements it so a read is
// one call, not an open, a stat and a read; a longer result than limit
// means the file is too large.
type LimitReadFS interface {
	fs.FS
	ReadFileLimit(name string, limit int64) ([]byte, error)
}

// checkNoSymlinks refuses name if it or any parent directory is a symlink.
// A WASI preopen or os.Root does not stop a link inside the vault from
// pointing elsewhere, so core checks every component itself.
func checkNoSymlinks(fsys fs.FS, name string) error {
	lfs, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		return errorf(CodeInternal, "file system cannot report symlinks")
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		p := path.Join(parts[:i+1]...)
		fi, err := lfs.Lstat(p)
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return errorf(CodeCorruptVault, "refusing to follow symlink %s", path.Join(DirName, p))
		}
		// Opening a FIFO blocks until a writer appears: refuse special
		// files before anyone opens them.
		if fi.Mode()&(fs.ModeNamedPipe|fs.ModeDevice|fs.ModeSocket|fs.ModeIrregular) != 0 {
			return errorf(CodeCorruptVault, "%s is not a regular file", path.Join(DirName, p))
		}
		if i < len(parts)-1 && !fi.IsDir() {
			return fmt.Errorf("%s: %w", p, fs.ErrNotExist)
		}
	}
	return nil
}

// readFile reads name from fsys after the symlink check, refusing anything
// that is not a regular file or is larger than limit.
func readFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, errorf(CodeInvalidInput, "invalid file name %q", clip(name))
	}
	if err := checkNoSymlinks(fsys, name); err != nil {
		return nil, err
	}
	if lr, ok := fsys.(LimitReadFS); ok {
		data, err := lr.ReadFileLimit(name, limit)
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > limit {
			return nil, errorf(CodeCorruptVault, "%s is too large", path.Join(DirName, name))
		}
		return data, nil
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errorf(CodeCorruptVault, "%s is not a regular file", path.Join(DirName, name))
	}
	if fi.Size() > limit {
		return nil, errorf(CodeCorruptVault, "%s is too large (%d bytes, limit %d)", path.Join(DirName, name), fi.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errorf(CodeCorruptVault, "%s is too large", path.Join(DirName, name))
	}
	return data, nil
}

// exists reports whether name is present (as anything, links included).
func exists(fsys fs.FS, name string) bool {
	lfs, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		return false
	}
	_, err := lfs.Lstat(name)
	return err == nil
}

// writeFile is the single write path: it validates the name and refuses to
// write through a symlink anywhere on the way.
func writeFile(w WriteFS, name string, data []byte, perm fs.FileMode) error {
	if err := checkWritable(w, name); err != nil {
		return err
	}
	if fi, err := w.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return errorf(CodeCorruptVault, "%s is not a regular file", path.Join(DirName, name))
	}
	if err := w.WriteFile(name, data, perm); err != nil {
		return fmt.Errorf("failed to write %s: %w", path.Join(DirName, name), err)
	}
	return nil
}

// removeFile deletes name if present, after the same symlink check.
func removeFile(w WriteFS, name string) error {
	if err := checkWritable(w, name); err != nil {
		return err
	}
	if err := w.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("failed to remove %s: %w", path.Join(DirName, name), err)
	}
	return nil
}

// checkWritable refuses a write target whose existing components include a
// symlink. Missing components are fine: they will be created as directories.
func checkWritable(w WriteFS, name string) error {
	if !fs.ValidPath(name) || name == "." {
		return errorf(CodeInvalidInput, "invalid file name %q", clip(name))
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		p := path.Join(parts[:i+1]...)
		fi, err := w.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return errorf(CodeCorruptVault, "refusing to write through symlink %s", path.Join(DirName, p))
		}
	}
	return nil
}
