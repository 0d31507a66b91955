// Package memhost is a reader.Host over one in-memory file tree and no
// Git, for tests that pose hostile or fabricated vaults without touching
// the disk. It behaves as the browser's host does: files, no Git, no
// writes.
package memhost

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"
	"testing/fstest"

	"github.com/agent-vault/agent-vault/core/reader"
)

// Host serves Files as the whole file system: the key "vault/a" is the
// path "/vault/a". Parent directories exist implicitly.
type Host struct {
	Files fstest.MapFS
}

var _ reader.Host = Host{}

var (
	errNoGit    = errors.New("no git on this host")
	errReadOnly = errors.New("this host cannot write")
)

// Mount returns Files with every entry of fsys added below dir (no leading
// slash), for building a host from several trees.
func Mount(files fstest.MapFS, dir string, fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := &fstest.MapFile{Mode: info.Mode()}
		if info.Mode().IsRegular() {
			if f.Data, err = fs.ReadFile(fsys, p); err != nil {
				return err
			}
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			target, err := fs.ReadLink(fsys, p)
			if err != nil {
				return err
			}
			f.Data = []byte(target)
		}
		files[path.Join(dir, p)] = f
		return nil
	})
}

// FS returns the tree below dir.
func (h Host) FS(dir string) fs.FS {
	rel := strings.Trim(path.Clean("/"+dir), "/")
	if rel == "" {
		return h.Files
	}
	sub, err := fs.Sub(h.Files, rel)
	if err != nil {
		return fstest.MapFS{}
	}
	return sub
}

// ReadFile reads a file of the tree.
func (h Host) ReadFile(name string, limit int64) ([]byte, error) {
	data, err := fs.ReadFile(h.FS(path.Dir(name)), path.Base(name))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errors.New("file too large")
	}
	return data, nil
}

// Git always fails: there is none.
func (Host) Git(context.Context, string, ...string) ([]byte, error) { return nil, errNoGit }

// MkdirAll fails.
func (Host) MkdirAll(string) error { return errReadOnly }

// Rename fails.
func (Host) Rename(string, string) error { return errReadOnly }

// RemoveAll fails.
func (Host) RemoveAll(string) error { return errReadOnly }

// WriteFile fails.
func (Host) WriteFile(string, []byte) error { return errReadOnly }

// CreateExclusive fails.
func (Host) CreateExclusive(string, []byte) error { return errReadOnly }
