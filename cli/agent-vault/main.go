// Command agent-vault is the owner and agent command line of agent-vault.
package main

import (
	"io"
	"os"

	"golang.org/x/term"

	"github.com/agent-vault/agent-vault/cli/command"
	"github.com/agent-vault/agent-vault/cli/mcpserver"
	"github.com/agent-vault/agent-vault/internal/gctune"
)

func main() {
	env := command.DefaultEnv()
	env.StdinIsTerminal = term.IsTerminal(int(os.Stdin.Fd()))
	env.StderrIsTerminal = term.IsTerminal(int(os.Stderr.Fd()))
	env.ReadPassword = func() ([]byte, error) { return term.ReadPassword(int(os.Stdin.Fd())) }
	env.MCP = func(args []string) int {
		gctune.Apply()
		return mcpserver.Main(args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	}
	env.MCPUsage = func(w io.Writer) { mcpserver.Main([]string{"--help"}, nil, w, io.Discard, os.Getenv) }
	os.Exit(command.Main(os.Args[1:], env))
}
