package command

import (
	"os"

	"github.com/agent-vault/agent-vault/core"
)

// readSession opens the vault to decrypt secrets as the caller's key, the
// way get reads: one fast-forward from the upstream (unless --no-pull),
// the key by the one resolution rule, then the vault as it is on disk.
// run and export read every value they need through the one session it
// returns, so a command that decrypts several secrets still pulls once.
func (c *ctx) readSession() (*core.Session, error) {
	root, err := c.root()
	if err != nil {
		return nil, err
	}
	if !c.o.noPull {
		c.pull(root)
	}
	id, err := c.identity()
	if err != nil {
		return nil, err
	}
	v, err := core.Open(os.DirFS(root))
	if err != nil {
		return nil, err
	}
	return v.WithIdentity(id), nil
}
