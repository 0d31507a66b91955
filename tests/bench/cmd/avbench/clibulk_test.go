//go:build unix

package main

import (
	"os"
	"path/filepath"
	"testing"
)

// System calls are told apart by program whatever the width of the pids
// strace pads to five columns.
func TestCountSyscallsByProgram(t *testing.T) {
	log := `1053  execve("/x/bin/agent-vault", ["agent-vault", "grant"], 0x7ffd /* 39 vars */) = 0
1053  openat(AT_FDCWD, "a", O_RDONLY) = 3
1053  clone3({flags=CLONE_VM}, 88) = 1054
1054  openat(AT_FDCWD, "b", O_RDONLY) = 4
1054  clone(child_stack=NULL, flags=CLONE_VFORK) = 12345
12345 execve("/usr/bin/git", ["git", "commit"], 0x7ffd /* 39 vars */) = 0
12345 openat(AT_FDCWD, "c", O_RDONLY) = 3
12345 write(1, "x", 1) = 1
`
	path := filepath.Join(t.TempDir(), "strace.log")
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := countSyscalls(path)
	if err != nil {
		t.Fatal(err)
	}
	// An execve counts for the program that made it: git's for
	// agent-vault's child, agent-vault's own for what started it.
	if c["agent-vault"]["openat"] != 2 || c["agent-vault"][""] != 5 || c["git"]["openat"] != 1 || c["git"][""] != 3 {
		t.Fatalf("counts %v", c)
	}
}
