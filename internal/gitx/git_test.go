package gitx

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newRepo makes a repository with one commit holding v/keep, v/gone and
// an ignore rule for *.key, like a vault's.
func newRepo(t *testing.T) Repo {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "config", "user.name", "test")
	git(t, dir, "config", "user.email", "test@example.invalid")
	write(t, filepath.Join(dir, ".gitignore"), "*.key\n")
	write(t, filepath.Join(dir, "v/keep"), "1")
	write(t, filepath.Join(dir, "v/gone"), "1")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "init")
	return Repo{Dir: dir}
}

// changes applies one of each kind of change under v/ and returns the
// paths Commit is given.
func changes(t *testing.T, r Repo) []string {
	write(t, filepath.Join(r.Dir, "v/keep"), "2")
	write(t, filepath.Join(r.Dir, "v/new/public.key"), "k")
	if err := os.Remove(filepath.Join(r.Dir, "v/gone")); err != nil {
		t.Fatal(err)
	}
	return []string{"v/gone", "v/keep", "v/new/public.key"}
}

func lastCommit(t *testing.T, r Repo) (subject string, files []string) {
	subject = git(t, r.Dir, "log", "-1", "--format=%s")
	files = strings.Fields(git(t, r.Dir, "show", "--name-only", "--format=", "HEAD"))
	slices.Sort(files)
	return subject, files
}

// Commit records exactly the paths given, including a deletion and a file
// the ignore rules match, whether or not the user has staged other work,
// and leaves that other work staged.
func TestCommitExactlyThePaths(t *testing.T) {
	for _, userStaged := range []bool{false, true} {
		r := newRepo(t)
		paths := changes(t, r)
		write(t, filepath.Join(r.Dir, "v/stray"), "not ours") // changed, never staged
		if userStaged {
			write(t, filepath.Join(r.Dir, "notes"), "staged by the user")
			git(t, r.Dir, "add", "notes")
		}
		if err := r.Commit(context.Background(), "agent-vault: test", paths); err != nil {
			t.Fatal(err)
		}
		subject, files := lastCommit(t, r)
		if subject != "agent-vault: test" || !slices.Equal(files, paths) {
			t.Errorf("user staged %v: commit %q has %v, want %v", userStaged, subject, files, paths)
		}
		status := git(t, r.Dir, "status", "--porcelain")
		if userStaged != strings.Contains(status, "A  notes") || !strings.Contains(status, "?? v/stray") {
			t.Errorf("user staged %v: status afterwards:\n%s", userStaged, status)
		}
	}
}

// Files written back to their committed content leave nothing to commit,
// which is not an error.
func TestCommitNothingChanged(t *testing.T) {
	r := newRepo(t)
	head := git(t, r.Dir, "rev-parse", "HEAD")
	if err := r.Commit(context.Background(), "agent-vault: noop", []string{"v/keep"}); err != nil {
		t.Fatal(err)
	}
	if got := git(t, r.Dir, "rev-parse", "HEAD"); got != head {
		t.Errorf("a commit was made: %s", got)
	}
}

// A file an interrupted run staged as new and a later run removed again
// (never in HEAD) is among the paths of the later commit: it leaves the
// index and the commit succeeds without it.
func TestCommitStagedThenRemovedFile(t *testing.T) {
	r := newRepo(t)
	write(t, filepath.Join(r.Dir, "v/tmp-bucket"), "written by a crashed run")
	git(t, r.Dir, "add", "v/tmp-bucket")
	if err := os.Remove(filepath.Join(r.Dir, "v/tmp-bucket")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(r.Dir, "v/keep"), "2")
	if err := r.Commit(context.Background(), "agent-vault: repair", []string{"v/keep", "v/tmp-bucket"}); err != nil {
		t.Fatal(err)
	}
	if _, files := lastCommit(t, r); !slices.Equal(files, []string{"v/keep"}) {
		t.Errorf("commit has %v", files)
	}
	if status := git(t, r.Dir, "status", "--porcelain"); status != "" {
		t.Errorf("status afterwards:\n%s", status)
	}
}

// The blobs of a commit go into one pack, not one loose object each.
func TestCommitPacksBlobs(t *testing.T) {
	r := newRepo(t)
	var paths []string
	for i := range 40 {
		p := filepath.ToSlash(filepath.Join("v", "s", strings.Repeat("x", i%3+1)+string(rune('a'+i%26))+strings.Repeat("0", i/26)))
		write(t, filepath.Join(r.Dir, p), "ciphertext "+p)
		paths = append(paths, p)
	}
	if err := r.Commit(context.Background(), "agent-vault: many", paths); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		id := git(t, r.Dir, "rev-parse", "HEAD:"+p)
		if _, err := os.Stat(filepath.Join(r.Dir, ".git", "objects", id[:2], id[2:])); err == nil {
			t.Fatalf("%s was written as a loose object", p)
		}
	}
	if got := git(t, r.Dir, "cat-file", "-p", "HEAD:"+paths[7]); got != "ciphertext "+paths[7] {
		t.Fatalf("blob reads back as %q", got)
	}
}

// Git's automatic maintenance runs after the commit, not inside it, and
// still does its work when the repository needs it.
func TestCommitMaintenanceAfterCommit(t *testing.T) {
	r := newRepo(t)
	// A second pack (the commit's) calls for a gc, run in the foreground
	// so the test can see its result.
	git(t, r.Dir, "gc", "-q")
	git(t, r.Dir, "config", "gc.autoPackLimit", "1")
	git(t, r.Dir, "config", "gc.autoDetach", "false")
	trace := filepath.Join(t.TempDir(), "trace.json")
	t.Setenv("GIT_TRACE2_EVENT", trace)
	if err := r.Commit(context.Background(), "agent-vault: test", changes(t, r)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	// Each git process is named by its command; a child's session id
	// begins with the id of the top-level process that started it.
	var topLevel []string
	names := map[string]string{}
	under := map[string][]string{} // top-level session id: children's commands
	for _, line := range strings.Split(string(data), "\n") {
		var ev struct{ Event, Sid, Name string }
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Event != "cmd_name" {
			continue
		}
		if root, _, nested := strings.Cut(ev.Sid, "/"); nested {
			under[root] = append(under[root], ev.Name)
		} else {
			names[ev.Sid] = ev.Name
			topLevel = append(topLevel, ev.Name)
		}
	}
	for sid, children := range under {
		if names[sid] == "commit" && (slices.Contains(children, "maintenance") || slices.Contains(children, "gc")) {
			t.Errorf("maintenance ran inside git commit: %v", children)
		}
	}
	if i := slices.Index(topLevel, "commit"); i < 0 || !slices.Contains(topLevel[i:], "maintenance") {
		t.Errorf("no maintenance after the commit: %v", topLevel)
	}
	if out := git(t, r.Dir, "count-objects", "-v"); !strings.Contains(out, "count: 0\n") || !strings.Contains(out, "packs: 1\n") {
		t.Errorf("the gc did not run:\n%s", out)
	}
}

// Without a configured identity the commit is made under a fallback one;
// with one, under it.
func TestCommitIdentity(t *testing.T) {
	r := newRepo(t)
	t.Setenv("HOME", t.TempDir()) // no global identity
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	if err := r.Commit(context.Background(), "agent-vault: test", changes(t, r)); err != nil {
		t.Fatal(err)
	}
	if got := git(t, r.Dir, "log", "-1", "--format=%an <%ae>"); got != "test <test@example.invalid>" {
		t.Errorf("with an identity: committed as %s", got)
	}
	git(t, r.Dir, "config", "--unset", "user.name")
	write(t, filepath.Join(r.Dir, "v/keep"), "3")
	if err := r.Commit(context.Background(), "agent-vault: again", []string{"v/keep"}); err != nil {
		t.Fatal(err)
	}
	if got := git(t, r.Dir, "log", "-1", "--format=%an <%ae>"); got != "agent-vault <agent-vault@localhost>" {
		t.Errorf("without user.name: committed as %s", got)
	}
}
