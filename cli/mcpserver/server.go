package mcpserver

import (
	"context"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
)

// Tool names, part of the server's public interface.
const (
	toolGet  = "agent_vault_get"
	toolList = "agent_vault_list"
)

const instructions = `agent-vault hands out credentials this agent was granted.
Call agent_vault_list to see which secrets you may read, then agent_vault_get with a secret path.
Use a value only for the task at hand: do not print, store or repeat it unless the user asks.`

// server holds what the tools share. Tool calls are serialised: a vault
// session is not safe for concurrent use and calls are cheap.
type server struct {
	mu    sync.Mutex
	rd    *reader.Reader
	warn  func(string)
	allow allowList
	audit *auditLog
	use   *usePolicy
}

// newMCPServer builds the MCP server with the tools the flags turn on.
func newMCPServer(s *server) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "agent-vault", Title: "agent-vault", Version: core.Version},
		&mcp.ServerOptions{
			Instructions: s.instructions(),
			// No logging capability: the server never sends log messages,
			// which keeps secrets out of any client-side log by construction.
			Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}},
		})
	readOnly := &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(false)}
	if !s.use.noReveal {
		mcp.AddTool(srv, &mcp.Tool{
			Name:  toolGet,
			Title: "Get a secret",
			Description: "Decrypt one secret from the agent-vault repository and return its value as text. " +
				"Binary values come back as a base64 blob resource. Fails with not_authorized if this agent was not granted the secret's group.",
			Annotations: readOnly,
		}, s.get)
	}
	mcp.AddTool(srv, &mcp.Tool{
		Name:  toolList,
		Title: "List readable secrets",
		Description: "List the secrets this agent can read, with their group, rotation and expiry dates. " +
			"Never returns values.",
		Annotations: readOnly,
	}, s.list)
	s.addUseTools(srv)
	return srv
}

// value decrypts one secret through the reader, which pulls first when
// that is due. The caller clears the value.
func (s *server) value(ctx context.Context, secret string) ([]byte, error) {
	v, err := s.rd.Get(ctx, secret)
	s.flushWarnings()
	return v, err
}

// flushWarnings prints what the reader warned about. The reader reports a
// failing pull once per streak, so a server that is offline for a day
// does not repeat itself on every call.
func (s *server) flushWarnings() {
	for _, w := range s.rd.Warnings() {
		s.warn(w)
	}
}

// identity names the caller for the audit log: "owner", the agent's name,
// or "" for a key the vault does not know.
func (s *server) identity() string {
	name, _ := s.rd.Identity()
	return name
}
