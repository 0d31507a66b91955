// Package procenv connects the agent-vault command line to the running
// process: its standard streams, working directory, environment, terminal
// and the MCP server. The program and its end-to-end tests both use it, so
// the tests run the command wired exactly as it ships.
package procenv

import (
	"io"
	"os"

	"golang.org/x/term"

	"github.com/agent-vault/agent-vault/cli/command"
	"github.com/agent-vault/agent-vault/cli/mcpserver"
	"github.com/agent-vault/agent-vault/internal/gctune"
)

// Env is the command environment of this process.
func Env() command.Env {
	env := command.DefaultEnv()
	env.StdinIsTerminal = term.IsTerminal(int(os.Stdin.Fd()))
	env.StderrIsTerminal = term.IsTerminal(int(os.Stderr.Fd()))
	env.ReadPassword = func() ([]byte, error) { return term.ReadPassword(int(os.Stdin.Fd())) }
	env.MCP = func(args []string) int {
		gctune.Apply()
		return mcpserver.Main(args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	}
	env.MCPUsage = func(w io.Writer) { mcpserver.Main([]string{"--help"}, nil, w, io.Discard, os.Getenv) }
	return env
}
