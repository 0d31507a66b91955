package mcpserver

import (
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/agent-vault/agent-vault/internal/clitest"
	"github.com/agent-vault/agent-vault/tests/vectors"
)

// TestVectorsThroughMCP runs every get case of the shared table, and the
// list cases made with the owner key (whose listing is not filtered), through
// the tools, so the MCP layer is held to the same answers as every binding.
// Key failures surface when the server starts, so they are checked there.
func TestVectorsThroughMCP(t *testing.T) {
	tab := loadTable(t)
	ran := 0
	for _, c := range tab.Cases {
		if c.Op != "get" && !(c.Op == "list" && c.Key == "owner") {
			continue
		}
		ran++
		t.Run(c.Name, func(t *testing.T) {
			o := &options{repo: tab.VaultDir(), key: fixtureKey(tab, c.Key), noPull: true}
			s, err := setup(context.Background(), o, envOf(nil), io.Discard)
			if err != nil {
				if cerr := c.Check(vectors.Outcome{Err: err}); cerr != nil {
					t.Fatal(cerr)
				}
				return
			}
			cs := connectServer(t, s)
			var out vectors.Outcome
			if c.Op == "get" {
				out.Value, out.Err = resultValue(call(t, cs, toolGet, map[string]any{"secret": c.Secret}))
			} else {
				args := map[string]any{}
				if c.Group != "" {
					args["group"] = c.Group
				}
				res := call(t, cs, toolList, args)
				if res.IsError {
					_, out.Err = resultValue(res)
				} else {
					var lo listOutput
					if err := json.Unmarshal([]byte(clitest.ResultText(res)), &lo); err != nil {
						t.Fatal(err)
					}
					for _, si := range lo.Secrets {
						out.Names = append(out.Names, si.Name)
					}
				}
			}
			if err := c.Check(out); err != nil {
				t.Fatal(err)
			}
		})
	}
	if ran < 10 {
		t.Fatalf("only %d cases ran; the table looks truncated", ran)
	}
}
