package mcpserver

import (
	"fmt"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

func TestToolFailureCarriesCodeMessageAndHint(t *testing.T) {
	for _, code := range core.Codes() {
		err := fmt.Errorf("failed to read: %w", &core.Error{Code: code, Msg: "something about stripe/api-key"})
		text := toolFailure(err).Error()
		if !strings.HasPrefix(text, string(code)+": ") {
			t.Errorf("%s: text does not start with the code: %q", code, text)
		}
		if !strings.Contains(text, "something about stripe/api-key") {
			t.Errorf("%s: text lost the message: %q", code, text)
		}
		if code != core.CodeInternal && !strings.Contains(text, "\nhint: ") {
			t.Errorf("%s: no hint for the model: %q", code, text)
		}
	}
}

func TestToolFailurePrefersCoreHint(t *testing.T) {
	err := &core.Error{Code: core.CodeNotAuthorized, Msg: "not authorized to read x/y", Hint: "ask the vault owner to run: agent-vault grant a x"}
	text := toolFailure(fmt.Errorf("wrapped: %w", err)).Error()
	if !strings.HasSuffix(text, "\nhint: ask the vault owner to run: agent-vault grant a x") {
		t.Errorf("core's hint was not used: %q", text)
	}
}

func TestToolFailureUnclassifiedIsInternal(t *testing.T) {
	te := toolFailure(fmt.Errorf("disk on fire"))
	if core.CodeOf(te) != core.CodeInternal || !strings.HasPrefix(te.Error(), "internal: disk on fire") {
		t.Errorf("got %q", te.Error())
	}
}

// TestErrorCodesThroughTools checks the mapping end to end: each failure a
// model can provoke comes back as a tool error (not a protocol error) with
// the right code and a hint.
func TestErrorCodesThroughTools(t *testing.T) {
	tab := loadTable(t)
	dir := copyFixture(t, tab)
	// A truncated ciphertext is what a damaged or hostile repository holds.
	if err := truncateFile(dir + "/.agent-vault/secrets/postgres/conn.enc"); err != nil {
		t.Fatal(err)
	}
	cs, _, _ := connect(t, &options{repo: dir, key: fixtureKey(tab, "billing"), noPull: true}, nil)
	tests := []struct {
		tool string
		args map[string]any
		code core.Code
		hint string
	}{
		{toolGet, map[string]any{"secret": "certs/tls-chain"}, core.CodeNotAuthorized, "agent-vault grant billing certs"},
		{toolGet, map[string]any{"secret": "stripe/missing"}, core.CodeSecretNotFound, "agent_vault_list"},
		{toolGet, map[string]any{"secret": "../etc/passwd"}, core.CodeInvalidInput, "hint: "},
		{toolGet, map[string]any{"secret": "postgres/conn"}, core.CodeCorruptVault, "agent-vault check"},
		{toolList, map[string]any{"group": "nope"}, core.CodeInvalidInput, ""},
	}
	for _, tt := range tests {
		res := call(t, cs, tt.tool, tt.args)
		text := clitest.ResultText(res)
		if !res.IsError || !strings.HasPrefix(text, string(tt.code)+": ") {
			t.Errorf("%s %v: want %s, got %q (isError %v)", tt.tool, tt.args, tt.code, text, res.IsError)
		}
		if !strings.Contains(text, tt.hint) {
			t.Errorf("%s %v: hint %q missing from %q", tt.tool, tt.args, tt.hint, text)
		}
	}
	// A missing required argument is rejected by the input schema.
	res := call(t, cs, toolGet, map[string]any{})
	if !res.IsError {
		t.Errorf("get without secret succeeded: %q", clitest.ResultText(res))
	}
}
