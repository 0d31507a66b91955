// Package hardening proves the security invariants of docs/architecture.md §7 against
// the built agent-vault binary: crash safety, concurrent writers, hostile
// repository content, plaintext never on disk, and the pre-commit hook.
// docs/SECURITY-TESTS.md says what each test proves.
package hardening

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

// exitCodes is the README's exit-code table. It is written out here rather
// than taken from core so that a renumbering fails these tests.
var exitCodes = map[core.Code]int{
	core.CodeInternal: 1, core.CodeInvalidInput: 2, core.CodeVaultNotFound: 3, core.CodeSecretNotFound: 4,
	core.CodeNotAuthorized: 5, core.CodeInvalidKey: 6, core.CodeCorruptVault: 7, core.CodeConflict: 8,
	core.CodeUntrusted: 10,
}

// exitCheckFailed is the exit code of check when it finds errors.
const exitCheckFailed = 9

func TestExitCodeTable(t *testing.T) {
	for _, c := range core.Codes() {
		if exitCodes[c] != c.Number() {
			t.Errorf("code %s is %d, the README table says %d", c, c.Number(), exitCodes[c])
		}
	}
}

// token returns a distinctive random string, so a leak cannot be a
// coincidence.
func token(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// command builds an agent-vault invocation in e's repository with the same
// environment clitest uses, for callers that need the process itself
// (to kill it, trace it or run it concurrently).
func command(e *clitest.Env, stdin []byte, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(e.Bin, args...)
	cmd.Dir = e.Repo
	cmd.Env = append([]string{"HOME=" + e.Home, "PATH=" + os.Getenv("PATH"), "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1", "TMPDIR=" + os.TempDir()}, env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	// Its own process group lets a test wait for git children that
	// outlive a killed CLI.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// result runs cmd to completion, failing the test if it hangs or cannot
// start. A hang is a bug in itself (docs/architecture.md §7.6).
func result(t testing.TB, cmd *exec.Cmd) clitest.Result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("%v hung", cmd.Args[1:])
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", cmd.Args[1:], err)
	}
	return clitest.Result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// run runs agent-vault and returns its result.
func run(t testing.TB, e *clitest.Env, args ...string) clitest.Result {
	t.Helper()
	return result(t, command(e, nil, nil, args...))
}

// must runs agent-vault and fails unless it exits 0.
func must(t testing.TB, e *clitest.Env, args ...string) string {
	t.Helper()
	r := run(t, e, args...)
	if r.Code != 0 {
		t.Fatalf("agent-vault %s: exit %d\n%s%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// noCrashOutput fails if output shows a Go panic or runtime dump.
func noCrashOutput(t testing.TB, what string, r clitest.Result) {
	t.Helper()
	for _, s := range []string{"panic:", "goroutine ", "runtime error", "SIGSEGV"} {
		if strings.Contains(r.Stdout+r.Stderr, s) {
			t.Fatalf("%s crashed (%q in output):\n%s", what, s, r.Stderr)
		}
	}
}

// checkReport is the JSON form of `check --json`.
type checkReport struct {
	Findings []core.Finding `json:"findings"`
	Errors   int            `json:"errors"`
	Verified bool           `json:"ciphertext_verified"`
}

// check runs `check --json` and returns its report and exit code.
func check(t testing.TB, e *clitest.Env) (checkReport, int) {
	t.Helper()
	r := run(t, e, "check", "--json")
	noCrashOutput(t, "check", r)
	var rep checkReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("check --json (exit %d) printed %q: %v\n%s", r.Code, r.Stdout, err, r.Stderr)
	}
	return rep, r.Code
}

// errorKinds lists the kinds of error findings.
func (r checkReport) errorKinds() []string {
	var out []string
	for _, f := range r.Findings {
		if f.Severity == core.SeverityError {
			out = append(out, f.Kind+" "+f.Subject)
		}
	}
	return out
}

// fastFS is a WriteFS without fsync, for building large fixture vaults
// quickly. The code under test always writes through osfs.
type fastFS struct {
	root *os.Root
	fs.FS
}

func (f fastFS) Lstat(name string) (fs.FileInfo, error) { return f.root.Lstat(name) }
func (f fastFS) ReadLink(name string) (string, error)   { return f.root.Readlink(name) }
func (f fastFS) Remove(name string) error               { return f.root.Remove(name) }
func (f fastFS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	if err := f.root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return f.root.WriteFile(name, data, perm)
}

// layout describes a fixture vault: agents with their groups, and how many
// secrets each group holds.
type layout struct {
	agents    []string
	grants    map[string][]string // agent -> groups
	groups    []string
	perGroup  int
	valueSize int
}

// fixture is a vault built from a layout, with every secret's value.
type fixture struct {
	e      *clitest.Env
	values map[string][]byte
	// groupSecrets lists each group's secrets.
	groupSecrets map[string][]string
}

// buildVault runs `agent-vault init` and fills the vault through core with
// fsync disabled, then commits it, so hundreds of secrets take seconds.
func buildVault(t testing.TB, l layout) *fixture {
	t.Helper()
	e := clitest.New(t)
	must(t, e, "init")
	root, err := os.OpenRoot(filepath.Join(e.Repo, core.DirName))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	owner := ownerIdentity(t, e)
	ed, err := core.Edit(fastFS{root: root, FS: root.FS()}, core.EditOptions{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range l.agents {
		key, _, err := core.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := osfs.WriteKeyFile(e.AgentKey(a), key); err != nil {
			t.Fatal(err)
		}
		if err := ed.AddAgent(a, key); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{e: e, values: map[string][]byte{}, groupSecrets: map[string][]string{}}
	for _, g := range l.groups {
		var grantees []string
		for _, a := range l.agents {
			if slices.Contains(l.grants[a], g) {
				grantees = append(grantees, a)
			}
		}
		for i := range l.perGroup {
			name := g + "/s" + hex.EncodeToString([]byte{byte(i >> 8), byte(i)})
			value := []byte(token("value-" + name))
			for len(value) < l.valueSize {
				value = append(value, '.')
			}
			opts := core.SetOptions{}
			if i == 0 {
				opts.Agents = grantees
			}
			if err := ed.Set(name, value, opts); err != nil {
				t.Fatal(err)
			}
			f.values[name] = value
			f.groupSecrets[g] = append(f.groupSecrets[g], name)
		}
	}
	e.Git(e.Repo, "add", "--force", "--all", "--", core.DirName)
	e.Git(e.Repo, "commit", "--quiet", "-m", "fixture vault")
	return f
}

// ownerIdentity reads the owner key that init created.
func ownerIdentity(t testing.TB, e *clitest.Env) *core.Identity {
	t.Helper()
	return keyIdentity(t, e.OwnerKey())
}

func keyIdentity(t testing.TB, path string) *core.Identity {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	id, err := core.ParseIdentity(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return id
}

// openVault opens the vault in e's repository through core, read-only.
func openVault(t testing.TB, e *clitest.Env) *core.Vault {
	t.Helper()
	v, err := core.Open(os.DirFS(e.Repo))
	if err != nil {
		t.Fatalf("open vault: %v", err)
	}
	return v
}

// openPolicy returns the manifest of the vault in e's repository.
func openPolicy(t testing.TB, e *clitest.Env) *core.Manifest {
	t.Helper()
	m, err := openVault(t, e).Manifest()
	if err != nil {
		t.Fatalf("read manifest: %v", err)
	}
	return m
}

// copyEnv clones a whole test environment (HOME, repository, remote and
// anything else beside them) into a fresh directory with cp -a, which keeps modes and symlinks.
func copyEnv(t testing.TB, src *clitest.Env) *clitest.Env {
	t.Helper()
	dst := t.TempDir()
	base := filepath.Dir(src.Repo)
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range entries {
		if out, err := exec.Command("cp", "-a", filepath.Join(base, ent.Name()), dst).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v\n%s", err, out)
		}
	}
	return &clitest.Env{T: t, Bin: src.Bin, Home: filepath.Join(dst, "home"), Repo: filepath.Join(dst, "repo"),
		Remote: filepath.Join(dst, "remote.git")}
}

// waitGroupGone waits until every process of a killed command's process
// group (orphaned git children) has exited, so the next command does not
// race them for .git/index.lock.
func waitGroupGone(t testing.TB, pgid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still running", pgid)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// snapshot records every file under root (path, mode, content hash),
// skipping the named top-level-relative prefixes.
func snapshot(t testing.TB, root string, skip ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		for _, s := range skip {
			if rel == s || strings.HasPrefix(rel, s+string(filepath.Separator)) {
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
		}
		if err != nil {
			out[rel] = "error " + err.Error()
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		desc := info.Mode().String()
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case info.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			sum := sha256.Sum256(data)
			desc += " " + hex.EncodeToString(sum[:])
		}
		out[rel] = desc
		return nil
	})
	return out
}

// sameSnapshot reports the first difference between two snapshots.
func sameSnapshot(before, after map[string]string) error {
	for k, v := range before {
		if w, ok := after[k]; !ok {
			return errors.New(k + " disappeared")
		} else if w != v {
			return errors.New(k + " changed")
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			return errors.New(k + " appeared")
		}
	}
	return nil
}

// ctxTimeout is the bound on any single in-process operation of a test.
func ctxTimeout(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
