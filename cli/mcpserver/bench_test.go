package mcpserver

import (
	"context"
	"io"
	"testing"
)

// BenchmarkGet measures one agent_vault_get through an in-memory MCP
// session, side by side: a plain directory, a Git clone with --no-pull (one
// HEAD check), and a clone pulling from its remote before every call, the
// default. Compare the ns/op of the three; they ran on the same machine in
// the same run.
func BenchmarkGet(b *testing.B) {
	tab := loadTable(b)
	key := fixtureKey(tab, "billing")
	_, bare := gitFixture(b)
	for _, bc := range []struct {
		name string
		o    *options
	}{
		{"dir", &options{repo: tab.VaultDir(), key: key, noPull: true}},
		{"clone-no-pull", &options{repo: "file://" + bare, key: key, noPull: true}},
		{"clone-pull", &options{repo: "file://" + bare, key: key}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := setup(context.Background(), bc.o, envOf(map[string]string{"HOME": b.TempDir()}), io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			cs := connectServer(b, s)
			args := map[string]any{"secret": "stripe/api-key"}
			b.ResetTimer()
			for b.Loop() {
				if _, err := resultValue(call(b, cs, toolGet, args)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
