package mcpserver

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

func TestMainFlags(t *testing.T) {
	tab := loadTable(t)
	home := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stdout string
		stderr string
	}{
		{"help", []string{"--help"}, nil, 0, "--allow", ""},
		{"version", []string{"--version"}, nil, 0, core.Version, ""},
		{"no repo", nil, nil, core.CodeInvalidInput.Number(), "", "--repo is required"},
		{"stray argument", []string{"--repo", "x", "extra"}, nil, core.CodeInvalidInput.Number(), "", "unexpected argument"},
		{"unknown flag", []string{"--nope"}, nil, core.CodeInvalidInput.Number(), "", "unknown flag"},
		{"bad allow", []string{"--repo", tab.VaultDir(), "--key", fixtureKey(tab, "billing"), "--allow", "["}, nil, core.CodeInvalidInput.Number(), "", "invalid --allow pattern"},
		{"bad key", []string{"--repo", tab.VaultDir(), "--key", fixtureKey(tab, "not-a-key")}, nil, core.CodeInvalidKey.Number(), "", "unusable key"},
		{"no key at all", []string{"--repo", tab.VaultDir()}, map[string]string{"HOME": home}, core.CodeVaultNotFound.Number(), "", "hint: "},
		{"env key", []string{"--repo", filepath.Join(home, "missing")}, map[string]string{"AGENT_VAULT_KEY": fixtureKey(tab, "billing")}, core.CodeVaultNotFound.Number(), "", "does not exist"},
		{"not a vault", []string{"--repo", home, "--key", fixtureKey(tab, "billing")}, nil, core.CodeVaultNotFound.Number(), "", "agent-vault init"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(tt.args, strings.NewReader(""), &stdout, &stderr, envOf(tt.env))
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q", stdout.String(), stderr.String(), tt.stdout, tt.stderr)
			}
			if tt.code != 0 && !strings.HasPrefix(stderr.String(), "agent-vault-mcp: error: ") {
				t.Errorf("error not in the CLI's format: %q", stderr.String())
			}
		})
	}
}

// TestMainKeyFromEnvironment checks the key precedence Main feeds core:
// AGENT_VAULT_KEY is used without --key, and --key wins over it.
func TestMainKeyFromEnvironment(t *testing.T) {
	tab := loadTable(t)
	for _, tt := range []struct {
		args []string
		env  string
		want string
	}{
		{nil, fixtureKey(tab, "billing"), `"billing"`},
		{[]string{"--key", fixtureKey(tab, "deploy")}, fixtureKey(tab, "billing"), `"deploy"`},
	} {
		var stderr clitest.SyncBuffer
		args := append([]string{"--repo", tab.VaultDir(), "--no-pull"}, tt.args...)
		code := Main(args, strings.NewReader(""), io.Discard, &stderr, envOf(map[string]string{"AGENT_VAULT_KEY": tt.env}))
		if code != 0 || !strings.Contains(stderr.String(), "as "+tt.want) {
			t.Errorf("args %v: exit %d, stderr %q, want identity %s", tt.args, code, stderr.String(), tt.want)
		}
	}
}

// TestMainServesOverStreams drives Main itself through pipes, as a host
// would through stdin and stdout, and checks it exits cleanly on EOF.
func TestMainServesOverStreams(t *testing.T) {
	tab := loadTable(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr clitest.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main([]string{"--repo", tab.VaultDir(), "--key", fixtureKey(tab, "billing"), "--no-pull"}, inR, outW, &stderr, envOf(nil))
		outW.Close()
	}()
	client := mcp.NewClient(&mcp.Implementation{Name: "pipe-test", Version: "0"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		t.Fatal(err)
	}
	value, err := resultValue(call(t, cs, toolGet, map[string]any{"secret": "stripe/api-key"}))
	if err != nil || len(value) == 0 {
		t.Fatalf("get: %v", err)
	}
	cs.Close()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), string(value)) {
		t.Fatal("stderr contains the value")
	}
}
