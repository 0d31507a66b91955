// Command agent-vault is the owner and agent command line of agent-vault.
package main

import (
	"os"

	"github.com/agent-vault/agent-vault/cli/command"
	"github.com/agent-vault/agent-vault/cli/procenv"
)

func main() {
	os.Exit(command.Main(os.Args[1:], procenv.Env()))
}
