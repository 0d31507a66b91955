//go:build soak

package soak

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The defaults are the figures the soak is specified with: eight servers,
// a thousand calls each, while the owner keeps pushing.
var (
	flagClients   = flag.Int("soak.clients", 8, "MCP server processes, each with its own agent key and one client")
	flagCalls     = flag.Int("soak.calls", 1000, "tool calls per client")
	flagGroups    = flag.Int("soak.groups", 4, "groups in the vault")
	flagSecrets   = flag.Int("soak.secrets", 2, "secrets per group")
	flagListEvery = flag.Int("soak.list-every", 10, "every n-th call of a client is agent_vault_list, the others agent_vault_get")
	flagPause     = flag.Duration("soak.push-pause", 250*time.Millisecond, "pause between two of the owner's pushes")
	flagWarmup    = flag.Int("soak.warmup", 50, "calls per client before the warm-up RSS sample")
	flagGrowth    = flag.Float64("soak.rss-growth", 2, "largest allowed ratio of a server's RSS at the end to its RSS after warm-up")
	flagRemote    = flag.String("soak.remote", "file", "how servers reach the bare remote: file (a file:// URL) or daemon (git daemon on 127.0.0.1)")
	flagSeed      = flag.Uint64("soak.seed", 0, "random seed (0: a fresh one, reported)")
	flagTimeout   = flag.Duration("soak.timeout", 12*time.Minute, "time limit of the whole soak")
	flagBin       = flag.String("soak.bin", "", "directory of the agent-vault and agent-vault-mcp binaries (default: the checkout's bin)")
)

// TestSoak runs the MCP server under concurrent clients while the owner
// pushes grants, revokes and rotations from another clone to a bare
// remote. Every server has its own agent key; all share one HOME and one
// repository URL, hence one cache clone, as agents on one machine do. Each
// call's answer must be one that some state the remote's HEAD had during
// the call allows; no pull may fail; no server may crash; resident memory
// must stay bounded.
func TestSoak(t *testing.T) {
	bin := *flagBin
	if bin == "" {
		_, file, _, _ := runtime.Caller(0)
		bin = filepath.Join(filepath.Dir(file), "..", "..", "bin")
	}
	cli, mcpBin := filepath.Join(bin, "agent-vault"), filepath.Join(bin, "agent-vault-mcp")
	for _, b := range []string{cli, mcpBin} {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("missing %s: run 'make build' first", b)
		}
	}
	seed := *flagSeed
	if seed == 0 {
		seed = mrand.Uint64()
	}
	t.Logf("seed %d (-soak.seed to repeat)", seed)
	rng := mrand.New(mrand.NewPCG(seed, 0))
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), *flagTimeout)
	defer cancel()

	o, bare := newOwner(t, dir, cli, *flagClients, *flagGroups, *flagSecrets, rng)
	repo := remoteURL(t, ctx, bare)
	home, env := agentsHome(t, dir, o)
	agents := o.agents

	// Every server starts at once: they race to clone the URL too.
	servers := make([]*server, len(agents))
	var wg sync.WaitGroup
	errs := make([]error, len(agents))
	for i, a := range agents {
		wg.Go(func() {
			servers[i], errs[i] = startServer(ctx, mcpBin, repo, filepath.Join(home, "keys", a+".key"), a, env)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, s := range servers {
			if s != nil && s.cmd.ProcessState == nil {
				s.cmd.Process.Kill()
			}
		}
	})

	base := time.Now()
	ownerCtx, stopOwner := context.WithCancel(ctx)
	ownerErr := make(chan error, 1)
	go func() { ownerErr <- o.loop(ownerCtx, *flagPause) }()

	results := make([][]call, len(servers))
	for i, s := range servers {
		crng := mrand.New(mrand.NewPCG(seed, uint64(i+1)))
		wg.Go(func() {
			for n := range *flagCalls {
				tool, secret := toolGet, o.secrets[crng.IntN(len(o.secrets))]
				if *flagListEvery > 0 && n%*flagListEvery == *flagListEvery-1 {
					tool, secret = toolList, ""
				}
				c := s.do(ctx, i, tool, secret)
				results[i] = append(results[i], c)
				if c.err != nil {
					return // the server is gone; stop() says why
				}
				if n+1 == min(*flagWarmup, *flagCalls) {
					s.warmRSS, errs[i] = s.sampleRSS()
				}
			}
			if rss, err := s.sampleRSS(); err == nil {
				s.endRSS = rss
			} else if errs[i] == nil {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	wall := time.Since(base)
	stopOwner()
	if err := <-ownerErr; err != nil {
		t.Error(err)
	}
	for _, s := range servers {
		if err := s.stop(); err != nil {
			t.Error(err)
		}
	}
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	log := o.pushes()
	all := slices.Concat(results...)
	slices.SortFunc(all, func(a, b call) int { return a.start.Compare(b.start) }) // examples in time order
	v := check(all, log, agents, base)
	failed, reasons := failedPulls(t, filepath.Join(dir, "agents", "pulls.log"))
	report(t, v, servers, len(log)-1, failed, reasons, wall)

	if want := *flagClients * *flagCalls; v.calls != want {
		t.Errorf("%d calls made, want %d", v.calls, want)
	}
	if n := v.violations(); n > 0 {
		t.Errorf("%d answers no state of the remote during their call allows:\n%s", n, strings.Join(v.examples, "\n"))
	}
	if len(v.errors) > 0 {
		t.Errorf("calls failed: %v\n%s", v.errors, strings.Join(v.examples, "\n"))
	}
	if failed.total > 0 {
		t.Errorf("%d of %d pulls failed", failed.total, failed.pulls)
	}
	if len(log) < 2 {
		t.Errorf("the owner pushed %d changes during the soak, want some", len(log)-1)
	}
	for _, s := range servers {
		if s.warmRSS > 0 && float64(s.endRSS) > *flagGrowth*float64(s.warmRSS) {
			t.Errorf("%s: RSS grew from %d KiB after warm-up to %d KiB at the end", s.agent, s.warmRSS, s.endRSS)
		}
	}
}

// remoteURL is the URL the servers read the bare remote at: file://, or
// git:// from a git daemon on the loopback interface.
func remoteURL(t *testing.T, ctx context.Context, bare string) string {
	switch *flagRemote {
	case "file":
		return "file://" + bare
	case "daemon":
	default:
		t.Fatalf("-soak.remote=%q: want file or daemon", *flagRemote)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	base := filepath.Dir(bare)
	daemon := exec.CommandContext(ctx, "git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1",
		fmt.Sprintf("--port=%d", port), "--base-path="+base, base)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait() })
	url := fmt.Sprintf("git://127.0.0.1:%d/%s", port, filepath.Base(bare))
	for try := 0; ; try++ {
		if exec.Command("git", "ls-remote", url).Run() == nil {
			return url
		}
		if try == 100 {
			t.Fatalf("git daemon on port %d does not answer", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// agentsHome makes the HOME every server shares, with each agent's key and
// pin as the owner handed them out, a git that logs pulls first on PATH,
// and no user Git configuration.
func agentsHome(t *testing.T, dir string, o *owner) (string, []string) {
	home := filepath.Join(dir, "agents", "home")
	if err := os.MkdirAll(filepath.Join(home, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, a := range o.agents {
		for _, ext := range []string{".key", ".owner"} {
			src := strings.TrimSuffix(o.keyFile(a), ".key") + ext
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(home, "keys", a+ext), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	wrapper, err := gitWrapper(filepath.Join(dir, "agents", "bin"))
	if err != nil {
		t.Fatal(err)
	}
	return home, []string{"HOME=" + home, "PATH=" + wrapper + ":" + os.Getenv("PATH"), "LC_ALL=C",
		"TMPDIR=" + os.TempDir(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"SOAK_GIT_LOG=" + filepath.Join(dir, "agents", "pulls.log")}
}

// commitID is a commit ID in git's messages, left out so that failures
// of one kind count together.
var commitID = regexp.MustCompile(`\b[0-9a-f]{40}\b`)

// pullCount is what the servers' git log says of their pulls.
type pullCount struct{ pulls, total int }

// failedPulls reads the pull log: one line per pull, its exit status and
// the first line git printed. It returns the counts and the distinct
// reasons of failures.
func failedPulls(t *testing.T, name string) (pullCount, map[string]int) {
	f, err := os.Open(name)
	if err != nil {
		t.Fatalf("no pull log: %v", err)
	}
	defer f.Close()
	var c pullCount
	reasons := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rc, reason, _ := strings.Cut(sc.Text(), " ")
		c.pulls++
		if rc != "0" {
			c.total++
			reasons[commitID.ReplaceAllString(reason, "<commit>")]++
		}
	}
	return c, reasons
}

// report logs the figures of the run.
func report(t *testing.T, v *verdict, servers []*server, pushes int, failed pullCount, reasons map[string]int, wall time.Duration) {
	t.Logf("calls %d in %s (%d servers): %d values, %d denials, %d listings; the owner pushed %d changes",
		v.calls, wall.Round(time.Second), len(servers), v.values, v.denials, v.lists, pushes)
	t.Logf("pulls %d, failed %d", failed.pulls, failed.total)
	for _, r := range slices.SortedFunc(maps.Keys(reasons), func(a, b string) int { return reasons[b] - reasons[a] }) {
		t.Logf("  %d× %s", reasons[r], r)
	}
	t.Logf("violations %d: %d revoked values, %d stale values, %d wrong values, %d stale denials, %d stale listings; errors %v",
		v.violations(), v.revoked, v.stale, v.wrong, v.staleDenials, v.staleLists, v.errors)
	var warm, end []int64
	for _, s := range servers {
		warm, end = append(warm, s.warmRSS), append(end, s.endRSS)
	}
	t.Logf("RSS after warm-up %s MiB, at the end %s MiB", mibRange(warm), mibRange(end))
}

// mibRange formats the smallest and largest of KiB figures in MiB.
func mibRange(kib []int64) string {
	if len(kib) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f–%.1f", float64(slices.Min(kib))/1024, float64(slices.Max(kib))/1024)
}
