package gitx

import (
	"os"
	"strings"
)

// privatePrefix marks agent-vault's own variables. AGENT_VAULT_KEY may hold
// a raw private key, and git passes its environment on to hooks, credential
// helpers, ssh and whatever a wrapper on PATH is, none of which needs it.
const privatePrefix = "AGENT_VAULT_"

// environ is the environment of every git child: the process environment
// without agent-vault's variables, then extra, then settings that keep git
// from prompting on the terminal and its messages in English.
func environ(extra []string) []string {
	parent := os.Environ()
	env := make([]string, 0, len(parent)+len(extra)+2)
	for _, kv := range parent {
		name, _, _ := strings.Cut(kv, "=")
		// Windows names are case-insensitive.
		if !strings.HasPrefix(strings.ToUpper(name), privatePrefix) {
			env = append(env, kv)
		}
	}
	env = append(env, extra...)
	return append(env, "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
}
