package core

// Version is the agent-vault release, reported by the CLI, the MCP server
// and the WebAssembly module.
const Version = "0.1.0"
