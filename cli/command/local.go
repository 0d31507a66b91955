package command

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/gitx"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

// localDirName is the clone-local state directory inside the git directory:
// the journal of an interrupted operation and the writer lock. Nothing in it
// is in the working tree, so nobody who can push can plant or change it.
const localDirName = "agent-vault"

// localDir returns (creating it, mode 0700) the clone-local state directory
// of the repository at root.
func localDir(root string) (string, error) {
	dir, err := (gitx.Repo{Dir: root}).GitPath(context.Background(), localDirName)
	if err != nil {
		return "", &core.Error{Code: core.CodeVaultNotFound, Msg: "the vault is not inside a Git repository", Err: err,
			Hint: "agent-vault keeps the vault in Git; run 'git init' and commit the vault first"}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("failed to create %s: %w", dir, err)
	}
	return dir, nil
}

// openLocal opens the clone-local state directory for core, or returns nil
// when root is not in a Git repository (nothing can be pending there).
func openLocal(root string) *osfs.Dir {
	dir, err := (gitx.Repo{Dir: root}).GitPath(context.Background(), localDirName)
	if err != nil {
		return nil
	}
	d, err := osfs.Open(dir)
	if err != nil {
		return nil
	}
	return d
}

// legacyJournal is where agent-vault kept the journal before it moved out
// of the working tree, relative to the repository.
var legacyJournal = filepath.Join(core.DirName, ".pending.yaml")

// journalTracked reports whether git tracks a journal at the old place in
// the vault: only someone who pushed it could have put it there.
func journalTracked(root string) bool {
	if _, err := os.Lstat(filepath.Join(root, legacyJournal)); err != nil {
		return false
	}
	return (gitx.Repo{Dir: root}).Tracked(context.Background(), filepath.ToSlash(legacyJournal))
}
