package command

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/agent-vault/agent-vault/internal/gitx"
)

const hookMarker = "# agent-vault pre-commit hook"

// chainedHook is where an existing pre-commit hook is moved; ours runs it
// first, so installing agent-vault never disables a user's hook.
const chainedHook = "pre-commit.agent-vault-chained"

// hookScript blocks commits that stage private key material: age identities
// and PEM/OpenSSH private keys. Escrow files and secrets are age ciphertext
// and never match.
const hookScript = `#!/bin/sh
` + hookMarker + `
# Blocks commits containing private keys. Installed by 'agent-vault init'.
hookdir=$(dirname "$0")
if [ -x "$hookdir/` + chainedHook + `" ]; then
	"$hookdir/` + chainedHook + `" "$@" || exit $?
fi
pattern='AGE-SECRET-KEY-(PQ-)?1[0-9A-Za-z]|-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----'
found=$(git diff --cached --name-only -z --diff-filter=ACMR | xargs -0 -r git grep --cached -l -E -e "$pattern" -- 2>/dev/null)
if [ -n "$found" ]; then
	echo "agent-vault: commit blocked: private key material in:" >&2
	echo "$found" | sed 's/^/  /' >&2
	echo "hint: unstage these files; keys belong in ~/.agent-vault, not in the repository" >&2
	exit 1
fi
exit 0
`

// installHook installs the pre-commit hook in the repository at dir. An
// existing foreign hook is kept and chained; re-installing is a no-op.
func installHook(ctx context.Context, dir string) (string, error) {
	hooks, err := gitx.Repo{Dir: dir}.HooksDir(ctx)
	if err != nil {
		return "", fmt.Errorf("failed to find the hooks directory: %w", err)
	}
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		return "", fmt.Errorf("failed to create hooks directory: %w", err)
	}
	path := filepath.Join(hooks, "pre-commit")
	if old, err := os.ReadFile(path); err == nil {
		if bytes.Contains(old, []byte(hookMarker)) {
			return path, nil
		}
		chained := filepath.Join(hooks, chainedHook)
		if _, err := os.Lstat(chained); err == nil {
			return "", fmt.Errorf("both %s and %s exist; merge them by hand", path, chained)
		}
		if err := os.Rename(path, chained); err != nil {
			return "", fmt.Errorf("failed to keep the existing hook: %w", err)
		}
	}
	if err := os.WriteFile(path, []byte(hookScript), 0o755); err != nil {
		return "", fmt.Errorf("failed to write hook: %w", err)
	}
	return path, nil
}
