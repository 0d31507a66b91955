package mcpserver

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

// git runs the real git in dir with a fixed identity and no user config.
func git(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@localhost", "GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@localhost")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// gitFixture makes a Git repository holding the fixture vault and a bare
// remote it was pushed to, and returns both.
func gitFixture(t testing.TB) (work, bare string) {
	t.Helper()
	tab := loadTable(t)
	work = copyFixture(t, tab)
	git(t, work, "init", "--quiet", "--initial-branch=main")
	git(t, work, "add", "--all")
	// The vault's .gitignore has "*.key", which also matches the agents'
	// public.key files; force them in so clones can encrypt to agents.
	pubs, err := filepath.Glob(filepath.Join(work, core.DirName, "agents", "*", "public.key"))
	if err != nil || len(pubs) == 0 {
		t.Fatalf("fixture has no agent public keys: %v", err)
	}
	git(t, work, append([]string{"add", "--force"}, pubs...)...)
	git(t, work, "commit", "--quiet", "-m", "fixture")
	bare = filepath.Join(t.TempDir(), "remote.git")
	git(t, work, "clone", "--quiet", "--bare", work, bare)
	return work, bare
}

// publish adds a secret in a clone of bare, the way an owner would, and
// pushes it.
func publish(t *testing.T, bare, secret, value string) {
	t.Helper()
	tab := loadTable(t)
	clone := filepath.Join(t.TempDir(), "publisher")
	git(t, filepath.Dir(clone), "clone", "--quiet", bare, clone)
	commitSecret(t, tab.Dir, clone, secret, value)
	git(t, clone, "push", "--quiet", "origin", "HEAD")
}

// commitSecret sets a secret with core's editor and commits it.
func commitSecret(t *testing.T, vectorsDir, repo, secret, value string) {
	t.Helper()
	d, err := osfs.Open(filepath.Join(repo, core.DirName))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	owner, err := core.LoadIdentity(core.KeySpec{Path: filepath.Join(vectorsDir, "keys", "owner.key")}, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	ed, err := core.Edit(d, core.EditOptions{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	if err := ed.Set(secret, []byte(value), core.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "add", "--all")
	git(t, repo, "commit", "--quiet", "-m", "set "+secret)
}

// listNames returns the names agent_vault_list shows.
func listNames(t *testing.T, res string) []string {
	t.Helper()
	var out listOutput
	if err := json.Unmarshal([]byte(res), &out); err != nil {
		t.Fatalf("%v: %s", err, res)
	}
	var names []string
	for _, s := range out.Secrets {
		names = append(names, s.Name)
	}
	return names
}

// TestRemoteIsClonedAndPulledBeforeEachCall serves a file:// URL: the first
// start clones it into the cache under HOME, and a secret pushed later is
// served without a restart. A second server started with --no-pull keeps
// its older view.
func TestRemoteIsClonedAndPulledBeforeEachCall(t *testing.T) {
	tab := loadTable(t)
	_, bare := gitFixture(t)
	url := "file://" + bare
	key := fixtureKey(tab, "billing")

	home := t.TempDir()
	cs, s, _ := connect(t, &options{repo: url, key: key}, map[string]string{"HOME": home})
	loc, err := core.Locate(url, home)
	if err != nil {
		t.Fatal(err)
	}
	if s.rd.Dir() != loc.Dir || !strings.HasPrefix(loc.Dir, home) {
		t.Fatalf("served %s, want the cache clone %s", s.rd.Dir(), loc.Dir)
	}
	if _, err := os.Stat(filepath.Join(loc.Dir, core.DirName, "manifest.yaml")); err != nil {
		t.Fatalf("no clone in the cache: %v", err)
	}
	frozen, _, _ := connect(t, &options{repo: url, key: key, noPull: true}, map[string]string{"HOME": t.TempDir()})

	publish(t, bare, "stripe/rotated-key", "value-pushed-after-start")

	got, err := resultValue(call(t, cs, toolGet, map[string]any{"secret": "stripe/rotated-key"}))
	if err != nil || string(got) != "value-pushed-after-start" {
		t.Fatalf("pushed secret not served: %v", err)
	}
	if names := listNames(t, clitest.ResultText(call(t, cs, toolList, nil))); !slices.Contains(names, "stripe/rotated-key") {
		t.Errorf("list after pull lacks the new secret: %v", names)
	}
	if _, err := resultValue(call(t, frozen, toolGet, map[string]any{"secret": "stripe/rotated-key"})); core.CodeOf(err) != core.CodeSecretNotFound {
		t.Errorf("--no-pull server: got %v, want secret_not_found", err)
	}
}

// TestPullFailureServesLocalCopy: an unreachable remote only warns.
func TestPullFailureServesLocalCopy(t *testing.T) {
	tab := loadTable(t)
	_, bare := gitFixture(t)
	cs, _, stderr := connect(t, &options{repo: "file://" + bare, key: fixtureKey(tab, "billing")}, map[string]string{"HOME": t.TempDir()})
	if err := os.Rename(bare, bare+".gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := resultValue(call(t, cs, toolGet, map[string]any{"secret": "stripe/api-key"})); err != nil {
		t.Fatalf("get with the remote gone: %v", err)
	}
	if !strings.Contains(stderr.String(), "warning: could not update") {
		t.Errorf("no warning on stderr: %q", stderr.String())
	}
}

// TestLocalCommitIsSeen: a local repository changed by the owner (every
// agent-vault command commits) is re-read, so a running server lists the
// new secret without a restart.
func TestLocalCommitIsSeen(t *testing.T) {
	tab := loadTable(t)
	work, _ := gitFixture(t)
	cs, _, _ := connect(t, &options{repo: work, key: fixtureKey(tab, "billing")}, nil)
	before := listNames(t, clitest.ResultText(call(t, cs, toolList, nil)))
	commitSecret(t, tab.Dir, work, "stripe/added-locally", "local-value")
	after := listNames(t, clitest.ResultText(call(t, cs, toolList, nil)))
	if slices.Contains(before, "stripe/added-locally") || !slices.Contains(after, "stripe/added-locally") {
		t.Errorf("before %v, after %v", before, after)
	}
}

func TestCloneFailureIsVaultNotFound(t *testing.T) {
	tab := loadTable(t)
	var stderr clitest.SyncBuffer
	code := Main([]string{"--repo", "file://" + filepath.Join(t.TempDir(), "nothing.git"), "--key", fixtureKey(tab, "billing")},
		strings.NewReader(""), &stderr, &stderr, envOf(map[string]string{"HOME": t.TempDir()}))
	if code != core.CodeVaultNotFound.Number() || !strings.Contains(stderr.String(), "failed to clone") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}
