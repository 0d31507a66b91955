package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/gctune"
	"github.com/agent-vault/agent-vault/internal/gitx"
	"github.com/agent-vault/agent-vault/internal/keyfile"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

// lockTimeout is how long a writer waits for a concurrent one to finish.
const lockTimeout = 5 * time.Minute

// ctx is the state of one command invocation.
type ctx struct {
	env  Env
	o    *opts
	cmd  string
	fs   *pflag.FlagSet
	exit int
}

func (c *ctx) printf(format string, args ...any) { fmt.Fprintf(c.env.Stdout, format, args...) }

// warnf writes a warning to stderr.
func (c *ctx) warnf(format string, args ...any) {
	fmt.Fprintf(c.env.Stderr, "agent-vault: warning: %s\n", core.SafeLines(fmt.Sprintf(format, args...)))
}

func (c *ctx) home() (string, error) {
	h := c.env.Getenv("HOME")
	if h == "" {
		return "", &core.Error{Code: core.CodeInvalidInput, Msg: "HOME is not set", Hint: "agent-vault keeps keys under $HOME/.agent-vault"}
	}
	return h, nil
}

func (c *ctx) keySpec() core.KeySpec {
	h, _ := c.home()
	return core.KeySpec{Path: c.o.key, Env: c.env.Getenv(core.KeyEnv), Home: h}
}

// identity loads the key by the one resolution rule in core.
func (c *ctx) identity() (*core.Identity, error) {
	return core.LoadIdentity(c.keySpec(), c.readKey)
}

// readKey reads a key file, refusing one others can access unless
// --insecure-key-permissions was given.
func (c *ctx) readKey(path string) ([]byte, error) {
	return keyfile.Read(path, c.o.insecureKeyPerms)
}

// root finds the directory holding .agent-vault: --repo, or the nearest
// ancestor of the working directory, as git finds .git.
func (c *ctx) root() (string, error) {
	if c.o.repo != "" {
		home, _ := c.home()
		dir, err := filepath.Abs(core.ExpandHome(c.o.repo, home))
		if err != nil {
			return "", err
		}
		if fi, err := os.Lstat(filepath.Join(dir, core.DirName)); err != nil || !fi.IsDir() {
			return "", &core.Error{Code: core.CodeVaultNotFound, Msg: fmt.Sprintf("no %s directory in %s", core.DirName, dir),
				Hint: "run 'agent-vault init' there first"}
		}
		return dir, nil
	}
	for dir := c.env.Dir; ; dir = filepath.Dir(dir) {
		if fi, err := os.Lstat(filepath.Join(dir, core.DirName)); err == nil && fi.IsDir() {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", &core.Error{Code: core.CodeVaultNotFound, Msg: "not inside a vault (no " + core.DirName + " directory here or above)",
				Hint: "run 'agent-vault init' in a Git repository, or pass --repo"}
		}
	}
}

// openRead opens the vault for reading.
func (c *ctx) openRead() (*core.Vault, string, error) {
	root, err := c.root()
	if err != nil {
		return nil, "", err
	}
	v, err := core.Open(os.DirFS(root))
	return v, root, err
}

// editSpec describes a mutating command. Every change needs the owner
// key: it is verified against the owner's signature and signed.
type editSpec struct {
	// op and args identify the command, so re-running an interrupted one
	// just finishes it.
	op   string
	args []string
}

// edit runs fn on a locked vault and commits exactly the files it changed
// with message "agent-vault: <msg>". An operation left unfinished by a
// crash is completed first; if it was this very command, that is all.
func (c *ctx) edit(spec editSpec, msg string, fn func(e *core.Editor) error) error {
	gctune.Apply()
	root, err := c.root()
	if err != nil {
		return err
	}
	dir, err := osfs.Open(filepath.Join(root, core.DirName))
	if err != nil {
		return &core.Error{Code: core.CodeVaultNotFound, Msg: "failed to open vault", Err: err}
	}
	defer dir.Close()
	ldir, err := localDir(root)
	if err != nil {
		return err
	}
	local, err := osfs.Open(ldir)
	if err != nil {
		return err
	}
	defer local.Close()
	unlock, err := osfs.Lock(filepath.Join(ldir, "lock"), lockTimeout)
	if err != nil {
		return &core.Error{Code: core.CodeConflict, Msg: "failed to lock the vault", Err: err,
			Hint: "another agent-vault command is writing; wait for it and retry"}
	}
	defer unlock()
	owner, err := c.identity()
	if err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(root, legacyJournal)); err == nil {
		c.warnf("ignoring %s: journals no longer live in the working tree, and one there is never applied (see 'agent-vault check')", legacyJournal)
	}
	// The journal stays until the change is committed: a crash between the
	// last file write and the commit is then still a pending operation.
	e, err := core.Edit(dir, core.EditOptions{Owner: owner, Progress: c.progress(), KeepJournal: true, Local: local, Seen: c.seenVersion})
	if err != nil {
		return err
	}
	defer func() {
		// Remembered once committed (or when nothing changed), so a
		// failed commit that the user resets is not taken for a rollback.
		if id, v := e.SignedState(); len(dir.Changed()) == 0 {
			c.recordSeen(id, v)
		}
	}()
	op, args, err := e.Pending()
	if err != nil {
		return err
	}
	if op != "" {
		c.warnf("finishing the interrupted %s first", op)
		if _, err := e.Repair(); err != nil {
			return err
		}
		if err := c.commit(root, dir, "agent-vault: finish "+op); err != nil {
			return err
		}
		if err := e.Finish(); err != nil {
			return err
		}
		if op == spec.op && slices.Equal(args, spec.args) {
			c.printf("Completed the interrupted %s.\n", op)
			return errSameOp
		}
	}
	if err := fn(e); err != nil {
		return err
	}
	if err := c.commit(root, dir, "agent-vault: "+msg); err != nil {
		return err
	}
	return e.Finish()
}

// errSameOp tells a command that repair already finished its work.
var errSameOp = errors.New("interrupted operation completed")

// finished reports whether edit returned because repair completed the
// command, which is success.
func finished(err error) error {
	if errors.Is(err, errSameOp) {
		return nil
	}
	return err
}

// commit records the vault files dir changed since the last commit.
func (c *ctx) commit(root string, dir *osfs.Dir, msg string) error {
	var paths []string
	for _, name := range dir.Changed() {
		if !core.LocalOnly(name) {
			paths = append(paths, filepath.ToSlash(filepath.Join(core.DirName, name)))
		}
	}
	dir.ResetChanged()
	if len(paths) == 0 {
		return nil
	}
	if err := (gitx.Repo{Dir: root}).Commit(context.Background(), msg, paths); err != nil {
		return &core.Error{Code: core.CodeConflict, Msg: "the vault changed on disk but the git commit failed", Err: err,
			Hint: "fix the problem, then commit the .agent-vault changes yourself"}
	}
	return nil
}

// progress returns a progress callback that draws on a terminal only.
func (c *ctx) progress() func(done, total int) {
	if !c.env.StderrIsTerminal {
		return nil
	}
	var mu sync.Mutex
	var last time.Time
	return func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if done != total && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		const width = 30
		filled := width * done / max(total, 1)
		bar := make([]byte, width)
		for i := range bar {
			bar[i] = '.'
			if i < filled {
				bar[i] = '#'
			}
		}
		fmt.Fprintf(c.env.Stderr, "\rre-encrypting [%s] %d/%d", bar, done, total)
		if done == total {
			fmt.Fprintln(c.env.Stderr)
		}
	}
}
