//go:build soak

package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/clitest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tool names of the MCP server.
const (
	toolGet  = "agent_vault_get"
	toolList = "agent_vault_list"
)

// call is one tool call as a client saw it.
type call struct {
	client     int
	start, end time.Time
	tool       string
	secret     string   // get
	value      string   // a get that succeeded
	code       string   // an error result's code ("not_authorized", ...)
	listed     []string // list
	err        error    // a protocol failure: the server is gone
}

// server is one agent-vault-mcp process and the client session driving it.
type server struct {
	agent  string
	cmd    *exec.Cmd
	cs     *mcp.ClientSession
	stderr *clitest.SyncBuffer
	// rss holds VmRSS samples in KiB: after warm-up and at the end.
	warmRSS, endRSS int64
}

// gitWrapper writes a git for the servers' PATH that runs the real one and
// appends each pull's exit status and first line of stderr to
// $SOAK_GIT_LOG: the reader warns once per streak of failed pulls, and the
// soak counts every one.
func gitWrapper(dir string) (string, error) {
	real, err := exec.LookPath("git")
	if err != nil {
		return "", err
	}
	script := `#!/bin/sh
if [ "$1" != pull ]; then exec ` + strconv.Quote(real) + ` "$@"; fi
err=$(` + strconv.Quote(real) + ` "$@" 2>&1 >/dev/null)
rc=$?
[ -n "$err" ] && printf '%s\n' "$err" >&2
printf '%s %s\n' "$rc" "$(printf '%s' "$err" | head -n 1)" >> "$SOAK_GIT_LOG"
exit $rc
`
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "git"), []byte(script), 0o700)
}

// startServer starts bin with the agent's key on repo and connects an MCP
// client to it over stdio.
func startServer(ctx context.Context, bin, repo, key, agent string, env []string) (*server, error) {
	s := &server{agent: agent, stderr: &clitest.SyncBuffer{}}
	s.cmd = exec.Command(bin, "--repo", repo, "--key", key)
	s.cmd.Env, s.cmd.Stderr = env, s.stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "soak-" + agent, Version: "0"}, nil)
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: s.cmd}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: failed to connect: %w: %s", agent, err, s.stderr)
	}
	s.cs = cs
	return s, nil
}

// do makes one call and records it.
func (s *server) do(ctx context.Context, client int, tool, secret string) call {
	c := call{client: client, tool: tool, secret: secret, start: time.Now()}
	args := map[string]any{}
	if tool == toolGet {
		args["secret"] = secret
	}
	res, err := s.cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	c.end = time.Now()
	if err != nil {
		c.err = err
		return c
	}
	text := clitest.ResultText(res)
	switch {
	case res.IsError:
		c.code, _, _ = strings.Cut(text, ":")
	case tool == toolGet:
		c.value = text
	default:
		c.listed, c.err = listedNames(res)
	}
	return c
}

// listedNames takes the secret names from agent_vault_list's structured
// result.
func listedNames(res *mcp.CallToolResult) ([]string, error) {
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return nil, err
	}
	var out struct {
		Secrets []struct {
			Name string `json:"name"`
		} `json:"secrets"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("malformed listing: %w", err)
	}
	names := []string{}
	for _, s := range out.Secrets {
		names = append(names, s.Name)
	}
	return names, nil
}

// sampleRSS reads the server's resident set size in KiB.
func (s *server) sampleRSS() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("failed to read the RSS of %s: %w", s.agent, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for %s", s.agent)
}

// stop closes the session, which ends the server, and reports how it
// exited: a crash, a non-zero status or a Go runtime report on stderr is
// an error.
func (s *server) stop() error {
	s.cs.Close() // closes stdin and waits for the server to exit
	st := s.cmd.ProcessState
	switch {
	case st == nil:
		return fmt.Errorf("%s: the server did not exit", s.agent)
	case !st.Exited() || st.ExitCode() != 0:
		return fmt.Errorf("%s: the server ended with %v: %s", s.agent, st, s.stderr)
	case strings.Contains(s.stderr.String(), "panic:") || strings.Contains(s.stderr.String(), "fatal error:"):
		return fmt.Errorf("%s: the server crashed: %s", s.agent, s.stderr)
	}
	return nil
}
