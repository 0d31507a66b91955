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
	owner, created, err := c.ensureOwnerKey(keyPath)
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
	if err := core.InitSigned(d, name, owner); err != nil {
		return err
	}
	pin, err := core.OwnerVerificationKey(owner)
	if err != nil {
		return err
	}
	hook, err := installHook(ctx, dir)
	if err != nil {
		return err
	}
	if err := c.commit(dir, d, "agent-vault: init vault"); err != nil {
		return err
	}
	if v, err := core.Open(d); err == nil {
		if t, err := v.LoadTrust(pin); err == nil {
			c.recordSeen(t.VaultID(), t.Version())
		}
	}
	c.printf("Initialised a vault in %s\n", vaultDir)
	c.printf("Pre-commit hook: %s\n", hook)
	if created {
		c.printf("Owner key: %s (new)\n", keyPath)
	} else {
		c.printf("Owner key: %s (existing key reused)\n", keyPath)
	}
	c.printf("Owner verification key: %s (fingerprint %s)\n", pin, core.Fingerprint(pin))
	c.warnf("the owner key is the master recovery key for every secret and agent; back up %s somewhere safe and offline", keyPath)
	return nil
}

// ensureOwnerKey reuses the owner key at path or creates it. It returns the
// key and whether it is new.
func (c *ctx) ensureOwnerKey(path string) (*core.Identity, bool, error) {
	data, err := c.readKey(path)
	if errors.Is(err, keyfile.ErrTooOpen) {
		return nil, false, err
	}
	if err == nil {
		id, err := core.ParseIdentity(data)
		clear(data)
		if err != nil {
			return nil, false, fmt.Errorf("existing owner key %s is unusable: %w", path, err)
		}
		return id, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, &core.Error{Code: core.CodeInvalidKey, Msg: "failed to read owner key", Err: err}
	}
	key, _, err := core.NewKey()
	if err != nil {
		return nil, false, err
	}
	defer clear(key)
	if err := osfs.WriteKeyFile(path, key); err != nil {
		return nil, false, err
	}
	id, err := core.ParseIdentity(key)
	return id, true, err
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
