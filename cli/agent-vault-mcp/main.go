// Command agent-vault-mcp serves agent-vault secrets to MCP clients over
// stdio. It is the same server as `agent-vault mcp`.
package main

import (
	"os"

	"github.com/agent-vault/agent-vault/cli/mcpserver"
	"github.com/agent-vault/agent-vault/internal/gctune"
)

func main() {
	gctune.Apply()
	os.Exit(mcpserver.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
