package gitx

import (
	"context"
	"strings"
	"testing"
)

// A git child sees the user's environment minus agent-vault's variables,
// and never prompts on the terminal.
func TestChildEnvironment(t *testing.T) {
	t.Setenv("AGENT_VAULT_KEY", "AGE-SECRET-KEY-1LOOKALIKE") // a look-alike, not a key
	t.Setenv("AGENT_VAULT_OWNER", "pin")
	t.Setenv("GIT_TERMINAL_PROMPT", "1")
	t.Setenv("KEEP_ME", "yes")
	r := newRepo(t)
	// A shell alias runs a child of git, as a hook or credential helper is.
	env, err := r.Run(context.Background(), nil, "-c", "alias.env=!env", "env")
	if err != nil {
		t.Fatal(err)
	}
	lines := "\n" + string(env)
	for _, bad := range []string{"\nAGENT_VAULT_KEY=", "\nAGENT_VAULT_OWNER=", "LOOKALIKE"} {
		if strings.Contains(lines, bad) {
			t.Errorf("git child environment holds %q", strings.TrimSpace(bad))
		}
	}
	for _, good := range []string{"\nKEEP_ME=yes\n", "\nGIT_TERMINAL_PROMPT=0\n"} {
		if !strings.Contains(lines, good) {
			t.Errorf("git child environment lacks %q", strings.TrimSpace(good))
		}
	}
}
