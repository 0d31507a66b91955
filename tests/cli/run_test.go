//go:build unix

package cli

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/agent-vault/agent-vault/internal/clitest"
)

// The values below are look-alikes made for these tests, not real keys.
const (
	runKey  = "sk_test_run_4eC39HqLyjWDarjtT1zdp7dc"
	runHook = "whsec_run_0123456789abcdef"
)

// runVault is a vault with two stripe secrets and an agent granted them,
// plus a postgres secret the agent was not granted.
func runVault(t *testing.T) *clitest.Env {
	e := initVault(t)
	e.OK("add-agent", "billing")
	for path, v := range map[string]string{"stripe/api-key": runKey, "stripe/webhook": runHook, "postgres/conn": "postgres://u:pw-run-test@h/db"} {
		if r := e.Run([]byte(v), nil, "set", path, "-"); r.Code != 0 {
			t.Fatal(r.Stderr)
		}
	}
	e.OK("grant", "billing", "stripe")
	return e
}

func TestRunInjectsAndMasks(t *testing.T) {
	e := runVault(t)
	// The key goes out in two writes (cut mid-value) on stdout, the hook
	// whole on stderr.
	script := `printf 'key=%s' "${K%??????????}"; printf '%s\n' "${K#"${K%??????????}"}"; printf 'hook=%s\n' "$H" >&2`
	r := e.Run(nil, nil, "run", "--env", "K=stripe/api-key", "--env", "H=stripe/webhook", "--", "sh", "-c", script)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if r.Stdout != "key=<agent-vault:stripe/api-key>\n" || r.Stderr != "hook=<agent-vault:stripe/webhook>\n" {
		t.Fatalf("stdout %q, stderr %q", r.Stdout, r.Stderr)
	}
	// As an agent too, and the child's stdout is byte for byte otherwise.
	agent := []string{"AGENT_VAULT_KEY=" + e.AgentKey("billing")}
	r = e.Run(nil, agent, "run", "--env", "K=stripe/api-key", "--", "sh", "-c", `printf '\000\377%s\200' "$K"`)
	if r.Code != 0 || r.Stdout != "\x00\xff<agent-vault:stripe/api-key>\x80" {
		t.Fatalf("binary output: %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
}

func TestRunNoMaskingInheritsStreams(t *testing.T) {
	e := runVault(t)
	// The child names its stdout and its parent's: the same pipe when the
	// stream is inherited, a different one when agent-vault masks it.
	script := `printf '%s %s %s' "$K" "$(readlink /proc/$$/fd/1)" "$(readlink /proc/$PPID/fd/1)"`
	r := e.Run(nil, nil, "run", "--no-masking", "--env", "K=stripe/api-key", "--", "sh", "-c", script)
	f := strings.Fields(r.Stdout)
	if r.Code != 0 || len(f) != 3 || f[0] != runKey || f[1] != f[2] {
		t.Fatalf("--no-masking: %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
	r = e.Run(nil, nil, "run", "--env", "K=stripe/api-key", "--", "sh", "-c", script)
	f = strings.Fields(r.Stdout)
	if r.Code != 0 || len(f) != 3 || f[0] != "<agent-vault:stripe/api-key>" || f[1] == f[2] {
		t.Fatalf("masked: %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
	if out := e.OK("run", "--help"); !strings.Contains(out, "--no-masking") || !strings.Contains(out, "real terminal") ||
		!strings.Contains(out, "split across") {
		t.Errorf("run --help does not explain masking: %s", out)
	}
}

func TestRunExitCodes(t *testing.T) {
	e := runVault(t)
	if r := e.Run(nil, nil, "run", "--env", "K=stripe/api-key", "--", "sh", "-c", "exit 7"); r.Code != 7 {
		t.Errorf("exit 7 gave %d", r.Code)
	}
	if r := e.Run(nil, nil, "run", "--", "sh", "-c", "kill -TERM $$"); r.Code != 128+int(syscall.SIGTERM) {
		t.Errorf("a child killed by SIGTERM gave %d", r.Code)
	}
	if r := e.Fail(127, "run", "--", "agent-vault-no-such-command"); !strings.Contains(r.Stderr, "agent-vault-no-such-command") {
		t.Errorf("missing command: %s", r.Stderr)
	}
	e.Fail(126, "run", "--", e.Repo)
	e.Fail(2, "run", "--env", "K=stripe/api-key")
}

// TestRunForwardsSIGTERM signals agent-vault itself: the child, which traps
// TERM, must get it, and its exit code must come back.
func TestRunForwardsSIGTERM(t *testing.T) {
	e := runVault(t)
	marker := filepath.Join(t.TempDir(), "got-term")
	script := `trap 'echo term > "$MARKER"; exit 42' TERM; echo ready; while :; do sleep 1 & wait $!; done`
	cmd := e.Command([]string{"MARKER=" + marker}, "run", "--env", "K=stripe/api-key", "--", "sh", "-c", script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child did not start: %q %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 {
		t.Fatalf("exit %d, want the child's 42", code)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "term\n" {
		t.Fatalf("the child did not see SIGTERM: %q %v", b, err)
	}
}

// TestRunRefusesBeforeStarting checks that nothing starts when a name is
// refused or a secret cannot be read.
func TestRunRefusesBeforeStarting(t *testing.T) {
	e := runVault(t)
	marker := filepath.Join(t.TempDir(), "started")
	touch := []string{"--", "sh", "-c", "touch " + marker}
	agent := []string{"AGENT_VAULT_KEY=" + e.AgentKey("billing")}
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		hint string
	}{
		{"PATH", nil, []string{"--env", "PATH=stripe/api-key"}, 2, "--allow-var PATH"},
		{"LD_PRELOAD", nil, []string{"--env", "LD_PRELOAD=stripe/api-key"}, 2, "--allow-var LD_PRELOAD"},
		{"DYLD_", nil, []string{"--env", "DYLD_INSERT_LIBRARIES=stripe/api-key"}, 2, "--allow-var"},
		{"NODE_OPTIONS from the environment", []string{"NODE_OPTIONS=agent-vault://stripe/api-key"}, nil, 2, "--allow-var NODE_OPTIONS"},
		{"key variable", nil, []string{"--env", "AGENT_VAULT_KEY=stripe/api-key"}, 2, ""},
		{"bad name", nil, []string{"--env", "1X=stripe/api-key"}, 2, ""},
		{"bad path", nil, []string{"--env", "K=../etc/passwd"}, 2, ""},
		{"missing secret", nil, []string{"--env", "K=stripe/nope"}, 4, ""},
		{"ungranted secret", agent, []string{"--env", "K=stripe/api-key", "--env", "P=postgres/conn"}, 5, "grant billing postgres"},
	}
	for _, c := range cases {
		r := e.Run(nil, c.env, append(append([]string{"run"}, c.args...), touch...)...)
		if r.Code != c.code || !strings.HasPrefix(r.Stderr, "agent-vault: error: ") || !strings.Contains(r.Stderr, c.hint) {
			t.Errorf("%s: exit %d, stderr %q", c.name, r.Code, r.Stderr)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%s: the command was started", c.name)
		}
		if strings.Contains(r.Stderr, runKey) || strings.Contains(r.Stdout, runKey) {
			t.Fatalf("%s: the value leaked", c.name)
		}
	}
	// --allow-var lets a refused name through.
	r := e.Run(nil, nil, "run", "--allow-var", "LD_PRELOAD", "--env", "LD_PRELOAD=stripe/api-key", "--no-masking", "--",
		"sh", "-c", `test "$LD_PRELOAD" = "`+runKey+`" && echo yes`)
	// The dynamic loader complains about the nonexistent preload; the
	// shell still runs.
	if r.Code != 0 || r.Stdout != "yes\n" {
		t.Fatalf("--allow-var: %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
}

func TestRunEnvironmentReferencesAndFiles(t *testing.T) {
	e := runVault(t)
	envFile := filepath.Join(t.TempDir(), "refs.env")
	os.WriteFile(envFile, []byte("# stripe\n\nexport HOOK=stripe/webhook\nKEY = \"agent-vault://stripe/api-key\"\nOVER=stripe/webhook\n"), 0o600)
	inherited := []string{"FROM_ENV=agent-vault://stripe/api-key", "OVER=agent-vault://stripe/api-key", "PLAIN=kept",
		"AGENT_VAULT_KEY=" + e.OwnerKey()}
	script := `test "$FROM_ENV" = "$KEY_REF" && test "$KEY" = "$KEY_REF" && test "$HOOK" = "$OVER" && test "$FLAG" = "$HOOK" &&
		printf '%s|%s|%s|%s' "$FROM_ENV" "$HOOK" "$PLAIN" "${AGENT_VAULT_KEY-unset}"`
	r := e.Run(nil, inherited, "run", "--env-file", envFile, "--env", "FLAG=stripe/webhook", "--env", "KEY_REF=stripe/api-key", "--",
		"sh", "-c", script)
	if r.Code != 0 || r.Stdout != "<agent-vault:stripe/api-key>|<agent-vault:stripe/webhook>|kept|unset" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.Code, r.Stdout, r.Stderr)
	}
	os.WriteFile(envFile, []byte("KEY\n"), 0o600)
	if r := e.Fail(2, "run", "--env-file", envFile, "--", "true"); !strings.Contains(r.Stderr, "refs.env:1") {
		t.Errorf("bad env file line: %s", r.Stderr)
	}
}
