package abi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/agent-vault/agent-vault/core/reader"
)

// The host protocol: how the module asks its host for the few things the
// reader needs (docs/wasm-abi.md, "Host imports"). A request is a JSON
// object with "op"; the answer is one status byte and a payload: on
// success the raw file for "read" and JSON otherwise, on failure a JSON
// hostError.
const (
	statusOK  = 0
	statusErr = 1
)

// hostRequest is one call from the module to its host.
type hostRequest struct {
	Op    string   `json:"op"`
	Path  string   `json:"path,omitempty"`
	Limit int64    `json:"limit,omitempty"`
	Dir   string   `json:"dir,omitempty"`
	Args  []string `json:"args,omitempty"`
	From  string   `json:"from,omitempty"`
	To    string   `json:"to,omitempty"`
	Data  []byte   `json:"data,omitempty"`
}

// hostError is a failed host call. Kind is one of not_found, not_dir,
// permission, exists, too_large or other; Message is for people.
type hostError struct {
	Kind    string `json:"error"`
	Message string `json:"message"`
}

func (e *hostError) Error() string { return e.Message }

// Is maps kinds to the fs errors core and the reader test for.
func (e *hostError) Is(target error) bool {
	switch e.Kind {
	case "not_found":
		return target == fs.ErrNotExist
	case "permission":
		return target == fs.ErrPermission
	case "exists":
		return target == fs.ErrExist
	}
	return false
}

// statInfo is the answer to lstat.
type statInfo struct {
	Type string `json:"type"` // file, dir, symlink or other
	Size int64  `json:"size"`
	Mode uint32 `json:"mode"` // permission bits
}

// gitResult is the answer to git.
type gitResult struct {
	Exit   int    `json:"exit"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
}

// ImportHost is a reader.Host whose every method is one call to the
// module's host through Call, which sends a request and returns the raw
// answer (status byte and payload).
type ImportHost struct {
	Call func(req []byte) ([]byte, error)
}

var _ reader.Host = ImportHost{}

func (h ImportHost) do(r hostRequest) ([]byte, error) {
	req, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	resp, err := h.Call(req)
	if err != nil {
		return nil, fmt.Errorf("host %s failed: %w", r.Op, err)
	}
	if len(resp) == 0 {
		return nil, fmt.Errorf("host %s gave an empty answer", r.Op)
	}
	if resp[0] == statusOK {
		return resp[1:], nil
	}
	var he hostError
	if err := json.Unmarshal(resp[1:], &he); err != nil || he.Kind == "" {
		return nil, fmt.Errorf("host %s gave a malformed error", r.Op)
	}
	return nil, &he
}

func (h ImportHost) doJSON(r hostRequest, out any) error {
	payload, err := h.do(r)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(payload, out); err != nil {
		return fmt.Errorf("host %s gave a malformed answer: %w", r.Op, err)
	}
	return nil
}

// FS returns dir as a file system whose reads are host calls.
func (h ImportHost) FS(dir string) fs.FS { return hostFS{h: h, root: dir} }

// ReadFile reads a file the user named.
func (h ImportHost) ReadFile(name string, limit int64) ([]byte, error) {
	data, err := h.do(hostRequest{Op: "read", Path: name, Limit: limit})
	if err == nil && int64(len(data)) > limit {
		clear(data)
		return nil, &hostError{Kind: "too_large", Message: fmt.Sprintf("%s is larger than %d bytes", name, limit)}
	}
	return data, err
}

// Git runs git through the host.
func (h ImportHost) Git(_ context.Context, dir string, args ...string) ([]byte, error) {
	var res gitResult
	if err := h.doJSON(hostRequest{Op: "git", Dir: dir, Args: args}, &res); err != nil {
		return nil, fmt.Errorf("failed to run git: %w", err)
	}
	if res.Exit != 0 {
		return []byte(res.Stdout), &reader.GitError{Args: args, Exit: res.Exit, Stderr: lastLines(res.Stderr)}
	}
	return []byte(res.Stdout), nil
}

// MkdirAll creates a private directory.
func (h ImportHost) MkdirAll(dir string) error {
	return h.doJSON(hostRequest{Op: "mkdir", Path: dir}, nil)
}

// Rename renames a file or directory.
func (h ImportHost) Rename(from, to string) error {
	return h.doJSON(hostRequest{Op: "rename", From: from, To: to}, nil)
}

// RemoveAll removes a tree.
func (h ImportHost) RemoveAll(dir string) error {
	return h.doJSON(hostRequest{Op: "remove_all", Path: dir}, nil)
}

// WriteFile atomically writes a private file.
func (h ImportHost) WriteFile(name string, data []byte) error {
	return h.doJSON(hostRequest{Op: "write", Path: name, Data: data}, nil)
}

// CreateExclusive creates a private file, failing with "exists" (which
// matches fs.ErrExist) if anything is there.
func (h ImportHost) CreateExclusive(name string, data []byte) error {
	return h.doJSON(hostRequest{Op: "create", Path: name, Data: data}, nil)
}

// Serve answers one host request with h. It is the host side of the
// protocol in Go, for the wazero host that tests and benchmarks use; the
// Python, Node and browser hosts implement the same few operations.
func Serve(h reader.Host, req []byte) []byte {
	var r hostRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return serveErr(fmt.Errorf("malformed host request: %w", err))
	}
	switch r.Op {
	case "lstat":
		fi, err := fs.Lstat(h.FS(filepath.Dir(r.Path)), filepath.Base(r.Path))
		if err != nil {
			return serveErr(err)
		}
		return serveJSON(statOf(fi))
	case "read":
		// A vault file or a key file alike: the protocol has one read,
		// the reader decides what a file means.
		f, err := h.FS(filepath.Dir(r.Path)).Open(filepath.Base(r.Path))
		if err != nil {
			return serveErr(err)
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, r.Limit+1))
		if err != nil {
			return serveErr(err)
		}
		return append([]byte{statusOK}, data...)
	case "readdir":
		ents, err := fs.ReadDir(h.FS(r.Path), ".")
		if err != nil {
			return serveErr(err)
		}
		out := struct {
			Entries []dirEntry `json:"entries"`
		}{Entries: []dirEntry{}}
		for _, e := range ents {
			out.Entries = append(out.Entries, dirEntry{Name: e.Name(), Type: typeOf(e.Type())})
		}
		return serveJSON(out)
	case "git":
		out, err := h.Git(context.Background(), r.Dir, r.Args...)
		var ge *reader.GitError
		switch {
		case errors.As(err, &ge):
			return serveJSON(gitResult{Exit: ge.Exit, Stdout: string(out), Stderr: ge.Stderr})
		case err != nil:
			return serveErr(err)
		}
		return serveJSON(gitResult{Stdout: string(out)})
	case "mkdir":
		return serveDone(h.MkdirAll(r.Path))
	case "rename":
		return serveDone(h.Rename(r.From, r.To))
	case "remove_all":
		return serveDone(h.RemoveAll(r.Path))
	case "write":
		return serveDone(h.WriteFile(r.Path, r.Data))
	case "create":
		return serveDone(h.CreateExclusive(r.Path, r.Data))
	}
	return serveErr(fmt.Errorf("unknown host op %q", r.Op))
}

func serveJSON(v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		return serveErr(err)
	}
	return append([]byte{statusOK}, out...)
}

func serveDone(err error) []byte {
	if err != nil {
		return serveErr(err)
	}
	return []byte{statusOK, '{', '}'}
}

func serveErr(err error) []byte {
	kind := "other"
	switch {
	case errors.Is(err, fs.ErrNotExist):
		kind = "not_found"
	case errors.Is(err, fs.ErrPermission):
		kind = "permission"
	case errors.Is(err, fs.ErrExist):
		kind = "exists"
	}
	var he *hostError
	if errors.As(err, &he) {
		kind = he.Kind
	}
	out, _ := json.Marshal(hostError{Kind: kind, Message: err.Error()})
	return append([]byte{statusErr}, out...)
}

func statOf(fi fs.FileInfo) statInfo {
	return statInfo{Type: typeOf(fi.Mode().Type()), Size: fi.Size(), Mode: uint32(fi.Mode().Perm())}
}

func typeOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsDir():
		return "dir"
	case m.IsRegular():
		return "file"
	}
	return "other"
}

// lastLines keeps the end of git's stderr, where the reason is.
func lastLines(s string) string {
	const max = 2000
	if len(s) > max {
		s = s[len(s)-max:]
	}
	return strings.TrimSpace(s)
}
