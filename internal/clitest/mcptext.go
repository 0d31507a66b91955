package clitest

import (
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ResultText joins the text contents of an MCP tool result, as a client
// shows them.
func ResultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}
