package mcpserver

import (
	"context"
	"errors"
	"os"
	"sort"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/runner"
)

// runInput is the argument of agent_vault_run.
type runInput struct {
	Command []string          `json:"command" jsonschema:"the program and its arguments, such as [\"deploy\", \"--prod\"]; the program must be one the operator allowed"`
	Env     map[string]string `json:"env,omitempty" jsonschema:"environment variables to fill from secrets: variable name to secret path, such as {\"STRIPE_KEY\": \"stripe/api-key\"}"`
}

// runOutput is the structured result of agent_vault_run.
type runOutput struct {
	ExitCode        int    `json:"exit_code" jsonschema:"the program's exit status, or 128+n if signal n ended it"`
	Stdout          string `json:"stdout" jsonschema:"standard output, secret values replaced by <agent-vault:secret/path>"`
	Stderr          string `json:"stderr" jsonschema:"standard error, secret values replaced by <agent-vault:secret/path>"`
	StdoutTruncated bool   `json:"stdout_truncated,omitempty" jsonschema:"true if stdout was longer than 64 KiB and was cut"`
	StderrTruncated bool   `json:"stderr_truncated,omitempty" jsonschema:"true if stderr was longer than 64 KiB and was cut"`
	TimedOut        bool   `json:"timed_out,omitempty" jsonschema:"true if the program ran past the time limit and was killed"`
}

// run serves agent_vault_run.
func (s *server) run(ctx context.Context, _ *mcp.CallToolRequest, in runInput) (*mcp.CallToolResult, runOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	entry := auditEntry{Tool: toolRun, Secrets: auditSecrets(in.Env)}
	if len(in.Command) > 0 {
		entry.Program = auditName(in.Command[0])
	}
	out, err := s.runProgram(ctx, in)
	entry.Identity, entry.Outcome = s.identity(), outcome(err)
	if err == nil {
		entry.ExitCode = &out.ExitCode
	}
	if aerr := s.audit.record(entry); aerr != nil {
		return nil, runOutput{}, toolFailure(auditFailure(aerr))
	}
	if err != nil {
		return nil, runOutput{}, toolFailure(err)
	}
	return nil, out, nil
}

// runProgram checks the program and names, reads every secret, and runs
// the program with them, masked and capped, within the time limit.
func (s *server) runProgram(ctx context.Context, in runInput) (runOutput, error) {
	if len(in.Command) == 0 || in.Command[0] == "" {
		return runOutput{}, &core.Error{Code: core.CodeInvalidInput, Msg: "command is empty", Hint: "give the program and its arguments, such as [\"" + s.use.exec[0] + "\"]"}
	}
	if !s.use.exec.allows(in.Command[0]) {
		return runOutput{}, &core.Error{Code: core.CodeNotAuthorized,
			Msg:  "program " + in.Command[0] + " is not one this MCP server may run (--allow-exec " + s.use.exec.String() + ")",
			Hint: "name the program exactly as allowed; ask the operator to add --allow-exec for another"}
	}
	names := make([]string, 0, len(in.Env))
	for name := range in.Env {
		names = append(names, name)
	}
	sort.Strings(names)
	// The model cannot allow a refused name: only the operator's own
	// agent-vault run takes --allow-var.
	for _, name := range names {
		if err := runner.CheckName(name, nil); err != nil {
			return runOutput{}, err
		}
		if err := core.ValidateSecretPath(in.Env[name]); err != nil {
			return runOutput{}, err
		}
	}
	vars, err := s.values(ctx, in.Env)
	defer clearVars(vars)
	if err != nil {
		return runOutput{}, err
	}
	env, err := runner.Environ(os.Environ(), vars)
	if err != nil {
		return runOutput{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.use.timeout)
	defer cancel()
	stdout, stderr := &capped{limit: maxOutput}, &capped{limit: maxOutput}
	res, err := runner.Run(ctx, runner.Spec{Argv: in.Command, Env: env, Stdout: stdout, Stderr: stderr,
		Mask: runner.MaskSet(vars), Isolate: true})
	var se *runner.StartError
	if errors.As(err, &se) {
		return runOutput{}, &core.Error{Code: core.CodeInvalidInput, Msg: se.Error(), Hint: "ask the operator to check that the program is installed and in the server's PATH"}
	}
	if err != nil {
		return runOutput{}, err
	}
	return runOutput{ExitCode: res.ExitCode, Stdout: stdout.text(), Stderr: stderr.text(),
		StdoutTruncated: stdout.truncated, StderrTruncated: stderr.truncated, TimedOut: res.Canceled}, nil
}

// auditSecrets lists the well-formed secret paths of env, sorted.
func auditSecrets(env map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, secret := range env {
		if p := auditPath(secret); p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
