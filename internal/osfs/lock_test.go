package osfs

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// The lock tests run on every OS against that OS's implementation
// (lock_unix.go or lock_windows.go): one writer at a time, a waiting
// writer gets the lock once it is free, a dead holder frees it, and a
// symbolic link is refused.

// lockHolderEnv makes the test binary a process that takes the lock on the
// file it names, reports it and waits to be killed.
const lockHolderEnv = "OSFS_TEST_LOCK_HOLDER"

func TestLockExcludesASecondWriter(t *testing.T) {
	file := filepath.Join(t.TempDir(), ".lock")
	unlock, err := Lock(file, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(file, 0); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock while held: %v, want ErrLocked", err)
	}
	unlock()
	unlock2, err := Lock(file, 0)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

func TestLockWaitsForTheHolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), ".lock")
	unlock, err := Lock(file, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	got := make(chan error)
	go func() {
		unlock2, err := Lock(file, time.Minute)
		if err == nil {
			select {
			case <-released:
			default:
				err = errors.New("took the lock while it was held")
			}
			unlock2()
		}
		got <- err
	}()
	// Give the waiter time to find the lock taken; it must not get it
	// before the release either way.
	time.Sleep(100 * time.Millisecond)
	close(released)
	unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

func TestLockDiesWithItsProcess(t *testing.T) {
	file := filepath.Join(t.TempDir(), ".lock")
	holder := exec.Command(os.Args[0], "-test.run=^TestLockHolderProcess$")
	holder.Env = append(os.Environ(), lockHolderEnv+"="+file)
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("holder process: %q %v", line, err)
	}
	if _, err := Lock(file, 0); !errors.Is(err, ErrLocked) {
		t.Fatalf("lock held by another process: %v, want ErrLocked", err)
	}
	holder.Process.Kill()
	holder.Wait()
	unlock, err := Lock(file, time.Minute)
	if err != nil {
		t.Fatalf("lock after its holder died: %v", err)
	}
	unlock()
}

// TestLockHolderProcess is the holder of TestLockDiesWithItsProcess; run
// by the test binary itself, it does nothing.
func TestLockHolderProcess(t *testing.T) {
	file := os.Getenv(lockHolderEnv)
	if file == "" {
		return
	}
	if _, err := Lock(file, 0); err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("locked\n")
	select {}
}

func TestLockRefusesASymlink(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	link := filepath.Join(dir, ".lock")
	if err := os.Symlink(outside, link); err != nil {
		if runtime.GOOS == "windows" {
			t.Skipf("this account may not create symbolic links: %v", err)
		}
		t.Fatal(err)
	}
	// A dangling link must not create its target...
	if _, err := Lock(link, 0); err == nil {
		t.Fatal("locked through a dangling symbolic link")
	}
	if _, err := os.Lstat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the link's target was created: %v", err)
	}
	// ...and a link to an existing file must not open it.
	if err := os.WriteFile(outside, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(link, 0); err == nil {
		t.Fatal("locked through a symbolic link")
	}
}
