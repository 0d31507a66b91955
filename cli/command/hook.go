package command

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/gitx"
	"github.com/agent-vault/agent-vault/internal/keyscan"
)

const hookMarker = "# agent-vault pre-commit hook"

// chainedHook is where an existing pre-commit hook is moved; ours runs it
// first, so installing agent-vault never disables a user's hook.
const chainedHook = "pre-commit.agent-vault-chained"

func init() {
	register(&command{
		name: "hook", args: "install | pre-commit", minArgs: 1, maxArgs: 1,
		summary: "install the pre-commit hook that blocks private keys, or run its check",
		details: `'hook install' installs the pre-commit hook in the Git repository of the
current directory (or --repo), or updates one an older agent-vault installed.
'init' does this for a new vault. An existing hook of another tool is kept and
runs first.

'hook pre-commit' is what the hook runs: it reads every file the next commit
adds or changes, as staged, and fails (exit 9) if one holds a private key: an
age identity, or a PEM-style private key (RSA, EC, DSA, PKCS#8, OpenSSH, PGP
and others). It also finds keys saved as UTF-16 (PowerShell's default) and
base64-encoded ones, such as the data of a Kubernetes Secret. Ciphertext,
escrow files and public keys pass. The key itself is never printed.`,
		flags: repoFlag,
		run:   runHook,
	})
}

func runHook(c *ctx, args []string) error {
	switch args[0] {
	case "install":
		dir := c.env.Dir
		if c.o.repo != "" {
			dir = c.o.repo
		}
		top, err := gitx.Toplevel(context.Background(), dir)
		if err != nil {
			return &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("%s is not inside a Git repository", dir)}
		}
		path, err := installHook(context.Background(), top)
		if err != nil {
			return err
		}
		c.printf("Pre-commit hook: %s\n", path)
		return nil
	case "pre-commit":
		return c.scanStaged()
	}
	return &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("unknown hook action %q", core.SafeText(args[0])),
		Hint: "use 'agent-vault hook install' or 'agent-vault hook pre-commit'"}
}

// scanStaged blocks a commit whose staged files hold private keys.
func (c *ctx) scanStaged() error {
	found, err := scanFiles(func(fn func(path string, data []byte) error) error {
		return gitx.Repo{Dir: c.env.Dir}.StagedFiles(context.Background(), fn)
	})
	if err != nil {
		return &core.Error{Code: core.CodeInternal, Msg: "commit blocked: failed to read the staged files", Err: err}
	}
	if len(found) == 0 {
		return nil
	}
	fmt.Fprintln(c.env.Stderr, "agent-vault: commit blocked: private key material in:")
	for _, f := range found {
		fmt.Fprintf(c.env.Stderr, "  %s\n", f)
	}
	fmt.Fprintln(c.env.Stderr, "hint: unstage these files; keys belong in ~/.agent-vault, not in the repository")
	c.exit = exitCheckFailed
	return nil
}

// scanFiles scans the files each calls its function with, on every core:
// a bulk grant stages thousands of files, and Git waits for this scan
// before it commits. It returns the findings in the order of the files.
func scanFiles(each func(fn func(path string, data []byte) error) error) ([]string, error) {
	type file struct {
		i    int
		path string
		data []byte
	}
	files := make(chan file, 64)
	var (
		mu    sync.Mutex
		found = map[int]string{}
		wg    sync.WaitGroup
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range files {
				if k, ok := keyscan.Find(f.data); ok {
					mu.Lock()
					found[f.i] = fmt.Sprintf("%s (%s)", core.SafeText(f.path), k)
					mu.Unlock()
				}
			}
		}()
	}
	n := 0
	err := each(func(path string, data []byte) error {
		files <- file{n, path, data}
		n++
		return nil
	})
	close(files)
	wg.Wait()
	out := make([]string, 0, len(found))
	for _, i := range slices.Sorted(maps.Keys(found)) {
		out = append(out, found[i])
	}
	return out, err
}

// hookScript is the hook: it runs a chained hook first, then this
// program's check. It calls the binary that installed it, or the one on
// PATH if that has moved; without either it blocks the commit rather than
// let it through unchecked.
func hookScript() string {
	self, err := os.Executable()
	if err != nil {
		self = "agent-vault"
	}
	return `#!/bin/sh
` + hookMarker + `
# Blocks commits containing private keys. Installed by 'agent-vault init' or
# 'agent-vault hook install'; the check is 'agent-vault hook pre-commit'.
hookdir=$(dirname "$0")
if [ -x "$hookdir/` + chainedHook + `" ]; then
	"$hookdir/` + chainedHook + `" "$@" || exit $?
fi
av=` + shellQuote(self) + `
if [ ! -x "$av" ]; then
	av=$(command -v agent-vault) || {
		echo "agent-vault: commit blocked: agent-vault is not installed, so the staged files cannot be checked for private keys" >&2
		echo "hint: install agent-vault, or remove $0 to stop this check" >&2
		exit 1
	}
fi
exec "$av" hook pre-commit
`
}

// shellQuote quotes s as one POSIX shell word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// installHook installs the pre-commit hook in the repository at dir. An
// existing foreign hook is kept and chained; one an earlier agent-vault
// wrote is brought up to date.
func installHook(ctx context.Context, dir string) (string, error) {
	hooks, err := gitx.Repo{Dir: dir}.HooksDir(ctx)
	if err != nil {
		return "", fmt.Errorf("failed to find the hooks directory: %w", err)
	}
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		return "", fmt.Errorf("failed to create hooks directory: %w", err)
	}
	path := filepath.Join(hooks, "pre-commit")
	script := []byte(hookScript())
	if old, err := os.ReadFile(path); err == nil {
		switch {
		case bytes.Equal(old, script):
			return path, nil
		case !bytes.Contains(old, []byte(hookMarker)):
			chained := filepath.Join(hooks, chainedHook)
			if _, err := os.Lstat(chained); err == nil {
				return "", fmt.Errorf("both %s and %s exist; merge them by hand", path, chained)
			}
			if err := os.Rename(path, chained); err != nil {
				return "", fmt.Errorf("failed to keep the existing hook: %w", err)
			}
		}
	}
	// Written beside and renamed over, so a commit never runs half a hook.
	tmp := path + ".agent-vault-new"
	if err := os.WriteFile(tmp, script, 0o755); err != nil {
		return "", fmt.Errorf("failed to write hook: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("failed to write hook: %w", err)
	}
	return path, nil
}
