package osfs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Staged writes stay invisible until committed, then all land; discarded
// ones leave the old files; neither leaves a temporary file behind.
func TestStagedWrites(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	read := func(name string) string {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		return string(data)
	}
	if err := d.WriteFile("a/x", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}

	d.StageWrites()
	for name, data := range map[string]string{"a/x": "new", "b/c/y": "fresh"} {
		if err := d.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if read("a/x") != "old" || read("b/c/y") != "" {
		t.Fatal("a staged write is visible before commit")
	}
	if err := d.CommitStaged(false); err != nil {
		t.Fatal(err)
	}
	if read("a/x") != "new" || read("b/c/y") != "fresh" {
		t.Fatalf("after commit: %q, %q", read("a/x"), read("b/c/y"))
	}
	if got := d.Changed(); !slices.Equal(got, []string{"a/x", "b/c/y"}) {
		t.Fatalf("changed = %v", got)
	}

	d.StageWrites()
	if err := d.WriteFile("a/x", []byte("dropped"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.CommitStaged(true); err != nil {
		t.Fatal(err)
	}
	if read("a/x") != "new" {
		t.Fatalf("a discarded write landed: %q", read("a/x"))
	}
	// Writes after staging ends are immediate again.
	if err := d.WriteFile("a/x", []byte("direct"), 0o644); err != nil || read("a/x") != "direct" {
		t.Fatalf("write after staging: %q, %v", read("a/x"), err)
	}
	for _, sub := range []string{"a", "b/c"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		if len(entries) != 1 {
			t.Errorf("%s holds %d entries, want 1 (temporary files left?)", sub, len(entries))
		}
	}
}

// syncEach is how staged writes become durable where the whole file
// system cannot be synced at once (every OS but Linux), so it is tested
// here directly.
func TestSyncEach(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tmp, err := d.writeTemp("a/x", []byte("v"), 0o644, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.syncEach([]staged{{tmp: tmp, name: "a/x"}}); err != nil {
		t.Fatal(err)
	}
	if err := d.syncEach([]staged{{tmp: "a/missing", name: "a/y"}}); err == nil {
		t.Fatal("syncEach of a missing file succeeded")
	}
}
