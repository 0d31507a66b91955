package mcpserver

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
)

// options are the command-line flags.
type options struct {
	repo     string
	key      string
	owner    string
	allow    []string
	auditLog string
	noPull   bool
	// insecureKeyPerms allows a key file that group or others can access.
	insecureKeyPerms bool
	help             bool
	version          bool
	// The tools that use a secret without returning it (see use.go).
	allowExec []string
	binds     []string
	noReveal  bool
	timeout   time.Duration
}

// newFlagSet declares the flags on a fresh set, bound to o.
func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("agent-vault-mcp", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVar(&o.repo, "repo", "", "secrets repository: a local path or a Git URL (cloned into ~/.agent-vault/cache) (required)")
	fs.StringVar(&o.owner, "owner", "", "the owner's verification key (avowner1...) to verify the vault with (default: $AGENT_VAULT_OWNER, else the .owner file beside the key file, else trust on first use)")
	fs.StringVar(&o.key, "key", "", "agent key file (default: $AGENT_VAULT_KEY, else ~/.agent-vault/owner.key)")
	fs.StringArrayVar(&o.allow, "allow", nil, "serve only secret paths matching this glob; repeatable; '*' does not cross '/' (default: all)")
	fs.StringVar(&o.auditLog, "audit-log", "", "append one JSON line per tool call to this file (never values)")
	fs.BoolVar(&o.noPull, "no-pull", false, "do not 'git pull --ff-only' before each tool call")
	fs.BoolVar(&o.noReveal, "no-reveal", false, "do not offer agent_vault_get: the model can use secrets but never read them")
	fs.StringArrayVar(&o.allowExec, "allow-exec", nil, "offer agent_vault_run for this program (a name looked up in PATH, or an absolute path); repeatable")
	fs.StringArrayVar(&o.binds, "bind", nil, "offer agent_vault_http and let secrets matching GLOB go to HOST only (GLOB=HOST); repeatable")
	fs.DurationVar(&o.timeout, "timeout", defaultUseTimeout, "time limit of each agent_vault_run and agent_vault_http call")
	fs.BoolVar(&o.insecureKeyPerms, "insecure-key-permissions", false, "use a key file that group or others can access (refused otherwise, as ssh does)")
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
lists the secrets this key can read, without values. Two more tools use a
secret without returning it, each offered only when its flag is given:
agent_vault_run(command, env) with --allow-exec, and
agent_vault_http(method, url, headers, body) with --bind. --no-reveal removes
agent_vault_get.

flags:
`)
	fmt.Fprint(w, newFlagSet(&options{}).FlagUsages())
	fmt.Fprint(w, `
--allow uses shell-style globs on '/'-separated secret paths (Go path.Match):
'*' and '?' stay within one segment, so "stripe/*" matches stripe/api-key but
not stripe/live/api-key. Give --allow several times to serve several patterns.

--allow-exec NAME allows exactly the program the model names as NAME, found in
this server's PATH (the model cannot change PATH); --allow-exec /abs/path allows
the model to name exactly that path. Any other program, or a path that only
ends in an allowed name, is refused. Allowing a shell or an interpreter allows
anything, including printing a secret in a form the masking does not know.

--bind 'stripe/*=api.stripe.com' lets agent_vault_http replace {{stripe/...}}
placeholders in headers and body only in requests to https://api.stripe.com
(port 443); a HOST may carry a port (host:8443), and http://host[:port] binds
plain HTTP to that host explicitly. Requests to hosts no --bind names are
refused before anything is sent, and redirects are never followed.
`)
}
