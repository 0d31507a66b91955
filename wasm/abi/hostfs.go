package abi

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"time"
)

// hostFS is a directory of the host seen through host calls. Core reads a
// vault file with one lstat per path component (it refuses symlinks) and
// one read, so each file costs a few calls and nothing is mounted.
type hostFS struct {
	h    ImportHost
	root string
}

// dirEntry is one entry of a readdir answer.
type dirEntry struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// maxOpen bounds a read made through Open, for callers that do not say
// how much they want; core itself reads through ReadFileLimit.
const maxOpen = 64 << 20

func (f hostFS) full(name string, op string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return path.Join(f.root, name), nil
}

// ReadFileLimit implements core.LimitReadFS: one host call per file.
func (f hostFS) ReadFileLimit(name string, limit int64) ([]byte, error) {
	p, err := f.full(name, "read")
	if err != nil {
		return nil, err
	}
	data, err := f.h.do(hostRequest{Op: "read", Path: p, Limit: limit})
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// Open reads the whole file up front.
func (f hostFS) Open(name string) (fs.File, error) {
	fi, err := f.Lstat(name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		ents, err := f.ReadDir(name)
		if err != nil {
			return nil, err
		}
		return &dirFile{info: fi, ents: ents}, nil
	}
	data, err := f.ReadFileLimit(name, maxOpen)
	if err != nil {
		return nil, err
	}
	return &memFile{info: fi, r: bytes.NewReader(data)}, nil
}

// Lstat implements fs.ReadLinkFS: it never follows a symlink.
func (f hostFS) Lstat(name string) (fs.FileInfo, error) {
	p, err := f.full(name, "lstat")
	if err != nil {
		return nil, err
	}
	var st statInfo
	if err := f.h.doJSON(hostRequest{Op: "lstat", Path: p}, &st); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	return fileInfo{name: path.Base(name), st: st}, nil
}

// Stat is Lstat: core never wants a link followed.
func (f hostFS) Stat(name string) (fs.FileInfo, error) { return f.Lstat(name) }

// ReadLink is not needed by core, which refuses every symlink it meets.
func (f hostFS) ReadLink(name string) (string, error) {
	return "", &fs.PathError{Op: "readlink", Path: name, Err: errors.ErrUnsupported}
}

// ReadDir lists a directory.
func (f hostFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := f.full(name, "readdir")
	if err != nil {
		return nil, err
	}
	var out struct {
		Entries []dirEntry `json:"entries"`
	}
	if err := f.h.doJSON(hostRequest{Op: "readdir", Path: p}, &out); err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	ents := make([]fs.DirEntry, 0, len(out.Entries))
	for _, e := range out.Entries {
		ents = append(ents, fs.FileInfoToDirEntry(fileInfo{name: e.Name, st: statInfo{Type: e.Type}}))
	}
	return ents, nil
}

// Sub keeps the host file system's own methods below a directory.
func (f hostFS) Sub(dir string) (fs.FS, error) {
	p, err := f.full(dir, "sub")
	if err != nil {
		return nil, err
	}
	return hostFS{h: f.h, root: p}, nil
}

// fileInfo is an lstat answer as an fs.FileInfo.
type fileInfo struct {
	name string
	st   statInfo
}

func (i fileInfo) Name() string { return i.name }
func (i fileInfo) Size() int64  { return i.st.Size }
func (i fileInfo) Mode() fs.FileMode {
	m := fs.FileMode(i.st.Mode) & fs.ModePerm
	switch i.st.Type {
	case "dir":
		m |= fs.ModeDir
	case "symlink":
		m |= fs.ModeSymlink
	case "file":
	default:
		m |= fs.ModeIrregular
	}
	return m
}
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.st.Type == "dir" }
func (i fileInfo) Sys() any           { return nil }

type memFile struct {
	info fs.FileInfo
	r    *bytes.Reader
}

func (m *memFile) Stat() (fs.FileInfo, error) { return m.info, nil }
func (m *memFile) Read(p []byte) (int, error) { return m.r.Read(p) }
func (m *memFile) Close() error               { return nil }

type dirFile struct {
	info fs.FileInfo
	ents []fs.DirEntry
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Read([]byte) (int, error)   { return 0, io.EOF }
func (d *dirFile) Close() error               { return nil }
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if n <= 0 {
		ents := d.ents
		d.ents = nil
		return ents, nil
	}
	if len(d.ents) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.ents))
	ents := d.ents[:n]
	d.ents = d.ents[n:]
	return ents, nil
}
