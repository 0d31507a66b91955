package bench

import (
	"fmt"
	"testing"

	"github.com/agent-vault/agent-vault/core"
)

// BenchmarkManifest encodes and parses the policy of a vault of 10,000
// secrets and 200 agents: every change writes it, every open reads it.
func BenchmarkManifest(b *testing.B) {
	m := &core.Manifest{Version: 1, Owners: []core.OwnerEntry{{Name: "owner", PublicKey: "owner.pub"}}}
	for i := range LargeAgents {
		m.Agents = append(m.Agents, core.AgentEntry{Name: fmt.Sprintf("agent-%03d", i), Groups: []string{Group}})
	}
	g := core.GroupEntry{Name: Group}
	for i := range 10000 {
		g.Secrets = append(g.Secrets, fmt.Sprintf("%s/secret-%05d", Group, i))
	}
	m.Groups = []core.GroupEntry{g}
	data, err := m.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := m.Marshal(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(data)), "bytes")
	})
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			if _, err := core.ParseManifest(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
