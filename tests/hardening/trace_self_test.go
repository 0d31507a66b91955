package hardening

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTraceCatchesALeak proves the strace checks can fail: a process that
// writes a value to a file (directly, through a dup'd descriptor, with
// pwrite and writev, and from a forked child) must be caught, and its
// write to standard output must be recognised as standard output.
func TestTraceCatchesALeak(t *testing.T) {
	straceBin := ensureStrace(t)
	dir := t.TempDir()
	value := token("leaked")
	script := `import os, sys
v = sys.argv[1].encode()
d = sys.argv[2]
os.write(1, v)
fd = os.open(d + "/direct", os.O_WRONLY | os.O_CREAT, 0o644); os.write(fd, v)
fd2 = os.dup(fd); os.pwrite(fd2, v, 100)
fd3 = os.open(d + "/vec", os.O_WRONLY | os.O_CREAT, 0o644); os.writev(fd3, [b"x", v])
if os.fork() == 0:
    os.dup2(fd3, 1); os.write(1, v); os._exit(0)
os.wait()
`
	log := filepath.Join(dir, "trace")
	args := append([]string{"-o", log}, straceArgs...)
	args = append(args, "python3", "-c", script, value, dir)
	if out, err := exec.Command(straceBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("strace python3: %v\n%s", err, out)
	}
	tr, err := parseTrace(log, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, w := range tr.writes {
		if containsAny(w.data, [][]byte{[]byte(value)}) {
			got[w.call+" "+w.desc.kind+" "+filepath.Base(w.desc.path)]++
		}
	}
	for _, want := range []string{"write stdout .", "write file direct", "pwrite64 file direct", "writev file vec", "write file vec"} {
		if got[want] == 0 {
			t.Errorf("the trace parser missed %q; saw %v", want, got)
		}
	}
}
