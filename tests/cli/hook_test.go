package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// TestPreCommitHook checks that the hook blocks each kind of private key,
// lets the vault's own ciphertext and escrow through (every CLI commit
// passes through it), and keeps an existing hook running.
func TestPreCommitHook(t *testing.T) {
	e := clitest.New(t)
	hooks := filepath.Join(e.Repo, ".git", "hooks")
	marker := filepath.Join(t.TempDir(), "old-hook-ran")
	os.MkdirAll(hooks, 0o755)
	os.WriteFile(filepath.Join(hooks, "pre-commit"), []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755)
	e.OK("init")
	e.OK("add-agent", "bot")
	e.OK("set", "app/key", "v")
	e.OK("grant", "bot", "app")
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the existing pre-commit hook no longer runs")
	}

	ageKey, _, _ := core.NewKey()
	// Except "age" (a throwaway generated right here), these are truncated
	// look-alikes, not real keys: the hook matches the header lines.
	keys := map[string]string{
		"age":     string(ageKey),
		"age-pq":  "AGE-SECRET-KEY-PQ-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n",
		"rsa":     "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n",
		"ec":      "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n",
		"pkcs8":   "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
		"openssh": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n",
	}
	for name, content := range keys {
		t.Run(name, func(t *testing.T) {
			file := "leak-" + name + ".txt"
			os.WriteFile(filepath.Join(e.Repo, file), []byte("config\n"+content), 0o644)
			e.Git(e.Repo, "add", file)
			cmd := exec.Command("git", "commit", "-m", "leak")
			cmd.Dir = e.Repo
			cmd.Env = append(os.Environ(), "HOME="+e.Home)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "commit blocked") {
				t.Fatalf("commit of a %s key was not blocked: %v\n%s", name, err, out)
			}
			e.Git(e.Repo, "rm", "--cached", "--quiet", file)
			os.Remove(filepath.Join(e.Repo, file))
		})
	}
}
