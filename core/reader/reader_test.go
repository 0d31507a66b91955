package reader_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/internal/osfs"
	"github.com/agent-vault/agent-vault/internal/oshost"
)

// git runs the real git in dir with a fixed identity and no user config.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@localhost", "GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@localhost")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// fixture is a vault made for one test with throwaway keys: a work tree,
// the bare remote it pushes to, and an agent key file.
type fixture struct {
	work, bare, home string
	ownerKey         []byte
	agentKey         string // path of the agent's key file
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{work: filepath.Join(t.TempDir(), "work"), home: t.TempDir()}
	if err := os.MkdirAll(filepath.Join(f.work, core.DirName), 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, f.work, "init", "--quiet", "--initial-branch=main")
	ownerKey, ownerPub, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	f.ownerKey = ownerKey
	owner, err := core.ParseIdentity(ownerKey)
	if err != nil || owner.Recipient() != ownerPub {
		t.Fatal(err)
	}
	dir := openDir(t, f.work)
	if err := core.InitSigned(dir, "owner", owner); err != nil {
		t.Fatal(err)
	}
	agentKey, _, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	f.agentKey = filepath.Join(f.home, "agent.key")
	if err := os.WriteFile(f.agentKey, agentKey, 0o600); err != nil {
		t.Fatal(err)
	}
	// The pin beside the key, as add-agent hands it out.
	pin, err := core.OwnerVerificationKey(owner)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(core.PinPath(f.agentKey), []byte(pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.edit(t, f.work, func(e *core.Editor) {
		if err := e.AddAgent("bot", agentKey); err != nil {
			t.Fatal(err)
		}
		if err := e.Set("stripe/api-key", []byte("first-value"), core.SetOptions{Agents: []string{"bot"}}); err != nil {
			t.Fatal(err)
		}
		if err := e.Set("other/token", []byte("not-for-bot"), core.SetOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	f.bare = filepath.Join(t.TempDir(), "remote.git")
	git(t, f.work, "clone", "--quiet", "--bare", f.work, f.bare)
	git(t, f.work, "remote", "add", "origin", f.bare)
	git(t, f.work, "fetch", "--quiet", "origin")
	git(t, f.work, "branch", "--quiet", "--set-upstream-to=origin/main")
	return f
}

func openDir(t testing.TB, repo string) *osfs.Dir {
	t.Helper()
	d, err := osfs.Open(filepath.Join(repo, core.DirName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// edit changes the vault in repo as the owner and commits everything.
func (f *fixture) edit(t testing.TB, repo string, fn func(e *core.Editor)) {
	t.Helper()
	owner, err := core.ParseIdentity(f.ownerKey)
	if err != nil {
		t.Fatal(err)
	}
	e, err := core.Edit(openDir(t, repo), core.EditOptions{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	fn(e)
	git(t, repo, "add", "--all", "--force", core.DirName)
	git(t, repo, "commit", "--quiet", "-m", "edit")
}

// publish sets a secret in a second clone and pushes it, as the owner
// working elsewhere would.
func (f *fixture) publish(t *testing.T, secret, value string) {
	t.Helper()
	clone := filepath.Join(t.TempDir(), "publisher")
	git(t, filepath.Dir(clone), "clone", "--quiet", f.bare, clone)
	f.edit(t, clone, func(e *core.Editor) {
		if err := e.Set(secret, []byte(value), core.SetOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	git(t, clone, "push", "--quiet", "origin", "HEAD")
}

// countingHost records the git commands and key reads a reader makes.
type countingHost struct {
	oshost.Host
	mu    sync.Mutex
	git   [][]string
	reads []string
}

func (h *countingHost) Git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	h.mu.Lock()
	h.git = append(h.git, args)
	h.mu.Unlock()
	return h.Host.Git(ctx, dir, args...)
}

func (h *countingHost) ReadFile(name string, limit int64) ([]byte, error) {
	h.mu.Lock()
	h.reads = append(h.reads, name)
	h.mu.Unlock()
	return h.Host.ReadFile(name, limit)
}

func (h *countingHost) count(sub string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, a := range h.git {
		if slices.Contains(a, sub) {
			n++
		}
	}
	return n
}

func open(t testing.TB, h reader.Host, o reader.Options) *reader.Reader {
	t.Helper()
	r, err := reader.Open(context.Background(), h, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func names(t *testing.T, r *reader.Reader, o reader.ListOptions) []string {
	t.Helper()
	ms, err := r.List(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func TestPushedSecretSeenByNextGetAndList(t *testing.T) {
	f := newFixture(t)
	h := &countingHost{}
	r := open(t, h, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Text: string(f.ownerKey)}, AutoPull: true})
	if h.count("pull") != 0 {
		t.Fatal("open pulled; the first read should")
	}
	f.publish(t, "stripe/pushed", "pushed-value")
	v, err := r.Get(context.Background(), "stripe/pushed")
	if err != nil || string(v) != "pushed-value" {
		t.Fatalf("get after push: %q, %v", v, err)
	}
	if h.count("pull") != 1 {
		t.Fatalf("pulls: %d, want 1", h.count("pull"))
	}
	f.publish(t, "stripe/second", "x")
	if got := names(t, r, reader.ListOptions{}); !slices.Contains(got, "stripe/second") {
		t.Fatalf("list after push: %v", got)
	}
	for _, a := range h.git {
		if slices.Contains(a, "pull") && !slices.Contains(a, "--ff-only") {
			t.Fatalf("a pull that may merge: %v", a)
		}
	}
}

func TestNoPullWithoutAutoPull(t *testing.T) {
	f := newFixture(t)
	h := &countingHost{}
	r := open(t, h, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Path: f.agentKey}})
	f.publish(t, "stripe/pushed", "v")
	if _, err := r.Get(context.Background(), "stripe/pushed"); core.CodeOf(err) != core.CodeSecretNotFound {
		t.Fatalf("got %v, want secret_not_found", err)
	}
	if h.count("pull") != 0 {
		t.Fatal("pulled with auto-pull off")
	}
}

func TestPullIntervalLimitsPulls(t *testing.T) {
	f := newFixture(t)
	h := &countingHost{}
	r := open(t, h, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Path: f.agentKey}, AutoPull: true, PullInterval: 1 << 62})
	for range 3 {
		if _, err := r.Get(context.Background(), "stripe/api-key"); err != nil {
			t.Fatal(err)
		}
	}
	if h.count("pull") != 1 {
		t.Fatalf("pulls: %d, want 1", h.count("pull"))
	}
}

func TestFailedPullWarnsOncePerStreak(t *testing.T) {
	f := newFixture(t)
	r := open(t, oshost.Host{}, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Path: f.agentKey}, AutoPull: true})
	get := func() []string {
		t.Helper()
		v, err := r.Get(context.Background(), "stripe/api-key")
		if err != nil || string(v) != "first-value" {
			t.Fatalf("get: %q %v", v, err)
		}
		return r.Warnings()
	}
	if w := get(); len(w) != 0 {
		t.Fatalf("warnings with the remote up: %v", w)
	}
	os.Rename(f.bare, f.bare+".gone")
	if w := get(); len(w) != 1 || !strings.Contains(w[0], "using the local copy") {
		t.Fatalf("first failure: %v", w)
	}
	if w := get(); len(w) != 0 {
		t.Fatalf("second failure warned again: %v", w)
	}
	os.Rename(f.bare+".gone", f.bare)
	if w := get(); len(w) != 0 {
		t.Fatalf("recovered: %v", w)
	}
	os.Rename(f.bare, f.bare+".gone")
	if w := get(); len(w) != 1 {
		t.Fatalf("a new streak did not warn: %v", w)
	}
}

func TestLocalCommitSeenWithoutPull(t *testing.T) {
	f := newFixture(t)
	r := open(t, oshost.Host{}, reader.Options{Repo: f.work, Home: f.home, Key: core.KeySpec{Path: f.agentKey}})
	f.edit(t, f.work, func(e *core.Editor) {
		if err := e.Set("stripe/api-key", []byte("second-value"), core.SetOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := e.Set("stripe/new", []byte("new-value"), core.SetOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if v, err := r.Get(context.Background(), "stripe/api-key"); err != nil || string(v) != "second-value" {
		t.Fatalf("get: %q %v", v, err)
	}
	if v, err := r.Get(context.Background(), "stripe/new"); err != nil || string(v) != "new-value" {
		t.Fatalf("get new: %q %v", v, err)
	}
	if got := names(t, r, reader.ListOptions{}); !slices.Contains(got, "stripe/new") {
		t.Fatalf("list: %v", got)
	}
}

func TestListShowsWhatTheKeyCanRead(t *testing.T) {
	f := newFixture(t)
	agent := open(t, oshost.Host{}, reader.Options{Repo: f.work, Key: core.KeySpec{Path: f.agentKey}})
	if got := names(t, agent, reader.ListOptions{}); !slices.Equal(got, []string{"stripe/api-key"}) {
		t.Errorf("agent list: %v", got)
	}
	if got := names(t, agent, reader.ListOptions{All: true}); !slices.Equal(got, []string{"other/token", "stripe/api-key"}) {
		t.Errorf("agent list --all: %v", got)
	}
	meta := open(t, oshost.Host{}, reader.Options{Repo: f.work, MetadataOnly: true})
	if got := names(t, meta, reader.ListOptions{}); len(got) != 2 {
		t.Errorf("metadata-only list: %v", got)
	}
	if _, err := meta.Get(context.Background(), "stripe/api-key"); core.CodeOf(err) != core.CodeInvalidKey {
		t.Errorf("get without a key: %v", err)
	}
	if name, _ := agent.Identity(); name != "bot" {
		t.Errorf("identity %q", name)
	}
}

func TestKeyReadOnce(t *testing.T) {
	f := newFixture(t)
	h := &countingHost{}
	r := open(t, h, reader.Options{Repo: f.work, Key: core.KeySpec{Path: f.agentKey}, AutoPull: true})
	for range 3 {
		if _, err := r.Get(context.Background(), "stripe/api-key"); err != nil {
			t.Fatal(err)
		}
	}
	f.publish(t, "stripe/x", "y") // a reopen keeps the parsed key
	if _, err := r.Get(context.Background(), "stripe/x"); err != nil {
		t.Fatal(err)
	}
	if len(h.reads) != 2 || h.reads[0] != f.agentKey || h.reads[1] != core.PinPath(f.agentKey) {
		t.Fatalf("key and pin reads: %v, want each once", h.reads)
	}
}

func TestKeyOptional(t *testing.T) {
	f := newFixture(t)
	r := open(t, oshost.Host{}, reader.Options{Repo: f.work, Home: t.TempDir(), KeyOptional: true})
	if got := names(t, r, reader.ListOptions{}); len(got) != 2 {
		t.Fatalf("list: %v", got)
	}
	_, err := reader.Open(context.Background(), oshost.Host{}, reader.Options{Repo: f.work, KeyOptional: true,
		Key: core.KeySpec{Path: filepath.Join(f.home, "missing.key")}})
	if core.CodeOf(err) != core.CodeInvalidKey {
		t.Fatalf("a configured key that is missing: %v", err)
	}
}

func TestMissingRepositoryIsNamed(t *testing.T) {
	for _, repo := range []string{"/nonexistent/secrets", "relative/missing"} {
		_, err := reader.Open(context.Background(), oshost.Host{}, reader.Options{Repo: repo, Cwd: "/tmp", MetadataOnly: true})
		if core.CodeOf(err) != core.CodeVaultNotFound || !strings.Contains(err.Error(), repo) {
			t.Errorf("%s: %v", repo, err)
		}
	}
	_, err := reader.Open(context.Background(), oshost.Host{}, reader.Options{Repo: t.TempDir(), MetadataOnly: true})
	if core.CodeOf(err) != core.CodeVaultNotFound || !strings.Contains(err.Error(), core.DirName) {
		t.Errorf("a directory without a vault: %v", err)
	}
}

func TestSearchFindsVaultAbove(t *testing.T) {
	f := newFixture(t)
	sub := filepath.Join(f.work, "deep", "er")
	os.MkdirAll(sub, 0o755)
	r := open(t, oshost.Host{}, reader.Options{Cwd: sub, MetadataOnly: true})
	if r.Dir() != f.work {
		t.Fatalf("found %s, want %s", r.Dir(), f.work)
	}
}

func TestURLIsClonedOnceAndCredentialsNeverShown(t *testing.T) {
	f := newFixture(t)
	h := &countingHost{}
	url := "file://" + f.bare
	for range 2 {
		r := open(t, h, reader.Options{Repo: url, Home: f.home, Key: core.KeySpec{Path: f.agentKey}, AutoPull: true})
		if !strings.HasPrefix(r.Dir(), filepath.Join(f.home, core.DirName, "cache")) {
			t.Fatalf("clone at %s", r.Dir())
		}
		if v, err := r.Get(context.Background(), "stripe/api-key"); err != nil || string(v) != "first-value" {
			t.Fatalf("get: %q %v", v, err)
		}
	}
	if h.count("clone") != 1 {
		t.Fatalf("clones: %d", h.count("clone"))
	}
	const secretURL = "http://deploy:TOKEN@127.0.0.1:9/x.git"
	_, err := reader.Open(context.Background(), oshost.Host{}, reader.Options{Repo: secretURL, Home: t.TempDir(), MetadataOnly: true})
	if err == nil || core.CodeOf(err) != core.CodeVaultNotFound {
		t.Fatalf("clone of an unreachable URL: %v", err)
	}
	if strings.Contains(err.Error(), "TOKEN") || strings.Contains(core.HintOf(err), "TOKEN") {
		t.Fatalf("credentials in %q", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:9/x.git") {
		t.Fatalf("the URL is not named: %q", err)
	}
}

func TestVaultInsideAnotherRepositoryIsNotPulled(t *testing.T) {
	f := newFixture(t)
	// The vault directory copied into a subdirectory of the tracked tree.
	sub := filepath.Join(f.work, "nested")
	os.MkdirAll(sub, 0o755)
	if err := os.CopyFS(filepath.Join(sub, core.DirName), os.DirFS(filepath.Join(f.work, core.DirName))); err != nil {
		t.Fatal(err)
	}
	h := &countingHost{}
	r := open(t, h, reader.Options{Repo: sub, Key: core.KeySpec{Path: f.agentKey}, AutoPull: true})
	if _, err := r.Get(context.Background(), "stripe/api-key"); err != nil {
		t.Fatal(err)
	}
	if h.count("pull") != 0 {
		t.Fatal("pulled the enclosing repository")
	}
}

func TestPlantedValueRefusedAndFirstUseWarnsOnce(t *testing.T) {
	f := newFixture(t)
	// A pusher rewrites a secret with the stock tools: no owner signature.
	agentKey, err := os.ReadFile(f.agentKey)
	if err != nil {
		t.Fatal(err)
	}
	r := open(t, oshost.Host{}, reader.Options{Repo: f.work, Key: core.KeySpec{Text: string(agentKey)}})
	if _, err := r.Get(context.Background(), "stripe/api-key"); err != nil {
		t.Fatal(err)
	}
	if w := r.Warnings(); len(w) != 1 || !strings.Contains(w[0], "no owner pin") {
		t.Fatalf("first use without a pin: %v", w)
	}
	if _, err := r.List(context.Background(), reader.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if w := r.Warnings(); len(w) != 0 {
		t.Fatalf("warned again: %v", w)
	}
	enc := filepath.Join(f.work, core.DirName, "secrets", "stripe", "api-key.enc")
	other := filepath.Join(f.work, core.DirName, "secrets", "other", "token.enc")
	data, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(enc, data, 0o644); err != nil {
		t.Fatal(err)
	}
	withPin := open(t, oshost.Host{}, reader.Options{Repo: f.work, Key: core.KeySpec{Path: f.agentKey}})
	if _, err := withPin.Get(context.Background(), "stripe/api-key"); core.CodeOf(err) != core.CodeUntrusted {
		t.Fatalf("a swapped ciphertext: %v, want untrusted", err)
	}
}

func TestRollbackRefused(t *testing.T) {
	f := newFixture(t)
	home := t.TempDir()
	r := open(t, oshost.Host{}, reader.Options{Repo: f.work, Home: home, Key: core.KeySpec{Path: f.agentKey}})
	old := git(t, f.work, "rev-parse", "HEAD")
	f.edit(t, f.work, func(e *core.Editor) {
		if err := e.Set("stripe/api-key", []byte("newer"), core.SetOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if v, err := r.Get(context.Background(), "stripe/x-missing"); core.CodeOf(err) != core.CodeSecretNotFound {
		t.Fatalf("%q %v", v, err) // a failed get makes the reader look at the new HEAD
	}
	if _, err := r.List(context.Background(), reader.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	// The older signed state comes back: a new reader with the same home
	// remembers the newer version and refuses it.
	git(t, f.work, "reset", "--quiet", "--hard", strings.TrimSpace(old))
	again := open(t, oshost.Host{}, reader.Options{Repo: f.work, Home: home, Key: core.KeySpec{Path: f.agentKey}})
	if _, err := again.Get(context.Background(), "stripe/api-key"); core.CodeOf(err) != core.CodeUntrusted {
		t.Fatalf("rollback: %v, want untrusted", err)
	}
}
