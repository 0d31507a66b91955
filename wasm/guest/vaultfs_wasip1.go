//go:build wasip1

package main

import (
	"io/fs"
	"os"
	"syscall"
)

// vaultFS is os.DirFS with one correction. WASI has no file type for FIFOs
// and other special files, so hosts report them as "unknown", which Go's
// wasip1 port presents as a regular file. Opening a FIFO would then block
// the guest forever; reporting it as irregular lets core refuse it, as it
// does natively.
type vaultFS struct{ fs.FS }

func openVaultFS(root string) fs.FS { return vaultFS{os.DirFS(root)} }

func (v vaultFS) Lstat(name string) (fs.FileInfo, error) {
	fi, err := fs.Lstat(v.FS, name)
	if err != nil {
		return nil, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && syscall.Filetype(st.Filetype) == syscall.FILETYPE_UNKNOWN {
		return irregular{fi}, nil
	}
	return fi, nil
}

func (v vaultFS) ReadLink(name string) (string, error) { return fs.ReadLink(v.FS, name) }

// irregular marks a FileInfo as a special file.
type irregular struct{ fs.FileInfo }

func (i irregular) Mode() fs.FileMode { return i.FileInfo.Mode() | fs.ModeIrregular }
