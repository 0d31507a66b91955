package mcpserver

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
)

// getInput is the argument of agent_vault_get.
type getInput struct {
	Secret string `json:"secret" jsonschema:"the secret path, such as stripe/api-key (see agent_vault_list)"`
}

// listInput is the argument of agent_vault_list.
type listInput struct {
	Group string `json:"group,omitempty" jsonschema:"only list secrets of this group, such as stripe; omit for all"`
}

// listOutput is the structured result of agent_vault_list.
type listOutput struct {
	// Identity is "owner", the agent name, or "" for a key the vault does
	// not know (which can read nothing).
	Identity string       `json:"identity" jsonschema:"who this server reads as: owner, an agent name, or empty for an unknown key"`
	Secrets  []secretInfo `json:"secrets" jsonschema:"the secrets this key may read, sorted by name"`
}

// secretInfo is the metadata of one secret, without its value.
type secretInfo struct {
	Name    string `json:"name" jsonschema:"the secret path to pass to agent_vault_get"`
	Group   string `json:"group" jsonschema:"the group that grants access to it"`
	Rotated string `json:"rotated" jsonschema:"when the value last changed (RFC 3339)"`
	Expires string `json:"expires,omitempty" jsonschema:"when the value expires (RFC 3339), if it does"`
	Expired bool   `json:"expired,omitempty" jsonschema:"true if the expiry date has passed"`
}

// get serves agent_vault_get.
func (s *server) get(ctx context.Context, _ *mcp.CallToolRequest, in getInput) (*mcp.CallToolResult, any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	value, err := s.readSecret(ctx, in.Secret)
	entry := auditEntry{Tool: toolGet, Identity: s.identity(), Secret: auditPath(in.Secret), Outcome: outcome(err)}
	if aerr := s.audit.record(entry); aerr != nil {
		// Fail closed: a read that cannot be audited is not served.
		clear(value)
		return nil, nil, toolFailure(auditFailure(aerr))
	}
	if err != nil {
		return nil, nil, toolFailure(err)
	}
	return &mcp.CallToolResult{Content: valueContent(in.Secret, value)}, nil, nil
}

// readSecret applies the checks that do not need the vault before the
// ones that do, so a path outside --allow never touches the repository.
func (s *server) readSecret(ctx context.Context, secret string) ([]byte, error) {
	if err := core.ValidateSecretPath(secret); err != nil {
		return nil, err
	}
	if !s.allow.allows(secret) {
		return nil, notAllowed(secret, s.allow)
	}
	return s.value(ctx, secret)
}

// valueContent turns a value into tool content. Text is returned as is;
// bytes that are not UTF-8 would be mangled by JSON, so they travel as a
// base64 blob resource with a note the model can read.
func valueContent(secret string, value []byte) []mcp.Content {
	if utf8.Valid(value) {
		text := string(value)
		clear(value)
		return []mcp.Content{&mcp.TextContent{Text: text}}
	}
	return []mcp.Content{
		&mcp.TextContent{Text: fmt.Sprintf("secret %s is binary (%d bytes); its value is the base64 blob of the attached resource", secret, len(value))},
		&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
			URI:      "agent-vault://secrets/" + secret,
			MIMEType: "application/octet-stream",
			Blob:     value,
		}},
	}
}

// list serves agent_vault_list.
func (s *server) list(ctx context.Context, _ *mcp.CallToolRequest, in listInput) (*mcp.CallToolResult, listOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := s.readList(ctx, in.Group)
	entry := auditEntry{Tool: toolList, Identity: s.identity(), Group: in.Group, Outcome: outcome(err)}
	if in.Group != "" && core.ValidateName("group", in.Group) != nil {
		entry.Group = ""
	}
	if aerr := s.audit.record(entry); aerr != nil {
		return nil, listOutput{}, toolFailure(auditFailure(aerr))
	}
	if err != nil {
		return nil, listOutput{}, toolFailure(err)
	}
	return nil, out, nil
}

// readList is what this key may read (the reader's one meaning of that)
// and --allow lets through.
func (s *server) readList(ctx context.Context, group string) (listOutput, error) {
	metas, err := s.rd.List(ctx, reader.ListOptions{Group: group})
	s.flushWarnings()
	if err != nil {
		return listOutput{}, err
	}
	out := listOutput{Identity: s.identity(), Secrets: []secretInfo{}}
	now := time.Now()
	for _, m := range metas {
		if !s.allow.allows(m.Name) {
			continue
		}
		info := secretInfo{Name: m.Name, Group: m.Group, Rotated: m.Rotated.UTC().Format(time.RFC3339)}
		if m.Expires != nil {
			info.Expires = m.Expires.UTC().Format(time.RFC3339)
			info.Expired = m.Expires.Before(now)
		}
		out.Secrets = append(out.Secrets, info)
	}
	return out, nil
}

// outcome is the audit log's result field: "ok" or an error code.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return string(core.CodeOf(err))
}

// auditPath keeps an argument out of the log unless it is a well-formed
// secret path: a model that pastes a value where a path belongs must not
// leave that value in the log.
func auditPath(secret string) string {
	if core.ValidateSecretPath(secret) != nil {
		return ""
	}
	return secret
}
