package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// BenchmarkColdGet runs the CLI as a new process per get, on vaults of
// 2,500 and of 10,000 secrets shared by 200 agents: the last agent reads
// the last secret with the owner's pin, so the get verifies the signature
// on its own secret. Compare the two sizes: a get should not grow with the
// vault.
func BenchmarkColdGet(b *testing.B) {
	bin := clitest.Binary(b)
	for _, n := range []int{2500, 10000} {
		dir := b.TempDir()
		v, home, err := NewLarge(dir, n)
		if err != nil {
			b.Fatal(err)
		}
		owner, err := core.ParseIdentity(v.OwnerKey)
		if err != nil {
			b.Fatal(err)
		}
		pin, err := core.OwnerVerificationKey(owner)
		if err != nil {
			b.Fatal(err)
		}
		key := core.AgentKeyPath(home, v.Agents[len(v.Agents)-1])
		secret := v.Secrets[len(v.Secrets)-1]
		b.Run(fmt.Sprintf("cli-get-verified/secrets=%d", n), func(b *testing.B) {
			for b.Loop() {
				cmd := exec.Command(bin, "get", "--no-pull", "--key", key, secret)
				cmd.Dir = filepath.Join(dir, "repo")
				cmd.Env = append(os.Environ(), "HOME="+home, core.OwnerKeyEnv+"="+pin)
				if out, err := cmd.Output(); err != nil || len(out) == 0 {
					b.Fatalf("get: %v", err)
				}
			}
		})
	}
}
