//go:build unix

package wasmhost_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/tests/vectors"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@localhost", "GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@localhost")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// cpuTime is the CPU this process has used, every thread included.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestModuleSleepsWhileTheCloneIsLocked: a reader in the module, with
// auto-pull on a clone another process holds the read lock of, waits for
// the lock and then reads; while it waits it sleeps rather than spinning
// (wazero's nanosleep is off by default, which would turn every sleep of
// the guest into a busy loop).
func TestModuleSleepsWhileTheCloneIsLocked(t *testing.T) {
	table, err := vectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "work")
	if err := os.CopyFS(work, os.DirFS(table.VaultDir())); err != nil {
		t.Fatal(err)
	}
	git(t, work, "init", "--quiet", "--initial-branch=main")
	git(t, work, "add", "--all", "--force")
	git(t, work, "commit", "--quiet", "-m", "fixture")
	bare := filepath.Join(t.TempDir(), "remote.git")
	git(t, work, "clone", "--quiet", "--bare", work, bare)
	shared := filepath.Join(t.TempDir(), "shared")
	git(t, filepath.Dir(shared), "clone", "--quiet", bare, shared)

	home := t.TempDir()
	keyData, err := os.ReadFile(filepath.Join(table.Dir, "keys", "billing.key"))
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(home, "billing.key")
	if err := os.WriteFile(key, keyData, 0o600); err != nil {
		t.Fatal(err)
	}
	ownerKey, err := os.ReadFile(filepath.Join(table.Dir, "keys", "owner.key"))
	if err != nil {
		t.Fatal(err)
	}
	owner, err := core.ParseIdentity(ownerKey)
	if err != nil {
		t.Fatal(err)
	}
	pin, err := core.OwnerVerificationKey(owner)
	if err != nil {
		t.Fatal(err)
	}

	rt, ctx := runtime(t)
	v, err := rt.OpenVault(ctx, abi.Request{Repo: shared, Cwd: "/", Home: home, Key: core.KeySpec{Path: key}, AutoPull: true, Owner: pin})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(ctx)

	// Another reader's lock, as core/reader/lock.go stamps it.
	lock := filepath.Join(shared, ".git", "agent-vault", "read.lock")
	if err := os.MkdirAll(filepath.Dir(lock), 0o700); err != nil {
		t.Fatal(err)
	}
	stamp := time.Now().UTC().Format(time.RFC3339Nano) + " 0123456789abcdef pull\n"
	if err := os.WriteFile(lock, []byte(stamp), 0o600); err != nil {
		t.Fatal(err)
	}
	const hold = 500 * time.Millisecond
	released := make(chan struct{})
	go func() {
		time.Sleep(hold)
		os.Remove(lock)
		close(released)
	}()
	cpu, start := cpuTime(t), time.Now()
	value, err := v.Get(ctx, "stripe/api-key")
	wall, used := time.Since(start), cpuTime(t)-cpu
	if err != nil || len(value) == 0 {
		t.Fatalf("get: %v", err)
	}
	select {
	case <-released:
	default:
		t.Fatal("the get did not wait for the lock")
	}
	if used > wall/2 {
		t.Fatalf("the module used %v of CPU in a %v get that waited %v for the lock: it spins", used, wall, hold)
	}
}
