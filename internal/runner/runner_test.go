//go:build unix

package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/agent-vault/agent-vault/core"
)

// value is a look-alike of an API key, not a real one.
const value = "sk_test_runner_0123456789abcdef"

// watchWriter collects output and closes seen once it contains want.
type watchWriter struct {
	mu   sync.Mutex
	b    bytes.Buffer
	want string
	seen chan struct{}
}

func newWatch(want string) *watchWriter {
	return &watchWriter{want: want, seen: make(chan struct{})}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.b.String(), w.want)
	w.b.Write(p)
	if !had && strings.Contains(w.b.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func sh(t *testing.T, script string, vars []Var, masked bool) (Result, string, string) {
	t.Helper()
	env, err := Environ(os.Environ(), vars)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	spec := Spec{Argv: []string{"/bin/sh", "-c", script}, Env: env, Stdout: &out, Stderr: &errb}
	if masked {
		spec.Mask = MaskSet(vars)
	}
	res, err := Run(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return res, out.String(), errb.String()
}

func TestRunMasksStdoutAndStderr(t *testing.T) {
	vars := []Var{{Name: "STRIPE_KEY", Secret: "stripe/api-key", Value: []byte(value)}}
	// The value goes out in two writes on stdout and whole on stderr.
	script := `printf 'key=%s' "${STRIPE_KEY%????????}"; printf '%s\n' "${STRIPE_KEY#"${STRIPE_KEY%????????}"}"; printf '%s' "$STRIPE_KEY" >&2`
	res, out, errOut := sh(t, script, vars, true)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %q", res.ExitCode, errOut)
	}
	if out != "key=<agent-vault:stripe/api-key>\n" || errOut != "<agent-vault:stripe/api-key>" {
		t.Fatalf("stdout %q, stderr %q", out, errOut)
	}
	// Without masking the child's output is its own.
	if _, out, _ := sh(t, script, vars, false); out != "key="+value+"\n" {
		t.Fatalf("unmasked stdout %q", out)
	}
}

func TestRunPassesBinaryThrough(t *testing.T) {
	vars := []Var{{Name: "TOKEN", Secret: "ci/token", Value: []byte(value)}}
	_, out, _ := sh(t, `printf '\000\377\200abc'; printf '%s' "$TOKEN"; printf '\001\n\377'`, vars, true)
	want := "\x00\xff\x80abc<agent-vault:ci/token>\x01\n\xff"
	if out != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

func TestRunEnvironment(t *testing.T) {
	t.Setenv(core.KeyEnv, "/some/key/file")
	t.Setenv("INHERITED", "kept")
	t.Setenv("REPLACED", "old")
	vars := []Var{{Name: "REPLACED", Secret: "a/b", Value: []byte("new")}}
	_, out, _ := sh(t, `printf '%s|%s|%s|' "${AGENT_VAULT_KEY-unset}" "$INHERITED" "$REPLACED"; env | grep -c '^REPLACED='`, vars, false)
	if out != "unset|kept|new|1\n" {
		t.Fatalf("got %q", out)
	}
}

func TestEnvironRefusesNUL(t *testing.T) {
	_, err := Environ(nil, []Var{{Name: "BIN", Secret: "blobs/binary", Value: []byte("a\x00b")}})
	if core.CodeOf(err) != core.CodeInvalidInput || strings.Contains(err.Error(), "a\x00b") {
		t.Fatalf("got %v", err)
	}
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"STRIPE_KEY", "_x", "db_url2"} {
		if err := CheckName(name, nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"", "1X", "A-B", "A=B", "A B", "É"} {
		if err := CheckName(name, nil); core.CodeOf(err) != core.CodeInvalidInput {
			t.Errorf("%q accepted: %v", name, err)
		}
	}
	refused := []string{"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "NODE_OPTIONS",
		"PYTHONPATH", "PYTHONSTARTUP", "PERL5OPT", "RUBYOPT", "BASH_ENV", "ENV", "PATH", "IFS", "Path", "ld_preload"}
	for _, name := range refused {
		err := CheckName(name, nil)
		if core.CodeOf(err) != core.CodeInvalidInput || !strings.Contains(core.HintOf(err), "--allow-var "+name) {
			t.Errorf("%s not refused: %v", name, err)
		}
		if err := CheckName(name, []string{name}); err != nil {
			t.Errorf("%s refused despite --allow-var: %v", name, err)
		}
	}
	if err := CheckName(core.KeyEnv, []string{core.KeyEnv}); err == nil {
		t.Error("the key variable can be a target")
	}
}

func TestRunExitCodes(t *testing.T) {
	if res, _, _ := sh(t, "exit 7", nil, true); res.ExitCode != 7 {
		t.Errorf("exit 7 gave %d", res.ExitCode)
	}
	if res, _, _ := sh(t, "kill -TERM $$", nil, true); res.ExitCode != 128+int(syscall.SIGTERM) {
		t.Errorf("a child killed by SIGTERM gave %d", res.ExitCode)
	}
	_, err := Run(context.Background(), Spec{Argv: []string{"agent-vault-no-such-program"}})
	var se *StartError
	if !errors.As(err, &se) || !se.NotFound() {
		t.Fatalf("missing program: %v", err)
	}
	_, err = Run(context.Background(), Spec{Argv: []string{os.TempDir()}})
	if !errors.As(err, &se) || se.NotFound() {
		t.Fatalf("a directory as program: %v", err)
	}
}

// TestRunForwardsSignals sends SIGTERM to this process while a child that
// traps it runs: the child must see it and its exit code come back.
func TestRunForwardsSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			out := newWatch("ready")
			script := `trap 'echo got-signal; exit 42' ` + strings.TrimPrefix(strings.ToUpper(signalName(sig)), "SIG") +
				`; echo ready; while :; do sleep 1 & wait $!; done`
			go func() {
				<-out.seen
				syscall.Kill(os.Getpid(), sig)
			}()
			res, err := Run(context.Background(), Spec{Argv: []string{"/bin/sh", "-c", script}, Env: os.Environ(),
				Stdout: out, Stderr: os.Stderr, ForwardSignals: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 42 || !strings.Contains(out.String(), "got-signal") {
				t.Fatalf("exit %d, output %q", res.ExitCode, out.String())
			}
		})
	}
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGHUP:
		return "HUP"
	}
	return "INT"
}

// TestIsolatedRunIsCanceledWithItsChildren ends a run through its context
// and checks that a background process it started is gone too.
func TestIsolatedRunIsCanceledWithItsChildren(t *testing.T) {
	out := newWatch("\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-out.seen
		cancel()
	}()
	res, err := Run(ctx, Spec{Argv: []string{"/bin/sh", "-c", "sleep 1000 & echo $!; wait"}, Env: os.Environ(),
		Stdout: out, Stderr: os.Stderr, Isolate: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Canceled || res.ExitCode != 128+int(syscall.SIGKILL) {
		t.Fatalf("result %+v", res)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	// The background sleep was killed with its group: it is gone, a
	// zombie, or has the kill pending.
	if !dying(pid) {
		t.Fatalf("background process %d outlived the run", pid)
	}
}

// dying reports whether pid no longer runs or has SIGKILL pending.
func dying(pid int) bool {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return syscall.Kill(pid, 0) != nil
	}
	for _, line := range strings.Split(string(st), "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch k {
		case "State":
			if strings.HasPrefix(v, "Z") || strings.HasPrefix(v, "X") {
				return true
			}
		case "SigPnd", "ShdPnd":
			if mask, err := strconv.ParseUint(v, 16, 64); err == nil && mask&(1<<(syscall.SIGKILL-1)) != 0 {
				return true
			}
		}
	}
	return false
}
