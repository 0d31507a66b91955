// Package soak holds the soak test of the MCP server (build tag soak, run
// by `make soak`): several agent-vault-mcp processes, each with its own
// agent key but one HOME and one repository URL, driven by MCP clients
// while the owner pushes grants, revokes and rotations from another clone.
// Every answer is checked against the owner's push log
// (docs/architecture.md §9).
package soak
