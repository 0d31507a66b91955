// Package mcpserver is the agent-vault MCP server: it serves the secrets an
// agent key can read to an MCP client over stdio, through two tools,
// agent_vault_get and agent_vault_list. It decrypts with core natively.
//
// Only this package prints, to stderr, and it never prints a secret.
package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/internal/oshost"
)

const progName = "agent-vault-mcp"

// Main runs the MCP server over stdio with the given arguments (the flags
// after "mcp") and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	o, err := parseOptions(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %s\nhint: run '%s --help' for usage\n", progName, core.SafeLines(err.Error()), progName)
		return core.CodeInvalidInput.Number()
	}
	switch {
	case o.help:
		usage(stdout)
		return 0
	case o.version:
		fmt.Fprintf(stdout, "%s %s\n", progName, core.Version)
		return 0
	}
	ctx := context.Background()
	s, err := setup(ctx, o, env, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer s.audit.Close()
	t := &mcp.IOTransport{Reader: io.NopCloser(stdin), Writer: nopWriteCloser{stdout}}
	if err := newMCPServer(s).Run(ctx, t); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, mcp.ErrConnectionClosed) {
		return fail(stderr, fmt.Errorf("failed to serve: %w", err))
	}
	return 0
}

// setup opens the vault through the shared reader, which reads the key
// once and keeps it in memory only, and opens the audit log.
func setup(ctx context.Context, o *options, env func(string) string, stderr io.Writer) (*server, error) {
	allow, err := newAllowList(o.allow)
	if err != nil {
		return nil, core.Errorf(core.CodeInvalidInput, "%s", err.Error())
	}
	cwd, _ := os.Getwd()
	if o.owner == "" {
		o.owner = env(core.OwnerKeyEnv)
	}
	warn := func(msg string) { fmt.Fprintf(stderr, "%s: warning: %s\n", progName, core.SafeLines(msg)) }
	rd, err := reader.Open(ctx, oshost.Host{InsecureKeyPerms: o.insecureKeyPerms}, reader.Options{
		Repo: o.repo, Cwd: cwd, Home: env("HOME"),
		Key:      core.KeySpec{Path: o.key, Env: env(core.KeyEnv)},
		AutoPull: !o.noPull,
		Owner:    o.owner,
	})
	if err != nil {
		return nil, err
	}
	s := &server{rd: rd, warn: warn, allow: allow}
	s.flushWarnings()
	if s.use, err = newUsePolicy(o, warn); err != nil {
		return nil, err
	}
	if o.auditLog != "" {
		if s.audit, err = openAuditLog(o.auditLog); err != nil {
			return nil, err
		}
	}
	who := fmt.Sprintf("%q", s.identity())
	switch {
	case rd.IsOwner():
		warn("serving with the owner key, which reads every secret; give the MCP server an agent key instead")
	case who == `""`:
		who = "an unknown key"
		warn("this key is not an agent of the vault, so it can read nothing; the owner can add it with agent-vault add-agent")
	}
	fmt.Fprintf(stderr, "%s: serving %s as %s (allow: %s)\n", progName, rd.Dir(), who, allow)
	return s, nil
}

// fail prints err the way the CLI does and returns its exit code.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "%s: error: %s\n", progName, core.SafeLines(err.Error()))
	if hint := core.HintOf(err); hint != "" {
		fmt.Fprintf(stderr, "hint: %s\n", core.SafeLines(hint))
	}
	return core.CodeOf(err).Number()
}

// nopWriteCloser lets the transport close stdout without closing the
// caller's writer.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
