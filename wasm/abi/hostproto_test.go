package abi_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/agent-vault/agent-vault/internal/oshost"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

// TestCreateExclusiveAcrossTheProtocol: the module's exclusive create, a
// round trip through the host protocol, creates a private file once, then
// reports "exists" as fs.ErrExist, a symlink included, and a missing
// directory as fs.ErrNotExist; remove_all removes the file.
func TestCreateExclusiveAcrossTheProtocol(t *testing.T) {
	h := abi.ImportHost{Call: func(req []byte) ([]byte, error) { return abi.Serve(oshost.Host{}, req), nil }}
	dir := t.TempDir()
	lock := filepath.Join(dir, "read.lock")
	if err := h.CreateExclusive(lock, []byte("stamp\n")); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(lock); err != nil || string(data) != "stamp\n" {
		t.Fatalf("content %q, %v", data, err)
	}
	if fi, _ := os.Stat(lock); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	if err := h.CreateExclusive(lock, []byte("other\n")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second create: %v, want fs.ErrExist", err)
	}
	if data, _ := os.ReadFile(lock); string(data) != "stamp\n" {
		t.Fatal("a failed create changed the file")
	}
	link := filepath.Join(dir, "link.lock")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), link); err != nil {
		t.Fatal(err)
	}
	if err := h.CreateExclusive(link, nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("create over a dangling symlink: %v, want fs.ErrExist", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); err == nil {
		t.Fatal("create followed the symlink")
	}
	if err := h.CreateExclusive(filepath.Join(dir, "missing", "read.lock"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("create in a missing directory: %v, want fs.ErrNotExist", err)
	}
	if err := h.RemoveAll(lock); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(lock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("remove_all left the file: %v", err)
	}
}
