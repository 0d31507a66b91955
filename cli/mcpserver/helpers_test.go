package mcpserver

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
	"github.com/agent-vault/agent-vault/tests/vectors"
)

// loadTable loads the shared conformance table; a missing fixture fails.
func loadTable(t testing.TB) *vectors.Table {
	t.Helper()
	tab, err := vectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// fixtureKey is the path of a throwaway fixture key. Git checks files out
// readable by all, and a key file others can read is refused, so it is
// made private first, as a user would.
func fixtureKey(tab *vectors.Table, name string) string {
	p := filepath.Join(tab.Dir, "keys", name+".key")
	os.Chmod(p, 0o600) // some fixture keys deliberately do not exist
	return p
}

// copyFixture copies the fixture vault to a fresh directory, for tests that
// change files or must not share a repository with the checkout.
func copyFixture(t testing.TB, tab *vectors.Table) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	if err := os.CopyFS(dir, os.DirFS(tab.VaultDir())); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fixtureValues returns every plaintext in the table, for checking that
// none leaks anywhere.
func fixtureValues(t *testing.T, tab *vectors.Table) [][]byte {
	t.Helper()
	var out [][]byte
	for _, c := range tab.Cases {
		if c.Expect.ValueB64 == nil {
			continue
		}
		v, err := base64.StdEncoding.DecodeString(*c.Expect.ValueB64)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) >= 8 {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		t.Fatal("the table has no values to look for")
	}
	return out
}

// envOf turns a map into the env function Main and setup take.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// connect runs setup with o and returns a client session on an in-memory
// transport, closed when the test ends.
func connect(t *testing.T, o *options, env map[string]string) (*mcp.ClientSession, *server, *clitest.SyncBuffer) {
	t.Helper()
	stderr := &clitest.SyncBuffer{}
	ctx := context.Background()
	s, err := setup(ctx, o, envOf(env), stderr)
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	t.Cleanup(func() { s.audit.Close() })
	return connectServer(t, s), s, stderr
}

// connectServer connects an in-memory client to s.
func connectServer(t testing.TB, s *server) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	ct, st := mcp.NewInMemoryTransports()
	ss, err := newMCPServer(s).Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpserver-test", Version: "0"}, nil)
	cs, err := client.Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Wait() })
	return cs
}

// call invokes a tool; a protocol-level failure fails the test, a tool
// error is returned in the result.
func call(t testing.TB, cs *mcp.ClientSession, tool string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s(%v): %v", tool, args, err)
	}
	return res
}

// resultValue decodes agent_vault_get's result back into the value or a
// classified error, the way a client would: the code is the text before
// the first ':' of an error result.
func resultValue(res *mcp.CallToolResult) ([]byte, error) {
	if res.IsError {
		text := clitest.ResultText(res)
		code, msg, _ := strings.Cut(text, ": ")
		return nil, &core.Error{Code: core.Code(code), Msg: msg}
	}
	for _, c := range res.Content {
		if er, ok := c.(*mcp.EmbeddedResource); ok {
			return er.Resource.Blob, nil
		}
	}
	if len(res.Content) != 1 {
		return nil, &core.Error{Code: "unexpected", Msg: "expected one text content"}
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		return nil, &core.Error{Code: "unexpected", Msg: "content is not text"}
	}
	return []byte(tc.Text), nil
}

// truncateFile cuts a file in half.
func truncateFile(name string) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	return os.Truncate(name, fi.Size()/2)
}
