package mcpserver

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
)

// options are the command-line flags.
type options struct {
	repo     string
	key      string
	allow    []string
	auditLog string
	noPull   bool
	help     bool
	version  bool
}

// newFlagSet declares the flags on a fresh set, bound to o.
func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("agent-vault-mcp", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVar(&o.repo, "repo", "", "secrets repository: a local path or a Git URL (cloned into ~/.agent-vault/cache) (required)")
	fs.StringVar(&o.key, "key", "", "agent key file (default: $AGENT_VAULT_KEY, else ~/.agent-vault/owner.key)")
	fs.StringArrayVar(&o.allow, "allow", nil, "serve only secret paths matching this glob; repeatable; '*' does not cross '/' (default: all)")
	fs.StringVar(&o.auditLog, "audit-log", "", "append one JSON line per tool call to this file (never values)")
	fs.BoolVar(&o.noPull, "no-pull", false, "do not 'git pull --ff-only' before each tool call")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	fs.BoolVar(&o.version, "version", false, "print the version")
	return fs
}

// parseOptions parses args. A missing --repo is an error unless only help
// or the version was asked for.
func parseOptions(args []string) (*options, error) {
	o := &options{}
	fs := newFlagSet(o)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.help || o.version {
		return o, nil
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.repo == "" {
		return nil, fmt.Errorf("--repo is required")
	}
	// --key and --repo are expanded where they are resolved; the audit log
	// is opened as given, so expand it here, by the same rule.
	o.auditLog = core.ExpandHome(o.auditLog, os.Getenv("HOME"))
	return o, nil
}

// usage writes the help text.
func usage(w io.Writer) {
	fmt.Fprint(w, `agent-vault-mcp: serve agent-vault secrets to an MCP client over stdio.

usage: agent-vault-mcp --repo <path|url> [flags]
       agent-vault mcp --repo <path|url> [flags]

Tools: agent_vault_get(secret) returns a value; agent_vault_list(group?)
lists the secrets this key can read, without values.

flags:
`)
	fmt.Fprint(w, newFlagSet(&options{}).FlagUsages())
	fmt.Fprint(w, `
--allow uses shell-style globs on '/'-separated secret paths (Go path.Match):
'*' and '?' stay within one segment, so "stripe/*" matches stripe/api-key but
not stripe/live/api-key. Give --allow several times to serve several patterns.
`)
}
