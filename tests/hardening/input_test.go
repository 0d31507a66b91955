package hardening

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// addressLimit caps the CLI's address space in these tests (2 GiB), so a
// regression that reads an endless input fails with an error here instead
// of exhausting the machine.
const addressLimit = 2 << 30

// limited wraps an agent-vault invocation in "ulimit -v".
func limited(e *clitest.Env, env []string, args ...string) *exec.Cmd {
	cmd := command(e, nil, env, args...)
	cmd.Args = append([]string{"sh", "-c", "ulimit -v " + strconv.Itoa(addressLimit>>10) + ` && exec "$0" "$@"`, e.Bin}, args...)
	cmd.Path = "/bin/sh"
	return cmd
}

// maxRSS is the peak resident memory of a finished command, in bytes.
func maxRSS(cmd *exec.Cmd) int64 {
	return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
}

// TestValueInputIsBounded: a value larger than a secret can hold is
// refused after reading one byte past the limit, from a pipe and from
// --from-file /dev/zero, with invalid_input naming the limit, in bounded
// memory, and nothing changes.
func TestValueInputIsBounded(t *testing.T) {
	e := clitest.New(t)
	must(t, e, "init")
	before := snapshot(t, e.Repo, ".git")
	limit := int64(core.MaxValueSize)
	// Linux carries a process's peak memory across exec, so a peak read
	// here starts at what the test process itself had when it forked.
	// What the command adds over a run that reads nothing is what counts.
	base := limited(e, nil, "--version")
	if r := result(t, base); r.Code != 0 {
		t.Fatalf("--version: exit %d", r.Code)
	}
	baseline := maxRSS(base)
	added := func(cmd *exec.Cmd) int64 { return max(0, maxRSS(cmd)-baseline) }
	want := "more than " + strconv.FormatInt(limit, 10) + " bytes"

	// A pipe offering eight times the limit. The writer counts what it
	// got into the pipe before the reader closed it: what the CLI read,
	// plus at most the pipe's buffer.
	cmd := limited(e, nil, "set", "app/big", "-")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = r
	offered := 8 * limit
	written := make(chan int64, 1)
	go func() {
		chunk := []byte(strings.Repeat("0123456789abcdef", 4096))
		var n int64
		for n < offered {
			k, err := w.Write(chunk)
			n += int64(k)
			if err != nil {
				break
			}
		}
		w.Close()
		written <- n
	}()
	res := result(t, cmd)
	r.Close()
	n := <-written
	noCrashOutput(t, "set -", res)
	if res.Code != exitCodes[core.CodeInvalidInput] || !strings.HasPrefix(res.Stderr, "agent-vault: error: standard input holds "+want) {
		t.Errorf("set - with %d bytes: exit %d, want %d naming the limit\n%s", offered, res.Code, exitCodes[core.CodeInvalidInput], res.Stderr)
	}
	if n >= offered || n > limit+1+(1<<20) {
		t.Errorf("set - took %d bytes from the pipe, want at most %d and its buffer", n, limit+1)
	}
	if rss := added(cmd); rss > 2*limit {
		t.Errorf("set - peaked at %d MiB of memory above a run reading nothing, for a %d MiB limit", rss>>20, limit>>20)
	}
	t.Logf("set -: %d of %d bytes offered were taken from the pipe; peak memory %d MiB (%d MiB above --version)", n, offered, maxRSS(cmd)>>20, added(cmd)>>20)

	// /dev/zero never ends; a sparse file is larger than the limit.
	sparse := filepath.Join(t.TempDir(), "sparse")
	if f, err := os.Create(sparse); err != nil || f.Truncate(limit+1) != nil || f.Close() != nil {
		t.Fatal("cannot make a sparse file")
	}
	for _, file := range []string{"/dev/zero", sparse} {
		cmd := limited(e, nil, "set", "app/big", "--from-file", file)
		res := result(t, cmd)
		noCrashOutput(t, "set --from-file "+file, res)
		if res.Code != exitCodes[core.CodeInvalidInput] || !strings.HasPrefix(res.Stderr, "agent-vault: error: --from-file holds "+want) {
			t.Errorf("set --from-file %s: exit %d, want %d naming the limit\n%s", file, res.Code, exitCodes[core.CodeInvalidInput], res.Stderr)
		}
		if rss := added(cmd); rss > 2*limit {
			t.Errorf("set --from-file %s peaked at %d MiB of memory above a run reading nothing", file, rss>>20)
		}
		t.Logf("set --from-file %s: peak memory %d MiB", file, maxRSS(cmd)>>20)
	}
	if err := sameSnapshot(before, snapshot(t, e.Repo, ".git")); err != nil {
		t.Errorf("a refused value changed the vault: %v", err)
	}
}
