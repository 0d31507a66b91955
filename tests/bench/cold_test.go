package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// verifyVault is a large vault and how its last agent reads its last
// secret.
type verifyVault struct {
	v           *Vault
	dir, home   string
	pin, secret string
	key         string
	id          *core.Identity
}

func newVerifyVault(b *testing.B, n int) *verifyVault {
	dir := b.TempDir()
	v, home, err := NewLarge(dir, n)
	if err != nil {
		b.Fatal(err)
	}
	owner, _ := core.ParseIdentity(v.OwnerKey)
	pin, err := core.OwnerVerificationKey(owner)
	if err != nil {
		b.Fatal(err)
	}
	key := core.AgentKeyPath(home, v.Agents[len(v.Agents)-1])
	id, err := core.LoadIdentity(core.KeySpec{Path: key}, os.ReadFile)
	if err != nil {
		b.Fatal(err)
	}
	return &verifyVault{v: v, dir: dir, home: home, pin: pin, secret: v.Secrets[len(v.Secrets)-1], key: key, id: id}
}

// get reads the secret from a fresh open, verifying the owner's signature
// or not.
func (w *verifyVault) get(b *testing.B, verify bool) time.Duration {
	start := time.Now()
	vault, err := core.Open(os.DirFS(w.v.Repo))
	if err != nil {
		b.Fatal(err)
	}
	s := vault.WithIdentity(w.id)
	if verify {
		t, err := vault.LoadTrust(w.pin)
		if err != nil {
			b.Fatal(err)
		}
		s = s.WithTrust(t)
	}
	if _, err := s.Get(w.secret); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// cli runs the CLI as a new process for one get with the owner's pin.
func (w *verifyVault) cli(b *testing.B, bin string) time.Duration {
	cmd := exec.Command(bin, "get", "--no-pull", "--key", w.key, w.secret)
	cmd.Dir = filepath.Join(w.dir, "repo")
	cmd.Env = append(os.Environ(), "HOME="+w.home, core.OwnerKeyEnv+"="+w.pin)
	start := time.Now()
	if out, err := cmd.Output(); err != nil || len(out) == 0 {
		b.Fatalf("get: %v", err)
	}
	return time.Since(start)
}

// BenchmarkVerifiedGet reads the last secret as the last of 200 agents in
// vaults of 2,500 and of 10,000 secrets: in process from a fresh open,
// with and without verifying the owner's signature, and as a new CLI
// process (which verifies, with the pin). Each iteration runs all six side
// by side, so the ratios hold on a busy machine:
//
//	verified/plain-N   what verification adds to a get at N secrets
//	verified-10k/2.5k  how a verified get grows with the vault
//	cli-10k/2.5k       the same for a cold process (target: at most 1.2)
func BenchmarkVerifiedGet(b *testing.B) {
	bin := clitest.Binary(b)
	small, large := newVerifyVault(b, 2500), newVerifyVault(b, 10000)
	var plain, verified, cli [2]time.Duration
	for b.Loop() {
		for i, w := range []*verifyVault{small, large} {
			plain[i] += w.get(b, false)
			verified[i] += w.get(b, true)
			cli[i] += w.cli(b, bin)
		}
	}
	ratio := func(a, c time.Duration) float64 { return float64(a) / float64(c) }
	b.ReportMetric(ratio(verified[0], plain[0]), "verified/plain-2.5k")
	b.ReportMetric(ratio(verified[1], plain[1]), "verified/plain-10k")
	b.ReportMetric(ratio(verified[1], verified[0]), "verified-10k/2.5k")
	b.ReportMetric(ratio(cli[1], cli[0]), "cli-10k/2.5k")
	b.ReportMetric(float64(cli[0].Microseconds())/float64(b.N), "cli-2.5k-µs")
	b.ReportMetric(float64(verified[0].Microseconds())/float64(b.N), "verified-2.5k-µs")
}
