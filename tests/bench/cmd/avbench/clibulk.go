//go:build unix

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/agent-vault/agent-vault/tests/bench"
)

// cliBulkSecrets is the group size of the CLI bulk section.
func (c *config) cliBulkSecrets() int {
	if c.quick {
		return 200
	}
	return 1200
}

// cliRun is one timed CLI command.
type cliRun struct {
	wall, cpu time.Duration
	// git is the wall time of the git processes the command ran, by git
	// command (from Git's trace2 events); hook processes are inside their
	// commit.
	git map[string]time.Duration
}

func (r cliRun) gitTotal() time.Duration {
	var t time.Duration
	for _, d := range r.git {
		t += d
	}
	return t
}

// cliOps are the commands of the section, run in this order on a fresh
// copy of the vault: grant adds a recipient to every secret of the group,
// revoke takes it away again.
var cliOps = [][]string{{"grant", bench.Newcomer, bench.Group}, {"revoke", bench.Newcomer, bench.Group}}

// cpuSets are the CPU sets the commands run on, under taskset.
var cpuSets = []string{"0", "0,1"}

func sectionCLIBulk(c *config, r *report) error {
	n := c.cliBulkSecrets()
	dir := filepath.Join(c.tmp, "clibulk")
	progress("building a CLI bulk vault of %d secrets", n)
	b, err := bench.NewBulk(dir, n, true)
	if err != nil {
		return err
	}
	if err := c.installHook(b); err != nil {
		return err
	}
	pristine := filepath.Join(dir, "pristine")
	if err := copyTree(b.V.Repo, pristine); err != nil {
		return err
	}
	// A fresh copy is one this HOME has never seen: the versions the
	// owner signed in an earlier round would make it a rollback.
	restore := func() error {
		if err := os.RemoveAll(filepath.Join(b.Home, ".agent-vault", "seen")); err != nil {
			return err
		}
		if err := os.RemoveAll(b.V.Repo); err != nil {
			return err
		}
		return copyTree(pristine, b.V.Repo)
	}
	rounds := 3
	if c.quick {
		rounds = 1
	}
	bins := []string{c.cli}
	if c.baselineCLI != "" {
		bins = append(bins, c.baselineCLI)
	}
	// best[bin][op][cpus] is the faster of the rounds, as in section 3.
	best := map[string]map[string]map[string]cliRun{}
	var floors []time.Duration
	for round := range rounds {
		for k := range cpuSets {
			cpus := cpuSets[(round+k)%len(cpuSets)]
			for j := range bins {
				bin := bins[(round+j)%len(bins)]
				if err := restore(); err != nil {
					return err
				}
				syscall.Sync()
				_, f, err := bench.Floor()
				if err != nil {
					return err
				}
				floors = append(floors, f)
				for _, args := range cliOps {
					progress("agent-vault %s, CPUs %s, round %d, %s", args[0], cpus, round+1, bin)
					got, err := c.runCLI(b, dir, bin, cpus, args)
					if err != nil {
						return err
					}
					if best[bin] == nil {
						best[bin] = map[string]map[string]cliRun{}
					}
					if best[bin][args[0]] == nil {
						best[bin][args[0]] = map[string]cliRun{}
					}
					if old, ok := best[bin][args[0]][cpus]; !ok || got.wall < old.wall {
						best[bin][args[0]][cpus] = got
					}
				}
			}
		}
	}
	slices.Sort(floors)
	floor := floors[len(floors)/2]

	recipients := map[string]int{"grant": bench.BulkAgents + 2, "revoke": bench.BulkAgents + 1}
	r.printf("\n## 3b. Bulk owner operations through the CLI, with the Git commit\n\n")
	r.printf("`agent-vault grant` then `revoke` of one agent on a group of %d secrets shared by %d agents (the grant re-encrypts each secret to %d recipients, "+
		"the revoke to %d), as one process each with its Git commit and the pre-commit hook `agent-vault init` installs, on %s. "+
		"Each pair runs on a fresh copy of the repository under `taskset -c 0` (1 CPU) and `taskset -c 0,1` (2 CPUs), alternating; "+
		"the faster of %d rounds counts. CPU is the command's user and system time with the Git processes it waited for; "+
		"Git is the wall time of those Git processes (trace2). The floor, one X25519 scalar multiplication, took %s of CPU (median over the rounds, measured on the thread's CPU clock before each pair).\n",
		n, bench.BulkAgents, recipients["grant"], recipients["revoke"], fsType(c.tmp), rounds, dur(floor))
	header := []string{"command", "recipients", "wall, 1 CPU", "wall, 2 CPUs", "speedup", "cores busy, 2 CPUs",
		"CPU per secret per recipient, floors (1 CPU)", "Git, 2 CPUs", "Git by command, 2 CPUs"}
	for _, bin := range bins {
		var rows [][]string
		for _, args := range cliOps {
			op := args[0]
			one, two := best[bin][op]["0"], best[bin][op]["0,1"]
			speedup := bench.Ratio(one.wall, two.wall)
			perRcp := float64(one.cpu) / float64(n*recipients[op]) / float64(floor)
			share := bench.Ratio(two.gitTotal(), two.wall)
			rows = append(rows, []string{op, strconv.Itoa(recipients[op]), dur(one.wall), dur(two.wall), ratio(speedup),
				fmt.Sprintf("%.2f", two.cpu.Seconds()/two.wall.Seconds()), fmt.Sprintf("%.2f", perRcp),
				fmt.Sprintf("%s (%.0f%%)", dur(two.gitTotal()), 100*share), gitBreakdown(two.git)})
			if bin != c.cli {
				continue
			}
			r.target(speedup >= 1.6, "cli %s: 2 CPUs are %s as fast as 1 (target ≥ 1.6×)", op, ratio(speedup))
			r.target(share <= 0.25, "cli %s: Git takes %.0f%% of the wall time on 2 CPUs (target ≤ 25%%)", op, 100*share)
			r.target(perRcp <= 2.3, "cli %s: %.2f floors of CPU per secret per recipient on 1 CPU (target ≤ 2.3)", op, perRcp)
		}
		if len(bins) > 1 {
			r.printf("\n%s:\n", bin)
		}
		r.table(header, rows)
	}
	return c.cliSyscalls(r, b, dir, restore, n)
}

// gitBreakdown lists git commands by time, largest first.
func gitBreakdown(git map[string]time.Duration) string {
	names := make([]string, 0, len(git))
	for k := range git {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return git[names[i]] > git[names[j]] })
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %s", k, dur(git[k])))
	}
	return strings.Join(parts, ", ")
}

// cliEnv is the environment of the CLI runs.
func cliEnv(b *bench.Bulk) []string {
	return append(cleanEnv(b.Home), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.invalid",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.invalid")
}

// runCLI runs one command of the agent-vault binary bin on cpus and times it.
func (c *config) runCLI(b *bench.Bulk, dir, bin, cpus string, args []string) (cliRun, error) {
	trace := filepath.Join(dir, "trace2.json")
	os.Remove(trace)
	cmd := exec.Command("taskset", append([]string{"-c", cpus, bin}, args...)...)
	cmd.Dir = b.V.Repo
	cmd.Env = append(cliEnv(b), "GIT_TRACE2_EVENT="+trace)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return cliRun{}, fmt.Errorf("agent-vault %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	wall := time.Since(start)
	git, err := gitTimes(trace)
	if err != nil {
		return cliRun{}, err
	}
	return cliRun{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), git: git}, nil
}

// gitTimes sums the wall time of the top-level git processes in a trace2
// event file by git command. The hooks a command ran are counted apart
// ("pre-commit hook"), and taken out of that command's time.
func gitTimes(path string) (map[string]time.Duration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return map[string]time.Duration{}, nil
		}
		return nil, err
	}
	names := map[string]string{}
	exits := map[string]float64{}
	hooks := map[string]map[int]string{} // sid: child id: hook name
	hookTime := map[string]float64{}     // sid: time in hooks
	out := map[string]time.Duration{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var ev struct {
			Event      string  `json:"event"`
			Sid        string  `json:"sid"`
			Name       string  `json:"name"`
			TAbs       float64 `json:"t_abs"`
			TRel       float64 `json:"t_rel"`
			ChildID    int     `json:"child_id"`
			ChildClass string  `json:"child_class"`
			HookName   string  `json:"hook_name"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if strings.Contains(ev.Sid, "/") { // a child of a git process
			continue
		}
		switch ev.Event {
		case "cmd_name":
			names[ev.Sid] = ev.Name
		case "exit":
			exits[ev.Sid] = ev.TAbs
		case "child_start":
			if ev.ChildClass == "hook" {
				if hooks[ev.Sid] == nil {
					hooks[ev.Sid] = map[int]string{}
				}
				hooks[ev.Sid][ev.ChildID] = ev.HookName
			}
		case "child_exit":
			if name, ok := hooks[ev.Sid][ev.ChildID]; ok {
				out[name+" hook"] += time.Duration(ev.TRel * 1e9)
				hookTime[ev.Sid] += ev.TRel
			}
		}
	}
	for sid, t := range exits {
		name := names[sid]
		if name == "" {
			name = "git"
		}
		out[name] += time.Duration((t - hookTime[sid]) * 1e9)
	}
	return out, nil
}

// installHook gives the bulk repository the pre-commit hook agent-vault
// init installs, taken from a scratch vault made by the CLI.
func (c *config) installHook(b *bench.Bulk) error {
	scratch := filepath.Join(c.tmp, "hook-scratch")
	home := filepath.Join(scratch, "home")
	repo := filepath.Join(scratch, "repo")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	for _, args := range [][]string{{"git", "init", "-q", repo}, {c.cli, "init", repo}} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(cleanEnv(home), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.invalid",
			"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.invalid")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	hook, err := os.ReadFile(filepath.Join(repo, ".git", "hooks", "pre-commit"))
	if err != nil {
		return err
	}
	dst := filepath.Join(b.V.Repo, ".git", "hooks")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dst, "pre-commit"), hook, 0o755)
}

// copyTree copies a directory with cp -a.
func copyTree(src, dst string) error {
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a %s %s: %v\n%s", src, dst, err, out)
	}
	return nil
}

// cliSyscalls runs grant and revoke once more under strace -f (not timed)
// and reports the system calls per re-encrypted secret, of agent-vault
// and of the git processes.
func (c *config) cliSyscalls(r *report, b *bench.Bulk, dir string, restore func() error, n int) error {
	if _, err := exec.LookPath("strace"); err != nil {
		return fmt.Errorf("strace is missing (scripts/install-deps.sh installs it): %w", err)
	}
	if err := restore(); err != nil {
		return err
	}
	var rows [][]string
	for _, args := range cliOps {
		progress("agent-vault %s under strace", args[0])
		log := filepath.Join(dir, "strace.log")
		cmd := exec.Command("strace", append([]string{"-f", "-qq", "-o", log, c.cli}, args...)...)
		cmd.Dir = b.V.Repo
		cmd.Env = cliEnv(b)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("strace agent-vault %s: %v\n%s", args[0], err, out)
		}
		counts, err := countSyscalls(log)
		if err != nil {
			return err
		}
		per := func(prog, call string) string { return fmt.Sprintf("%.1f", float64(counts[prog][call])/float64(n)) }
		rows = append(rows, []string{args[0], per("agent-vault", ""), per("agent-vault", "openat"), per("git", ""), per("git", "openat"),
			per("agent-vault", "renameat") + " / " + per("agent-vault", "sync_file_range") + " / " + per("agent-vault", "write")})
	}
	r.printf("System calls per re-encrypted secret (`strace -f`, one more run of each command; git includes its hook):\n")
	r.table([]string{"command", "agent-vault, all", "agent-vault, openat", "git, all", "git, openat", "agent-vault renameat / sync_file_range / write"}, rows)
	return nil
}

var (
	straceStart  = regexp.MustCompile(`^(\d+) +([a-z_0-9]+)\(`)
	straceResult = regexp.MustCompile(`= (\d+)$`)
)

// countSyscalls reads an strace -f log and counts system calls by program
// (agent-vault, git: anything else counts as git, its hook's tools) and
// by name ("" for all). A thread or child counts for the program of the
// process that created it until it execs another.
func countSyscalls(path string) (map[string]map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	prog := map[string]string{}
	pending := map[string]string{} // an execve not yet returned
	counts := map[string]map[string]int{"agent-vault": {}, "git": {}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		// strace pads a pid to five columns: "1053  execve(...".
		pid, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimLeft(rest, " ")
		p := prog[pid]
		if p == "" {
			p = "git"
		}
		if m := straceStart.FindStringSubmatch(line); m != nil {
			counts[p][""]++
			counts[p][m[2]]++
			if m[2] == "execve" {
				exe, _, _ := strings.Cut(strings.TrimPrefix(rest, `execve("`), `"`)
				pending[pid] = "git"
				if filepath.Base(exe) == "agent-vault" {
					pending[pid] = "agent-vault"
				}
			}
		}
		if to, ok := pending[pid]; ok && strings.HasSuffix(line, "= 0") {
			prog[pid] = to
			delete(pending, pid)
		}
		// A clone's result is the new thread or process, which starts as
		// its parent's.
		if strings.Contains(rest, "clone") || strings.Contains(rest, "vfork") || strings.Contains(rest, "fork") {
			if m := straceResult.FindStringSubmatch(line); m != nil {
				if _, ok := prog[m[1]]; !ok {
					prog[m[1]] = p
				}
			}
		}
	}
	return counts, sc.Err()
}
