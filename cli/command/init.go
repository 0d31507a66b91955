package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/gitx"
	"github.com/agent-vault/agent-vault/internal/keyfile"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

func init() {
	register(&command{
		name: "init", args: "[dir]", maxArgs: 1,
		summary: "create a vault in a Git repository",
		details: `Creates .agent-vault/ (config.yaml, owner.pub, manifest.yaml, .gitignore) in dir
(default: the current directory), which must be inside a Git repository.

The owner key is generated at ~/.agent-vault/owner.key (mode 0600). If that
file already exists it is reused, never overwritten. A pre-commit hook that
blocks private keys is installed, chained with any existing hook, and the new
vault is committed. Back up the owner key: it is the master recovery key.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.StringVar(&o.owner, "owner", "", "owner name recorded in the manifest (default: $USER)")
			insecureKeyFlag(fs, o)
		},
		run: runInit,
	})
}

func runInit(c *ctx, args []string) error {
	dir := c.env.Dir
	if len(args) == 1 {
		dir = args[0]
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(c.env.Dir, dir)
		}
	}
	home, err := c.home()
	if err != nil {
		return err
	}
	name := c.o.owner
	if name == "" {
		name = c.env.Getenv("USER")
	}
	if name == "" || core.ValidateName("owner", name) != nil {
		name = "owner"
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("%s is not a directory", dir)}
	}
	ctx := context.Background()
	if _, err := gitx.Toplevel(ctx, dir); err != nil {
		return &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("%s is not inside a Git repository", dir),
			Hint: fmt.Sprintf("run 'git init %s' first (and add a remote to sync it)", dir)}
	}
	vaultDir := filepath.Join(dir, core.DirName)
	if vaultExists(vaultDir) {
		return &core.Error{Code: core.CodeConflict, Msg: "vault already initialised in " + dir,
			Hint: "use the existing vault; 'agent-vault list' shows its secrets"}
	}
	keyPath := core.OwnerKeyPath(home)
	recipient, created, err := c.ensureOwnerKey(keyPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(vaultDir, 0o755); err != nil {
		return fmt.Errorf("failed to create %s: %w", vaultDir, err)
	}
	d, err := osfs.Open(vaultDir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := core.Init(d, name, recipient); err != nil {
		return err
	}
	hook, err := installHook(ctx, dir)
	if err != nil {
		return err
	}
	if err := c.commit(dir, d, "agent-vault: init vault"); err != nil {
		return err
	}
	c.printf("Initialised a vault in %s\n", vaultDir)
	c.printf("Pre-commit hook: %s\n", hook)
	if created {
		c.printf("Owner key: %s (new)\n", keyPath)
	} else {
		c.printf("Owner key: %s (existing key reused)\n", keyPath)
	}
	c.warnf("the owner key is the master recovery key for every secret and agent; back up %s somewhere safe and offline", keyPath)
	return nil
}

// ensureOwnerKey reuses the owner key at path or creates it. It returns the
// public key and whether the key is new.
func (c *ctx) ensureOwnerKey(path string) (string, bool, error) {
	data, err := c.readKey(path)
	if errors.Is(err, keyfile.ErrTooOpen) {
		return "", false, err
	}
	if err == nil {
		id, err := core.ParseIdentity(data)
		clear(data)
		if err != nil {
			return "", false, fmt.Errorf("existing owner key %s is unusable: %w", path, err)
		}
		return id.Recipient(), false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, &core.Error{Code: core.CodeInvalidKey, Msg: "failed to read owner key", Err: err}
	}
	key, recipient, err := core.NewKey()
	if err != nil {
		return "", false, err
	}
	defer clear(key)
	if err := osfs.WriteKeyFile(path, key); err != nil {
		return "", false, err
	}
	return recipient, true, nil
}

// vaultExists reports whether dir already holds a vault, complete or not.
func vaultExists(dir string) bool {
	for _, f := range []string{"config.yaml", "manifest.yaml", "owner.pub"} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}
