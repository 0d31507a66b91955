package mcpserver

import (
	"github.com/agent-vault/agent-vault/core"
)

// fallbackHints steer the model when core has no specific hint. Models read
// these, so they name the tool to call or the person to ask.
var fallbackHints = map[core.Code]string{
	core.CodeSecretNotFound: "call agent_vault_list to see the secrets this key can read",
	core.CodeNotAuthorized:  "ask the operator to run: agent-vault grant <agent> <group>",
	core.CodeInvalidInput:   "secret paths look like group/name, for example stripe/api-key; call agent_vault_list for the exact names",
	core.CodeVaultNotFound:  "ask the operator to check the --repo the MCP server was started with",
	core.CodeInvalidKey:     "ask the operator to check the key the MCP server was started with (--key or AGENT_VAULT_KEY)",
	core.CodeCorruptVault:   "the repository content is damaged; ask the operator to run: agent-vault check",
	core.CodeConflict:       "retry shortly; if it persists, ask the operator to resolve the repository's Git state",
	core.CodeUntrusted:      "the repository holds something the vault owner did not sign; do not use it, and ask the operator to run: agent-vault check",
}

// toolFailure is what a failed tool call shows the model: the stable code
// first, so a client can branch on it, then the message and a hint that
// says what to do next. It never holds a value or a key, because core
// builds its messages from names and paths only. The result is still a
// classified core error with the same code.
func toolFailure(err error) error {
	code := core.CodeOf(err)
	hint := core.HintOf(err)
	if hint == "" {
		hint = fallbackHints[code]
	}
	msg := string(code) + ": " + err.Error()
	if hint != "" {
		msg += "\nhint: " + hint
	}
	return &core.Error{Code: code, Msg: msg, Hint: hint}
}

// notAllowed refuses a secret outside --allow before the vault is touched,
// so the answer does not reveal whether the secret exists.
func notAllowed(secret string, allow allowList) error {
	return core.Errorf(core.CodeNotAuthorized, "secret %s is outside the paths this MCP server may serve (--allow %s)", secret, allow).
		WithHint("ask the operator to add a matching --allow pattern to the MCP server configuration")
}

// auditFailure refuses a call that could not be audited.
func auditFailure(err error) error {
	return core.Wrap(core.CodeInternal, err, "failed to write the audit log").
		WithHint("ask the operator to check the --audit-log file")
}
