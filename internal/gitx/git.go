// Package gitx runs the user's own git, so their configuration,
// credentials, signing and hooks all apply. Stderr is folded into errors.
package gitx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Repo is a Git working tree.
type Repo struct {
	Dir string
}

// ErrNotRepo is returned when a directory is not inside a Git work tree.
var ErrNotRepo = errors.New("not a git repository")

// Run executes git with args in the repository and returns its stdout.
func (r Repo) Run(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	return run(ctx, r.Dir, nil, stdin, args...)
}

func run(ctx context.Context, dir string, env []string, stdin []byte, args ...string) ([]byte, error) {
	cmd := command(ctx, dir, env, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		e := &Error{Args: args, Exit: -1, Stderr: strings.TrimSpace(stderr.String()), err: err}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			e.Exit = ee.ExitCode()
		}
		return stdout.Bytes(), e
	}
	return stdout.Bytes(), nil
}

// Error is a git command that failed. Exit is -1 when git could not be
// started at all.
type Error struct {
	Args   []string
	Exit   int
	Stderr string
	err    error
}

func (e *Error) Error() string {
	msg := e.Stderr
	if msg == "" {
		msg = e.err.Error()
	}
	return fmt.Sprintf("git %s: %s", e.Args[0], msg)
}

func (e *Error) Unwrap() error { return e.err }

// command prepares git with args in dir; every git process starts here.
func command(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = environ(env)
	return cmd
}

// Toplevel returns the work tree root containing dir.
func Toplevel(ctx context.Context, dir string) (string, error) {
	out, err := run(ctx, dir, nil, nil, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", fmt.Errorf("%s: %w", dir, ErrNotRepo)
	}
	return strings.TrimSpace(string(out)), nil
}

// HooksDir returns the directory git runs hooks from (core.hooksPath aware).
func (r Repo) HooksDir(ctx context.Context) (string, error) {
	out, err := r.Run(ctx, nil, "rev-parse", "--path-format=absolute", "--git-path", "hooks")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// HasUpstream reports whether the current branch tracks a remote branch.
func (r Repo) HasUpstream(ctx context.Context) bool {
	_, err := r.Run(ctx, nil, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}")
	return err == nil
}

// PullFastForward fast-forwards the current branch from its upstream.
func (r Repo) PullFastForward(ctx context.Context) error {
	_, err := r.Run(ctx, nil, "pull", "--ff-only", "--quiet")
	return err
}

// Clone clones url into dir.
func Clone(ctx context.Context, url, dir string) error {
	_, err := run(ctx, "", nil, nil, "clone", "--quiet", "--", url, dir)
	return err
}

// Commit stages exactly paths (additions, changes and deletions) and
// commits only them, leaving anything else the user has staged alone.
// Staging is forced because the vault's own .gitignore matches "*.key",
// which would otherwise hide agents/<name>/public.key; the paths come from
// the vault writer, never from a glob.
// Without a configured identity it commits as a fallback identity for this
// one commit, rather than failing.
func (r Repo) Commit(ctx context.Context, message string, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	spec := []byte(strings.Join(paths, "\x00"))
	// git matches every index entry against every pathspec, so add and
	// commit with thousands of paths take seconds (9 s for a re-encryption
	// of 10,000 secrets). When nothing else is staged, update-index stages
	// exactly these paths (additions, changes, deletions; ignore rules do
	// not apply, as with add --force) and a plain commit of the index is the
	// same commit, hooks and signing included.
	args := append(slices.Clone(noAutoMaintenance), "commit", "--quiet", "-m", message)
	var stdin []byte
	if _, err := r.Run(ctx, nil, "diff", "--cached", "--quiet"); err == nil {
		if _, err := r.Run(ctx, append(spec, 0), append(slices.Clone(packBlobs), "update-index", "--add", "--remove", "-z", "--stdin")...); err != nil {
			return err
		}
	} else {
		// add refuses a pathspec that matches nothing, and commit one that
		// is in neither the index nor HEAD: a deletion an interrupted run
		// already staged is committed but not added.
		add, commit := r.present(ctx, paths)
		if len(commit) == 0 {
			return nil
		}
		if len(add) > 0 {
			if _, err := r.Run(ctx, []byte(strings.Join(add, "\x00")), append(slices.Clone(packBlobs), "add", "--all", "--force", "--pathspec-from-file=-", "--pathspec-file-nul")...); err != nil {
				return err
			}
		}
		paths = commit
		args = append(args, "--pathspec-from-file=-", "--pathspec-file-nul")
		stdin = []byte(strings.Join(commit, "\x00"))
	}
	var env []string
	if !r.hasIdentity(ctx) {
		env = []string{"GIT_AUTHOR_NAME=agent-vault", "GIT_AUTHOR_EMAIL=agent-vault@localhost",
			"GIT_COMMITTER_NAME=agent-vault", "GIT_COMMITTER_EMAIL=agent-vault@localhost"}
	}
	_, err := run(ctx, r.Dir, env, stdin, args...)
	if err != nil && !r.staged(ctx, paths) {
		// The files were written back to their committed content (a
		// repair that undid an interrupted change): nothing to commit.
		return nil
	}
	if err == nil {
		r.maintain(ctx)
	}
	return err
}

// packBlobs makes git write the blobs it stages into one pack (its
// bulk-checkin path, taken for files over core.bigFileThreshold) instead of
// one loose object per file: a re-encryption of 1,200 secrets then adds
// one pack instead of 2,400 files under .git/objects, and never pushes the
// repository over gc.auto's 6,700 loose objects, the usual trigger of an
// automatic gc. The pack is stored without deflate: the blobs are age
// ciphertext, which deflate cannot shrink (the metadata beside them is a
// few hundred bytes each), and deflating them took half of update-index's
// CPU time. The settings apply to this one git process.
var packBlobs = []string{"-c", "core.bigFileThreshold=0", "-c", "pack.compression=0"}

// noAutoMaintenance keeps git commit from running its automatic
// maintenance (git maintenance run --auto, or gc --auto before Git 2.29)
// in the middle of our commit; maintain runs it after.
var noAutoMaintenance = []string{"-c", "maintenance.auto=false", "-c", "gc.auto=0"}

// maintain runs what git commit would have run after committing: git's
// automatic maintenance, which does nothing unless the repository needs it
// (by the user's own gc and maintenance settings) and, when it does, puts
// the repacking in the background (gc.autoDetach, on by default); only the
// quick ref packing happens before it returns. A failure here leaves the
// commit made, so it is not reported.
func (r Repo) maintain(ctx context.Context) {
	if _, err := r.Run(ctx, nil, "maintenance", "run", "--auto", "--quiet"); err != nil {
		r.Run(ctx, nil, "gc", "--auto", "--quiet") // Git before 2.29
	}
}

// present splits paths into those git add accepts (in the work tree or
// the index) and those a commit accepts (those, plus deletions already
// staged, which only HEAD still has).
func (r Repo) present(ctx context.Context, paths []string) (add, commit []string) {
	var missing []string
	for _, p := range paths {
		if _, err := os.Lstat(filepath.Join(r.Dir, p)); err == nil {
			add = append(add, p)
		} else {
			missing = append(missing, p)
		}
	}
	commit = append([]string{}, add...)
	if len(missing) == 0 {
		return add, commit
	}
	// Missing paths are deletions, few per operation, so they fit in argv.
	list := func(args ...string) []string {
		out, err := r.Run(ctx, nil, append(args, append([]string{"--"}, missing...)...)...)
		if err != nil {
			return nil
		}
		var names []string
		for _, p := range strings.Split(string(out), "\x00") {
			if p != "" {
				names = append(names, p)
			}
		}
		return names
	}
	inIndex := list("ls-files", "-z")
	inHead := list("ls-tree", "-r", "-z", "--name-only", "HEAD")
	add = append(add, inIndex...)
	// Only HEAD's paths are deletions to commit: one an interrupted run
	// staged as new and that is gone again is dropped from the index by
	// the add, and would match nothing in the commit.
	commit = append(commit, inHead...)
	return add, commit
}

// staged reports whether any of paths differs between the index and HEAD.
// It errs on the side of true, so a real commit failure is never hidden.
func (r Repo) staged(ctx context.Context, paths []string) bool {
	out, err := r.Run(ctx, nil, "diff", "--cached", "--name-only", "--relative", "-z")
	if err != nil {
		return true
	}
	changed := map[string]bool{}
	for _, p := range strings.Split(string(out), "\x00") {
		changed[p] = true
	}
	for _, p := range paths {
		if changed[p] {
			return true
		}
	}
	return false
}

// hasIdentity reports whether user.name and user.email are both set and
// not empty, asking git once for both.
func (r Repo) hasIdentity(ctx context.Context) bool {
	out, err := r.Run(ctx, nil, "config", "-z", "--get-regexp", `^user\.(name|email)$`)
	if err != nil {
		return false
	}
	set := map[string]bool{}
	for _, kv := range strings.Split(string(out), "\x00") {
		// -z prints each entry as the key, a newline, then the value.
		// The last value of a key is the one git uses.
		k, v, _ := strings.Cut(kv, "\n")
		set[k] = len(bytes.TrimSpace([]byte(v))) > 0
	}
	return set["user.name"] && set["user.email"]
}

// GitPath returns the absolute path of name inside the repository's git
// directory (per work tree), where local state that is never committed can
// live.
func (r Repo) GitPath(ctx context.Context, name string) (string, error) {
	out, err := r.Run(ctx, nil, "rev-parse", "--path-format=absolute", "--git-path", name)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Tracked reports whether git tracks path (relative to the work tree).
func (r Repo) Tracked(ctx context.Context, path string) bool {
	_, err := r.Run(ctx, nil, "ls-files", "--error-unmatch", "--", path)
	return err == nil
}
