package mcpserver

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/mask"
	"github.com/agent-vault/agent-vault/internal/runner"
)

// Tools that use a secret without returning it.
const (
	toolRun  = "agent_vault_run"
	toolHTTP = "agent_vault_http"
)

const (
	// defaultUseTimeout bounds one run or request unless --timeout says
	// otherwise: long enough for a deploy script's API calls, short
	// enough that a hung program does not hold the server.
	defaultUseTimeout = 60 * time.Second
	// maxOutput caps each stream (stdout, stderr, a response body) that a
	// tool returns, after masking.
	maxOutput = 64 << 10
)

// usePolicy is what the operator allowed beyond reading: which programs
// may run, which hosts may receive which secrets, and whether values may
// be returned at all.
type usePolicy struct {
	exec     execList
	binds    bindList
	noReveal bool
	timeout  time.Duration
}

// newUsePolicy checks the flags of the use tools.
func newUsePolicy(o *options, warn func(string)) (*usePolicy, error) {
	p := &usePolicy{noReveal: o.noReveal, timeout: o.timeout}
	switch {
	case p.timeout < 0:
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "--timeout must be positive"}
	case p.timeout == 0:
		p.timeout = defaultUseTimeout
	}
	var err error
	if p.exec, err = newExecList(o.allowExec); err != nil {
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: err.Error()}
	}
	if p.binds, err = newBindList(o.binds); err != nil {
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: err.Error()}
	}
	for _, e := range p.binds.plainHTTP() {
		warn("--bind " + e + " sends secrets unencrypted over the network")
	}
	return p, nil
}

// instructions tells the model which tools it has and how to use them.
func (s *server) instructions() string {
	var b strings.Builder
	b.WriteString("agent-vault hands out credentials this agent was granted.\n")
	if s.use.noReveal {
		b.WriteString("Call agent_vault_list to see which secrets you may use. Their values are never shown to you.\n")
	} else {
		b.WriteString(instructions[strings.IndexByte(instructions, '\n')+1:] + "\n")
	}
	if len(s.use.exec) > 0 {
		fmt.Fprintf(&b, "agent_vault_run runs one of these programs with secrets in environment variables: %s. Its output comes back with every value replaced by <agent-vault:secret/path>.\n", s.use.exec)
	}
	if len(s.use.binds) > 0 {
		b.WriteString("agent_vault_http sends an HTTPS request in which {{secret/path}} in a header or the body is replaced by the value, for hosts the operator bound to that secret only.\n")
	}
	return b.String()
}

// addUseTools registers the tools the operator turned on.
func (s *server) addUseTools(srv *mcp.Server) {
	if len(s.use.exec) > 0 {
		mcp.AddTool(srv, &mcp.Tool{
			Name:  toolRun,
			Title: "Run a program with secrets",
			Description: "Run an allowed program (" + s.use.exec.String() + ") with secrets in its environment, without seeing them. " +
				"env maps variable names to secret paths (see agent_vault_list). Returns the exit code and stdout and stderr, " +
				"in which every secret value is replaced by <agent-vault:secret/path>; each is cut at 64 KiB.",
			Annotations: &mcp.ToolAnnotations{ReadOnlyHint: false, DestructiveHint: new(true), IdempotentHint: false, OpenWorldHint: new(true)},
		}, s.run)
	}
	if len(s.use.binds) > 0 {
		mcp.AddTool(srv, &mcp.Tool{
			Name:  toolHTTP,
			Title: "Send an HTTP request with secrets",
			Description: "Send an HTTPS request in which {{secret/path}} placeholders in headers or body are replaced by the secret's value, " +
				"without seeing it. Only hosts the operator bound to a secret can receive it (" + s.use.binds.String() + "); " +
				"anything else is refused before sending. Redirects are not followed. Returns status, headers and body (cut at 64 KiB), " +
				"with every secret value replaced by <agent-vault:secret/path>.",
			Annotations: &mcp.ToolAnnotations{ReadOnlyHint: false, DestructiveHint: new(true), IdempotentHint: false, OpenWorldHint: new(true)},
		}, s.http)
	}
}

// values decrypts the secrets named in refs (variable or placeholder ->
// secret path) through the same checks as agent_vault_get: path, --allow,
// then the key. All are read or none.
func (s *server) values(ctx context.Context, refs map[string]string) ([]runner.Var, error) {
	vars := make([]runner.Var, 0, len(refs))
	got := map[string][]byte{}
	for name, secret := range refs {
		v, ok := got[secret]
		if !ok {
			var err error
			if v, err = s.readSecret(ctx, secret); err != nil {
				for _, v := range got {
					clear(v)
				}
				return nil, err
			}
			got[secret] = v
		}
		vars = append(vars, runner.Var{Name: name, Secret: secret, Value: v})
	}
	return vars, nil
}

// clearVars wipes the values once a call is done.
func clearVars(vars []runner.Var) {
	for _, v := range vars {
		clear(v.Value)
	}
}

// capped keeps the first limit bytes written to it and counts the rest.
type capped struct {
	buf       bytes.Buffer
	limit     int
	truncated bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.limit - c.buf.Len(); room < len(p) {
		c.truncated = true
		c.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.buf.Write(p)
}

// text returns what was kept as valid UTF-8: JSON cannot carry other bytes.
func (c *capped) text() string { return strings.ToValidUTF8(c.buf.String(), "\uFFFD") }

// maskString masks the values of set in one string.
func maskString(set *mask.Set, s string) string {
	var out bytes.Buffer
	w := set.NewWriter(&out)
	w.Write([]byte(s))
	w.Close()
	return out.String()
}

// auditName keeps what the model typed for a program or host in the log
// only when it has the shape of one (short, printable, no spaces), so a
// value pasted there does not end up in the log whole.
func auditName(s string) string {
	if len(s) == 0 || len(s) > 128 {
		return ""
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r > 0x7e {
			return ""
		}
	}
	return s
}
