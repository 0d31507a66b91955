// Package command implements the agent-vault command line. It is the only
// layer that prints or decides exit codes; the work itself is done by core.
package command

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
)

// Env is the process environment a command runs in, injected so tests can
// drive commands without touching the real process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Dir is the working directory.
	Dir string
	// StdinIsTerminal and StderrIsTerminal enable prompts and progress.
	StdinIsTerminal  bool
	StderrIsTerminal bool
	// ReadPassword reads a line from the terminal without echo.
	ReadPassword func() ([]byte, error)
	// MCP runs the MCP server with the arguments after "mcp".
	MCP func(args []string) int
	// MCPUsage writes the MCP server's --help text, which completion
	// reads the server's flags from.
	MCPUsage func(w io.Writer)
}

// command is one subcommand.
type command struct {
	name    string
	args    string
	summary string
	// details is the long help text, shown by --help.
	details string
	flags   func(fs *pflag.FlagSet, o *opts)
	run     func(c *ctx, args []string) error
	// nargs is the accepted positional argument count range.
	minArgs, maxArgs int
}

// opts holds every flag any command takes; each command registers the ones
// it uses.
type opts struct {
	repo, key, group, agents, expires, fromFile, to, owner, pin string
	json, force, noPull, repair, all                            bool
	insecureKeyPerms                                            bool
	// yes accepts a seal without asking.
	yes bool
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// Main runs the CLI with args (without the program name) and returns the
// process exit code.
func Main(args []string, env Env) int {
	args, err := hoistGlobalFlags(args)
	if err != nil {
		return fail(env, err)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				printCommandHelp(env.Stdout, c)
				return 0
			}
		}
		printUsage(env.Stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "version" {
		fmt.Fprintf(env.Stdout, "agent-vault %s\n", core.Version)
		return 0
	}
	if args[0] == "mcp" && env.MCP != nil {
		return env.MCP(args[1:])
	}
	if args[0] == completeCommand {
		return runComplete(env, args[1:])
	}
	c, ok := commands[args[0]]
	if !ok {
		return fail(env, &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("unknown command %q", args[0]),
			Hint: "run 'agent-vault --help' to see the commands"})
	}
	var o opts
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	help := fs.BoolP("help", "h", false, "show help for this command")
	if c.flags != nil {
		c.flags(fs, &o)
	}
	if err := fs.Parse(args[1:]); err != nil {
		msg, hint := flagError(err, fs)
		if hint != "" {
			hint += "; "
		}
		return fail(env, &core.Error{Code: core.CodeInvalidInput, Msg: msg,
			Hint: hint + fmt.Sprintf("run 'agent-vault %s --help'; a value that starts with '-' goes after '--'", c.name)})
	}
	if *help {
		printCommandHelp(env.Stdout, c)
		return 0
	}
	pos := fs.Args()
	if len(pos) < c.minArgs || len(pos) > c.maxArgs {
		return fail(env, &core.Error{Code: core.CodeInvalidInput,
			Msg:  fmt.Sprintf("%s takes %s", c.name, argCount(c)),
			Hint: fmt.Sprintf("usage: agent-vault %s %s", c.name, c.args)})
	}
	cx := &ctx{env: env, o: &o, cmd: c.name, fs: fs}
	if err := c.run(cx, pos); err != nil {
		return fail(env, err)
	}
	return cx.exit
}

func argCount(c *command) string {
	switch {
	case c.minArgs == c.maxArgs && c.maxArgs == 0:
		return "no arguments"
	case c.minArgs == c.maxArgs:
		return fmt.Sprintf("%d argument(s)", c.minArgs)
	}
	return fmt.Sprintf("%d to %d arguments", c.minArgs, c.maxArgs)
}

// fail prints err as "agent-vault: error: ..." with an optional hint and
// returns its exit code. Messages come from core or this package, which
// never put secret material in errors; they may fold in repository content
// or Git's stderr, so they are escaped for the terminal once more here.
func fail(env Env, err error) int {
	fmt.Fprintf(env.Stderr, "agent-vault: error: %s\n", core.SafeLines(err.Error()))
	if h := core.HintOf(err); h != "" {
		fmt.Fprintf(env.Stderr, "hint: %s\n", core.SafeLines(h))
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return ce.Code.Number()
	}
	return core.CodeInternal.Number()
}

// Exit codes beyond the error codes of core (see README "Exit codes").
const (
	exitUsage       = 2 // same as invalid_input
	exitCheckFailed = 9
)

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "agent-vault %s: zero-trust credentials for AI agents, encrypted with age and synced with Git.\n\n", core.Version)
	fmt.Fprintln(w, "Usage: agent-vault <command> [flags] [args]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-15s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-15s %s\n", "mcp", "serve secrets to MCP clients over stdio (see 'agent-vault mcp --help')")
	fmt.Fprintln(w, "\nKeys are looked up in this order: --key, then AGENT_VAULT_KEY (a file path or an")
	fmt.Fprintln(w, "AGE-SECRET-KEY-... value), then ~/.agent-vault/owner.key.")
	fmt.Fprintln(w, "\nExit codes:")
	for _, c := range core.Codes() {
		if c.Number() > exitCheckFailed {
			break
		}
		fmt.Fprintf(w, "  %d  %s\n", c.Number(), c)
	}
	fmt.Fprintf(w, "  %d  check found errors\n", exitCheckFailed)
	for _, c := range core.Codes() {
		if c.Number() > exitCheckFailed {
			fmt.Fprintf(w, "  %d  %s\n", c.Number(), c)
		}
	}
	fmt.Fprintln(w, "\nRun 'agent-vault <command> --help' for a command's details.")
}

func printCommandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: agent-vault %s %s\n\n%s\n", c.name, c.args, strings.TrimSpace(c.details))
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	fs.SortFlags = false
	var o opts
	if c.flags != nil {
		c.flags(fs, &o)
	}
	fs.BoolP("help", "h", false, "show help for this command")
	fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
}

// DefaultEnv is the environment of the running process.
func DefaultEnv() Env {
	dir, _ := os.Getwd()
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Dir: dir}
}
