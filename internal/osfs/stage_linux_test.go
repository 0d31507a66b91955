package osfs

import (
	"os"
	"path/filepath"
	"testing"
)

// Staged files are made unnamed and linked in, where the file system
// allows it, and by name where it does not; both land on commit.
func TestStagedFilesAreMadeUnnamed(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WriteFile("a/x", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.StageWrites()
	if err := d.WriteFile("a/x", []byte("unnamed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if d.unnamed.off.Load() || len(d.unnamed.dirs) != 1 {
		t.Fatalf("the staged file was not made unnamed (off %v, %d directories)", d.unnamed.off.Load(), len(d.unnamed.dirs))
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "a"))
	if len(entries) != 2 {
		t.Fatalf("a holds %d entries, want the old file and the linked temporary one", len(entries))
	}
	d.unnamed.off.Store(true) // as on a file system without O_TMPFILE
	if err := d.WriteFile("a/y", []byte("named"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.CommitStaged(false); err != nil {
		t.Fatal(err)
	}
	if len(d.unnamed.dirs) != 0 {
		t.Error("the directory descriptors outlived staging")
	}
	for name, want := range map[string]string{"a/x": "unnamed", "a/y": "named"} {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "a/x")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("a/x mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "a")); len(entries) != 2 {
		t.Errorf("a holds %d entries after the commit, want 2", len(entries))
	}
}
