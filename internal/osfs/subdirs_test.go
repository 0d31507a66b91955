package osfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Directory handles are kept across operations; a directory removed and
// made again, by Dir or behind its back, is found again, and nothing is
// written into a removed one.
func TestDirHandlesFollowRemovedDirectories(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	read := func(name string) string {
		f, err := d.Open(name)
		if err != nil {
			return "error: " + err.Error()
		}
		defer f.Close()
		buf := make([]byte, 64)
		n, _ := f.Read(buf)
		return string(buf[:n])
	}
	if err := d.WriteFile("a/b/x", []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := read("a/b/x"); got != "one" {
		t.Fatalf("read back %q", got)
	}
	// Removed through Dir, then written again.
	if err := d.Remove("a/b/x"); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("a/b"); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile("a/b/y", []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "a", "b", "y")); err != nil || string(data) != "two" {
		t.Fatalf("after removal through Dir: %q, %v", data, err)
	}
	// Removed and made again by someone else.
	if err := os.RemoveAll(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lstat("a/b/y"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("lstat of a removed file: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "b", "z"), []byte("three"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := read("a/b/z"); got != "three" {
		t.Fatalf("read through a new directory: %q", got)
	}
	os.RemoveAll(filepath.Join(dir, "a"))
	if err := d.WriteFile("a/b/w", []byte("four"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "a", "b", "w")); err != nil || string(data) != "four" {
		t.Fatalf("write after removal behind Dir's back: %q, %v", data, err)
	}
	// Errors name the whole path, as os.Root's do.
	var pe *fs.PathError
	if _, err := d.Lstat("a/b/missing"); !errors.As(err, &pe) || pe.Path != "a/b/missing" {
		t.Fatalf("error %v does not name a/b/missing", err)
	}
	if _, err := d.Open("a/../x"); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("open of an invalid path: %v", err)
	}
}
