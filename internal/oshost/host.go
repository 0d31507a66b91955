// Package oshost gives the reader (core/reader) the operating system: the
// disk, the user's git, and private files under ~/.agent-vault. The CLI
// and the MCP server read through it; in the WebAssembly module each
// binding provides the same few functions instead.
package oshost

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/internal/gitx"
	"github.com/agent-vault/agent-vault/internal/keyfile"
)

// Host is the operating system as a reader.Host.
type Host struct {
	// InsecureKeyPerms lets ReadFile use a key file that group or others
	// can access; otherwise it is refused, as ssh does (internal/keyfile).
	InsecureKeyPerms bool
}

var _ reader.Host = Host{}

// FS returns dir as a read-only file system that reports symlinks.
func (Host) FS(dir string) fs.FS { return os.DirFS(dir) }

// ReadFile reads a key or pin file: at most limit bytes, refusing a larger
// file, and refusing one that group or others can access unless
// InsecureKeyPerms.
func (h Host) ReadFile(name string, limit int64) ([]byte, error) {
	data, err := keyfile.Read(name, h.InsecureKeyPerms)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		clear(data)
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return data, nil
}

// Git runs the user's git in dir through gitx.
func (Host) Git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	out, err := gitx.Repo{Dir: dir}.Run(ctx, nil, args...)
	var ge *gitx.Error
	if errors.As(err, &ge) && ge.Exit >= 0 {
		return out, &reader.GitError{Args: args, Exit: ge.Exit, Stderr: ge.Stderr}
	}
	return out, err
}

// MkdirAll creates dir with mode 0700.
func (Host) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o700) }

// Rename renames from to to.
func (Host) Rename(from, to string) error { return os.Rename(from, to) }

// RemoveAll removes dir and everything in it.
func (Host) RemoveAll(dir string) error { return os.RemoveAll(dir) }

// WriteFile atomically replaces name with data, mode 0600: a temporary
// file beside it, synced, then renamed over it.
func (Host) WriteFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return err
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".tmp-"+hex.EncodeToString(suffix[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// CreateExclusive creates name, mode 0600, with O_EXCL: it fails with
// fs.ErrExist if anything is there. A lock file needs no sync.
func (Host) CreateExclusive(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}
