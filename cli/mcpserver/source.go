package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/gitx"
)

// source keeps one opened vault in step with its repository. It is not safe
// for concurrent use; the server serialises tool calls.
type source struct {
	dir  string
	pull bool
	id   *core.Identity
	// warn reports a problem that does not stop the request, such as an
	// unreachable remote.
	warn func(string)

	head    string
	session *core.Session
}

// openSource resolves repo (a path or a Git URL), clones a URL into the
// cache on first use, and opens the vault as id.
func openSource(ctx context.Context, repo, home string, pull bool, id *core.Identity, warn func(string)) (*source, error) {
	loc, err := core.Locate(repo, home)
	if err != nil {
		return nil, err
	}
	if loc.Remote != "" {
		if err := ensureClone(ctx, loc); err != nil {
			return nil, err
		}
	}
	s := &source{dir: loc.Dir, pull: pull, id: id, warn: warn}
	if err := s.reopen(s.readHead(ctx)); err != nil {
		return nil, err
	}
	return s, nil
}

// ensureClone clones loc.Remote into loc.Dir unless a clone is already
// there. The cache directory is private because it mirrors the policy.
func ensureClone(ctx context.Context, loc core.Location) error {
	if _, err := os.Stat(filepath.Join(loc.Dir, ".git")); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(loc.Dir), 0o700); err != nil {
		return fmt.Errorf("failed to create the repository cache: %w", err)
	}
	if err := gitx.Clone(ctx, loc.Remote, loc.Dir); err != nil {
		return &core.Error{Code: core.CodeVaultNotFound, Msg: "failed to clone " + loc.Remote, Err: err,
			Hint: "check that the URL is right and that git can reach it with your credentials"}
	}
	return nil
}

// current brings the repository up to date and returns a session on its
// latest state. A failed pull only warns: the local copy is still the last
// policy the operator published, and an offline agent keeps working.
func (s *source) current(ctx context.Context) (*core.Session, error) {
	repo := gitx.Repo{Dir: s.dir}
	if s.pull && repo.HasUpstream(ctx) {
		if err := repo.PullFastForward(ctx); err != nil {
			s.warn(fmt.Sprintf("pull failed, serving the local copy: %v", err))
		}
	}
	// A changed HEAD means new policy or ciphertext, from a pull or a local
	// agent-vault command. Outside Git there is no HEAD to compare, so the
	// vault is re-read each time; that is three small files.
	if head := s.readHead(ctx); head == "" || head != s.head {
		if err := s.reopen(head); err != nil {
			return nil, err
		}
	}
	return s.session, nil
}

// reopen reads the vault from disk and starts a fresh session on it. head
// is read before the files, so a commit landing in between is seen next time.
func (s *source) reopen(head string) error {
	if _, err := os.Stat(s.dir); errors.Is(err, fs.ErrNotExist) {
		return &core.Error{Code: core.CodeVaultNotFound, Msg: "repository " + s.dir + " does not exist",
			Hint: "pass --repo with the path or URL of the secrets repository"}
	}
	v, err := core.Open(os.DirFS(s.dir))
	if err != nil {
		return fmt.Errorf("failed to open the vault in %s: %w", s.dir, err)
	}
	s.head = head
	s.session = v.WithIdentity(s.id)
	return nil
}

// readHead returns the commit checked out, or "" outside a Git repository.
func (s *source) readHead(ctx context.Context) string {
	out, err := gitx.Repo{Dir: s.dir}.Run(ctx, nil, "rev-parse", "--verify", "--quiet", "HEAD")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
