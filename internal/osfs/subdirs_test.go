package osfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
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

// A lookup that finds nothing drops the cached handles, and goroutines
// writing through them at that moment must not see them closed: writers
// into an existing directory run beside writers that make new ones, and
// readers of missing files.
func TestDroppedHandlesStayOpenForOperationsUnderWay(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WriteFile("secrets/old/x", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 200
	errs := make(chan error, 3*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(3)
		go func() {
			defer wg.Done()
			errs <- d.WriteFile(fmt.Sprintf("secrets/old/s%d", i), []byte("v"), 0o644)
		}()
		go func() {
			defer wg.Done()
			errs <- d.WriteFile(fmt.Sprintf("secrets/new%d/s", i), []byte("v"), 0o644)
		}()
		go func() {
			defer wg.Done()
			if _, err := d.Lstat(fmt.Sprintf("secrets/old/missing%d", i)); !errors.Is(err, fs.ErrNotExist) {
				errs <- fmt.Errorf("lstat of a missing file: %v", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.retired) != 0 || d.active != 0 {
		t.Fatalf("%d dropped handles left open, %d operations counted as under way", len(d.retired), d.active)
	}
}
