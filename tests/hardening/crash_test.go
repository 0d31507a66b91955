package hardening

import (
	"bytes"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// crashLayout is a vault of 240 secrets in four groups. Each bulk operation
// below touches 60 to 120 of them, which keeps its crash window long
// enough to hit many points inside it.
var crashLayout = layout{
	agents: []string{"alice", "bob", "carol", "dave", "eve"},
	grants: map[string][]string{"alice": {"g0", "g1"}, "bob": {"g1", "g2"}, "carol": {"g2", "g3"}, "eve": {"g3"}},
	groups: []string{"g0", "g1", "g2", "g3"}, perGroup: 60, valueSize: 64,
}

// crashOp is one command killed at several points.
type crashOp struct {
	name  string
	args  []string
	stdin []byte
	// fromStart kills at delays after the process starts instead of after
	// the journal appears, for operations too short to poll for.
	fromStart bool
	// changed maps secrets whose value the operation sets to that value.
	changed map[string][]byte
	// applied reports whether the operation's effect is in the policy.
	applied func(t *testing.T, f *fixture, e *clitest.Env) bool
	// verify checks the finished operation's effect on access.
	verify func(t *testing.T, f *fixture, e *clitest.Env)
}

func crashOps() []crashOp {
	fresh := []byte(token("fresh-value"))
	rotated := []byte(token("rotated-value"))
	return []crashOp{
		{name: "grant", args: []string{"grant", "dave", "g1"},
			applied: func(t *testing.T, f *fixture, e *clitest.Env) bool {
				return slices.Contains(openPolicy(t, e).Agent("dave").Groups, "g1")
			},
			verify: func(t *testing.T, f *fixture, e *clitest.Env) {
				reads(t, f, e, e.AgentKey("dave"), f.groupSecrets["g1"], nil)
			}},
		{name: "revoke", args: []string{"revoke", "bob", "g1"},
			applied: func(t *testing.T, f *fixture, e *clitest.Env) bool {
				return !slices.Contains(openPolicy(t, e).Agent("bob").Groups, "g1")
			},
			verify: func(t *testing.T, f *fixture, e *clitest.Env) {
				refused(t, e, e.AgentKey("bob"), f.groupSecrets["g1"])
				reads(t, f, e, e.AgentKey("bob"), f.groupSecrets["g2"], nil)
			}},
		{name: "remove-agent", args: []string{"remove-agent", "carol"},
			applied: func(t *testing.T, f *fixture, e *clitest.Env) bool {
				return openPolicy(t, e).Agent("carol") == nil
			},
			verify: func(t *testing.T, f *fixture, e *clitest.Env) {
				refused(t, e, e.AgentKey("carol"), append(slices.Clone(f.groupSecrets["g2"]), f.groupSecrets["g3"]...))
				if _, err := os.Lstat(filepath.Join(e.Repo, core.DirName, "agents", "carol")); !os.IsNotExist(err) {
					t.Errorf("agents/carol still exists after remove-agent: %v", err)
				}
			}},
		{name: "recover-agent", args: []string{"recover-agent", "alice"},
			applied: func(t *testing.T, f *fixture, e *clitest.Env) bool {
				pub, _ := os.ReadFile(filepath.Join(e.Repo, core.DirName, "agents", "alice", "public.key"))
				return strings.TrimSpace(string(pub)) != keyIdentity(t, f.e.AgentKey("alice")).Recipient()
			},
			verify: func(t *testing.T, f *fixture, e *clitest.Env) {
				both := append(slices.Clone(f.groupSecrets["g0"]), f.groupSecrets["g1"]...)
				refused(t, e, f.e.AgentKey("alice"), both) // the lost key, kept in the fixture's HOME
				reads(t, f, e, e.AgentKey("alice"), both, nil)
			}},
		{name: "set-with-grant", args: []string{"set", "g2/fresh", string(fresh), "--agents", "dave"},
			changed: map[string][]byte{"g2/fresh": fresh},
			applied: func(t *testing.T, f *fixture, e *clitest.Env) bool {
				return openPolicy(t, e).GroupOf("g2/fresh") == "g2"
			},
			verify: func(t *testing.T, f *fixture, e *clitest.Env) {
				reads(t, f, e, e.AgentKey("dave"), append(slices.Clone(f.groupSecrets["g2"]), "g2/fresh"),
					map[string][]byte{"g2/fresh": fresh})
			}},
		{name: "set-rotate-stdin", args: []string{"set", "g0/s0001", "-"}, stdin: rotated,
			changed: map[string][]byte{"g0/s0001": rotated},
			applied: func(t *testing.T, f *fixture, e *clitest.Env) bool {
				v, err := openVault(t, e).WithIdentity(ownerIdentity(t, e)).Get("g0/s0001")
				return err == nil && bytes.Equal(v, rotated)
			},
			verify: func(t *testing.T, f *fixture, e *clitest.Env) {
				reads(t, f, e, e.AgentKey("alice"), []string{"g0/s0001"}, map[string][]byte{"g0/s0001": rotated})
			}},
	}
}

// TestCrashSafety kills each bulk command with SIGKILL at several points
// and proves docs/architecture.md §7.5: every secret stays readable by the owner,
// check reports the half-finished operation, re-running the command or
// `check --repair` completes it, and afterwards the vault is consistent and
// access matches the policy (a revoked or removed key reads nothing).
func TestCrashSafety(t *testing.T) {
	f := buildVault(t, crashLayout)
	if rep, code := check(t, f.e); code != 0 || rep.Errors != 0 {
		t.Fatalf("fixture vault is not clean: exit %d %v", code, rep.errorKinds())
	}
	for _, op := range crashOps() {
		t.Run(op.name, func(t *testing.T) {
			// The work is mostly fsync waits, so operations overlap well.
			t.Parallel()
			// A clean run first: it must work, and its duration spaces
			// the kill points over the operation's real window.
			ref := copyEnv(t, f.e)
			window := runToEnd(t, ref, op)
			afterCrash(t, f, ref, op, false)
			pending, dirty := 0, 0
			fractions := []float64{0, 0.15, 0.35, 0.6, 0.85}
			for i, frac := range fractions {
				e := copyEnv(t, f.e)
				jitter := time.Duration(mrand.Int64N(int64(window/20) + 1))
				if killAt(t, e, op, time.Duration(frac*float64(window))+jitter) {
					pending++
				}
				afterCrash(t, f, e, op, i%2 == 0)
				if st := e.Git(e.Repo, "status", "--porcelain", "--", core.DirName); st != "" {
					dirty++
					t.Logf("uncommitted after kill %d:\n%s", i, st)
				}
			}
			// An early kill, before the journal exists, must leave the
			// vault as it was.
			e := copyEnv(t, f.e)
			op2 := op
			op2.fromStart = true
			killAt(t, e, op2, 2*time.Millisecond)
			afterCrash(t, f, e, op, false)
			if !op.fromStart && pending == 0 {
				t.Errorf("no kill left a pending journal (window %v); the test did not exercise repair", window)
			}
			// The CLI removes the journal only after its commit, so a kill
			// at any point is either finished by repair and committed, or
			// never happened: nothing is left changed but uncommitted.
			if dirty > 0 {
				t.Errorf("%d of %d kills left uncommitted vault changes after completion", dirty, len(fractions))
			}
			t.Logf("window %v: %d of %d kills left a pending operation", window, pending, len(fractions))
		})
	}
}

// journalPath is the journal in the clone's git directory, outside the
// working tree.
func journalPath(e *clitest.Env) string {
	return filepath.Join(e.Repo, ".git", "agent-vault", "pending.yaml")
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// runToEnd runs op uninterrupted and returns the window to kill in: from
// the journal's appearance to exit, or from start to exit for fromStart.
func runToEnd(t *testing.T, e *clitest.Env, op crashOp) time.Duration {
	cmd := command(e, op.stdin, nil, op.args...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var seen time.Time
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%v failed: %v", op.args, err)
			}
			if op.fromStart || seen.IsZero() {
				return time.Since(start)
			}
			return time.Since(seen)
		default:
		}
		if seen.IsZero() && exists(journalPath(e)) {
			seen = time.Now()
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// killAt starts op and sends SIGKILL delay after the journal appears (or
// after start). It reports whether the journal was left behind.
func killAt(t *testing.T, e *clitest.Env, op crashOp, delay time.Duration) bool {
	cmd := command(e, op.stdin, nil, op.args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	finished := false
	if !op.fromStart {
		for !exists(journalPath(e)) && !finished {
			select {
			case <-done:
				finished = true
			default:
				time.Sleep(50 * time.Microsecond)
			}
		}
		start = time.Now()
	}
	for !finished && time.Since(start) < delay {
		select {
		case <-done:
			finished = true
		default:
			time.Sleep(20 * time.Microsecond)
		}
	}
	if !finished {
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
	waitGroupGone(t, cmd.Process.Pid)
	return exists(journalPath(e))
}

// afterCrash checks the invariants right after a kill, finishes the
// operation the way a user would, and checks the end state.
func afterCrash(t *testing.T, f *fixture, e *clitest.Env, op crashOp, rerun bool) {
	t.Helper()
	ownerReadsAll(t, f, e, op.changed, false)
	if exists(journalPath(e)) {
		rep, code := check(t, e)
		if code != exitCheckFailed || !slices.ContainsFunc(rep.Findings, func(x core.Finding) bool {
			return x.Kind == "pending_operation" && x.Severity == core.SeverityError
		}) {
			t.Fatalf("check after a crash: exit %d, findings %v; want a pending_operation error", code, rep.errorKinds())
		}
		if rerun {
			runOp(t, e, op)
		} else {
			must(t, e, "check", "--repair")
		}
	}
	if !op.applied(t, f, e) {
		// Killed before the operation was journaled: nothing happened, so
		// the user runs it again.
		runOp(t, e, op)
	}
	if exists(journalPath(e)) {
		t.Fatal("the journal is still there after completion")
	}
	rep, code := check(t, e)
	if code != 0 || rep.Errors != 0 || !rep.Verified {
		t.Fatalf("check after completion: exit %d, verified %v, errors %v", code, rep.Verified, rep.errorKinds())
	}
	// Temporary files and staging directories are gone too.
	if i := slices.IndexFunc(rep.Findings, func(x core.Finding) bool { return x.Kind == "temp_file" }); i >= 0 {
		t.Fatalf("check after completion: %s", rep.Findings[i].Message)
	}
	ownerReadsAll(t, f, e, op.changed, true)
	op.verify(t, f, e)
}

// runOp runs op to completion and requires success.
func runOp(t *testing.T, e *clitest.Env, op crashOp) {
	t.Helper()
	r := result(t, command(e, op.stdin, nil, op.args...))
	noCrashOutput(t, "re-run", r)
	if r.Code != 0 {
		t.Fatalf("running %v after a crash: exit %d\n%s", op.args, r.Code, r.Stderr)
	}
}

// ownerReadsAll decrypts every secret with the owner key. A secret the
// operation changes may hold the old or the new value until it completes
// (and a new one may not exist yet); afterwards it must hold the new one.
func ownerReadsAll(t *testing.T, f *fixture, e *clitest.Env, changed map[string][]byte, done bool) {
	t.Helper()
	s := openVault(t, e).WithIdentity(ownerIdentity(t, e))
	for name, want := range f.values {
		got, err := s.Get(name)
		if err != nil {
			t.Fatalf("owner cannot read %s: %v", name, err)
		}
		if nv, ok := changed[name]; ok && (bytes.Equal(got, nv) || !done && bytes.Equal(got, want)) {
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s holds a wrong value", name)
		}
	}
	for name, nv := range changed {
		if _, base := f.values[name]; base {
			continue
		}
		got, err := s.Get(name)
		switch {
		case err == nil && bytes.Equal(got, nv):
		case !done && core.CodeOf(err) == core.CodeSecretNotFound:
		default:
			t.Fatalf("%s: value wrong or unreadable (done=%v): %v", name, done, err)
		}
	}
}

// reads asserts that the key at keyPath decrypts each secret to its value.
func reads(t *testing.T, f *fixture, e *clitest.Env, keyPath string, secrets []string, extra map[string][]byte) {
	t.Helper()
	s := openVault(t, e).WithIdentity(keyIdentity(t, keyPath))
	for _, name := range secrets {
		want, ok := extra[name]
		if !ok {
			want = f.values[name]
		}
		got, err := s.Get(name)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s cannot read %s: %v", filepath.Base(keyPath), name, err)
		}
	}
}

// refused asserts that the key at keyPath gets not_authorized on each
// secret: the current files no longer open with it.
func refused(t *testing.T, e *clitest.Env, keyPath string, secrets []string) {
	t.Helper()
	s := openVault(t, e).WithIdentity(keyIdentity(t, keyPath))
	for _, name := range secrets {
		if _, err := s.Get(name); core.CodeOf(err) != core.CodeNotAuthorized {
			t.Fatalf("%s on %s: got %v, want not_authorized", filepath.Base(keyPath), name, err)
		}
	}
}

// TestRepairWithoutNetChange recreates, deterministically, a crash inside
// `set` of a new secret after the journal and manifest were written but
// before the ciphertext: repair drops the secret again, so the vault ends
// exactly as committed. Both ways out (check --repair, and re-running the
// set) must succeed rather than fail on an empty commit.
func TestRepairWithoutNetChange(t *testing.T) {
	f := buildVault(t, layout{agents: []string{"bot"}, grants: map[string][]string{"bot": {"app"}},
		groups: []string{"app"}, perGroup: 2, valueSize: 16})
	manifestFile := filepath.Join(f.e.Repo, core.DirName, "manifest.yaml")
	committed, err := os.ReadFile(manifestFile)
	if err != nil {
		t.Fatal(err)
	}
	m, err := core.ParseManifest(committed)
	if err != nil {
		t.Fatal(err)
	}
	m.Groups[0].Secrets = append(m.Groups[0].Secrets, "app/new")
	next, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	indented := "  " + strings.ReplaceAll(strings.TrimSuffix(string(next), "\n"), "\n", "\n  ")
	journal := "op: set\nargs: [app/new]\nstarted: 2026-01-01T00:00:00Z\nset: [app/new]\nmanifest: |\n" + indented + "\n"
	for _, way := range []string{"check --repair", "re-run"} {
		t.Run(way, func(t *testing.T) {
			e := copyEnv(t, f.e)
			write(t, filepath.Join(e.Repo, core.DirName, "manifest.yaml"), next)
			write(t, journalPath(e), []byte(journal))
			if rep, code := check(t, e); code != exitCheckFailed || !hasFinding(rep.Findings, "pending_operation") {
				t.Fatalf("crafted crash state not reported: exit %d %v", code, rep.errorKinds())
			}
			value := []byte(token("after-repair"))
			if way == "re-run" {
				runOp(t, e, crashOp{args: []string{"set", "app/new", "-"}, stdin: value})
				reads(t, f, e, e.OwnerKey(), []string{"app/new"}, map[string][]byte{"app/new": value})
			} else {
				must(t, e, "check", "--repair")
				if got, _ := os.ReadFile(filepath.Join(e.Repo, core.DirName, "manifest.yaml")); !bytes.Equal(got, committed) {
					t.Errorf("repair did not restore the committed manifest:\n%s", got)
				}
			}
			if rep, code := check(t, e); code != 0 {
				t.Errorf("check after repair: exit %d %v", code, rep.errorKinds())
			}
			if st := e.Git(e.Repo, "status", "--porcelain"); st != "" {
				t.Errorf("work tree not clean after repair:\n%s", st)
			}
		})
	}
}
