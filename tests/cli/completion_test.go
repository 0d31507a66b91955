package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/clitest"
)

// The completion scripts run in real bash, zsh and fish against a real
// vault. scripts/install-deps.sh installs the shells; a missing one fails.

// completionVault is a vault with agents, groups and secrets to complete,
// and a directory holding one file, for --from-file.
func completionVault(t *testing.T) (*clitest.Env, string) {
	e := initVault(t)
	e.OK("add-agent", "bot")
	e.OK("add-agent", "ops")
	e.OK("set", "stripe/api-key", "sk_test_completion")
	e.OK("set", "stripe/webhook", "whsec_test")
	e.OK("set", "token", "tok_test")
	e.OK("grant", "bot", "stripe")
	files := t.TempDir()
	if err := os.WriteFile(filepath.Join(files, "cert.pem"), []byte("not a real cert"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e, files
}

func shell(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run scripts/install-deps.sh (make deps)", name)
	}
	return p
}

// completionCase is a command line typed so far (the last word is the one
// being completed) and the candidates the shell must offer.
type completionCase struct {
	words []string
	want  []string
}

func completionCases(e *clitest.Env, files string) []completionCase {
	return []completionCase{
		{[]string{"gr"}, []string{"grant"}},
		{[]string{"get", ""}, []string{"stripe/api-key", "stripe/webhook", "token"}},
		{[]string{"get", "stripe/a"}, []string{"stripe/api-key"}},
		{[]string{"set", "tok"}, []string{"token"}},
		{[]string{"grant", ""}, []string{"bot", "ops"}},
		{[]string{"grant", "ops", ""}, []string{"default", "stripe"}},
		{[]string{"revoke", "bot", ""}, []string{"stripe"}},
		{[]string{"remove-agent", "o"}, []string{"ops"}},
		{[]string{"completions", ""}, []string{"bash", "fish", "powershell", "zsh"}},
		{[]string{"list", "--j"}, []string{"--json"}},
		{[]string{"mcp", "--au"}, []string{"--audit-log"}},
		{[]string{"mcp", "--no-"}, []string{"--no-pull", "--no-reveal"}},
		{[]string{"set", "x", "--group", "st"}, []string{"stripe"}},
		{[]string{"set", "x", "--agents", "bot,"}, []string{"bot,ops"}},
		{[]string{"set", "x", "--from-file", files + "/ce"}, []string{files + "/cert.pem"}},
		{[]string{"--repo", e.Repo, "get", "stripe/w"}, []string{"stripe/webhook"}},
	}
}

// script writes the completion script for sh into a temporary file.
func script(t *testing.T, e *clitest.Env, sh string) string {
	out := e.OK("completions", sh)
	p := filepath.Join(t.TempDir(), "agent-vault."+sh)
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runShell runs a shell script from a directory without a vault, so only
// --repo (or the completion's own cwd handling) finds one.
func runShell(t *testing.T, e *clitest.Env, dir string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + e.Home, "PATH=" + filepath.Dir(e.Bin) + ":" + os.Getenv("PATH"), "LC_ALL=C", "TERM=dumb"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s%s", argv[0], err, out.String(), errb.String())
	}
	return out.String()
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

func quoteAll(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func TestCompletionBash(t *testing.T) {
	bash := shell(t, "bash")
	e, files := completionVault(t)
	s := script(t, e, "bash")
	for _, tc := range completionCases(e, files) {
		// bash splits "--group=st" at '='; the script is called with the
		// words bash made.
		words := append([]string{"agent-vault"}, tc.words...)
		prog := "source " + s + "\nCOMP_WORDS=(" + quoteAll(words) + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_agent_vault\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		got := lines(runShell(t, e, e.Repo, bash, "--norc", "--noprofile", "-c", prog))
		if !slices.Equal(got, tc.want) {
			t.Errorf("bash %q: %q, want %q", tc.words, got, tc.want)
		}
	}
	// "--group=st" as bash splits it.
	prog := "source " + s + "\nCOMP_WORDS=(agent-vault set x --group = st)\nCOMP_CWORD=5\n_agent_vault\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	if got := lines(runShell(t, e, e.Repo, bash, "--norc", "--noprofile", "-c", prog)); !slices.Equal(got, []string{"stripe"}) {
		t.Errorf("bash --group=st: %q", got)
	}
}

func TestCompletionFish(t *testing.T) {
	fish := shell(t, "fish")
	e, files := completionVault(t)
	s := script(t, e, "fish")
	for _, tc := range completionCases(e, files) {
		line := "agent-vault " + strings.Join(tc.words, " ")
		prog := "source " + s + "; complete -C " + quoteAll([]string{line})
		var got []string
		for _, l := range lines(runShell(t, e, e.Repo, fish, "--no-config", "-c", prog)) {
			got = append(got, strings.SplitN(l, "\t", 2)[0]) // drop descriptions
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("fish %q: %q, want %q", line, got, tc.want)
		}
	}
}

// zshHarness calls the completion function as zsh's completion system
// would, with compadd and _files replaced by functions that print what they
// are given, then filters by the typed prefix as zsh does.
const zshHarness = `
compadd() {
  if [[ $1 == -a ]]; then print -l -- ${(P)2}; return; fi
  while [[ $1 == -* && $1 != -- ]]; do shift; done
  [[ $1 == -- ]] && shift
  print -l -- "$@"
}
_files() { print -l -- ${PREFIX}*(N) }
compdef() { :; }
`

func TestCompletionZsh(t *testing.T) {
	zsh := shell(t, "zsh")
	e, files := completionVault(t)
	s := script(t, e, "zsh")
	// Installed the documented way, as _agent-vault in $fpath: the first
	// call, which autoloads the file, must already complete.
	fpath := t.TempDir()
	data, _ := os.ReadFile(s)
	os.WriteFile(filepath.Join(fpath, "_agent-vault"), data, 0o644)
	for _, tc := range completionCases(e, files) {
		words := append([]string{"agent-vault"}, tc.words...)
		prog := zshHarness + "fpath=(" + fpath + " $fpath)\nautoload -Uz _agent-vault\nwords=(" + quoteAll(words) + ")\nCURRENT=" +
			strconv.Itoa(len(words)) + "\nPREFIX=" + quoteAll(words[len(words)-1:]) + "\n_agent-vault | while read -r c; do [[ $c == ${PREFIX}* ]] && print -- $c; done; true\n"
		got := lines(runShell(t, e, e.Repo, zsh, "-f", "-c", prog))
		if !slices.Equal(got, tc.want) {
			t.Errorf("zsh %q: %q, want %q", tc.words, got, tc.want)
		}
	}
}

// TestCompletionZshFirstTab types into a real interactive zsh, in tmux,
// with compinit loading the script from $fpath: one TAB must complete.
func TestCompletionZshFirstTab(t *testing.T) {
	zsh := shell(t, "zsh")
	tmux := shell(t, "tmux")
	e, _ := completionVault(t)
	fpath := t.TempDir()
	os.WriteFile(filepath.Join(fpath, "_agent-vault"), []byte(e.OK("completions", "zsh")), 0o644)
	zdot := t.TempDir()
	rc := "fpath=(" + fpath + " $fpath)\nautoload -Uz compinit\ncompinit -u -d " + zdot + "/compdump\nPS1='READY> '\n"
	os.WriteFile(filepath.Join(zdot, ".zshrc"), []byte(rc), 0o644)
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tm := func(args ...string) string {
		cmd := exec.Command(tmux, append([]string{"-S", sock}, args...)...)
		cmd.Env = []string{"HOME=" + e.Home, "ZDOTDIR=" + zdot, "PATH=" + filepath.Dir(e.Bin) + ":" + os.Getenv("PATH"), "TERM=xterm", "LC_ALL=C"}
		cmd.Dir = e.Repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tm("new-session", "-d", "-x", "120", "-y", "20", zsh, "-i")
	t.Cleanup(func() { exec.Command(tmux, "-S", sock, "kill-server").Run() })
	waitFor := func(what string) string {
		t.Helper()
		var screen string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if screen = tm("capture-pane", "-p"); strings.Contains(screen, what) {
				return screen
			}
		}
		t.Fatalf("the terminal never showed %q:\n%s", what, screen)
		return ""
	}
	waitFor("READY>")
	tm("send-keys", "agent-vault gra", "Tab")
	waitFor("agent-vault grant")
	tm("send-keys", "b", "Tab")
	waitFor("agent-vault grant bot")
	tm("send-keys", "st", "Tab")
	waitFor("agent-vault grant bot stripe")
}
