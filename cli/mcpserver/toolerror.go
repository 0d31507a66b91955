package mcpserver

import (
	"github.com/agent-vault/agent-vault/core"
)

// toolError is what a failed tool call shows the model: the stable code of
// DESIGN.md §5 first, so a client can branch on it, then a message and a
// hint that say what to do next. It never holds a value or a key, because
// core builds its messages from names and paths only.
type toolError struct {
	code core.Code
	msg  string
	hint string
}

func (e *toolError) Error() string {
	s := string(e.code) + ": " + e.msg
	if e.hint != "" {
		s += "\nhint: " + e.hint
	}
	return s
}

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
}

// toToolError classifies err for the model.
func toToolError(err error) *toolError {
	if te, ok := err.(*toolError); ok {
		return te
	}
	code := core.CodeOf(err)
	hint := core.HintOf(err)
	if hint == "" {
		hint = fallbackHints[code]
	}
	return &toolError{code: code, msg: err.Error(), hint: hint}
}

// notAllowed refuses a secret outside --allow before the vault is touched,
// so the answer does not reveal whether the secret exists.
func notAllowed(secret string, allow allowList) *toolError {
	return &toolError{
		code: core.CodeNotAuthorized,
		msg:  "secret " + secret + " is outside the paths this MCP server may serve (--allow " + allow.String() + ")",
		hint: "ask the operator to add a matching --allow pattern to the MCP server configuration",
	}
}
