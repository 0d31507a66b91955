package command

import (
	"context"
	"time"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/internal/oshost"
)

// readTimeout bounds a read command, clone and pull included, so an
// unreachable remote cannot hang a script.
const readTimeout = 2 * time.Minute

// readMode says what key a read command needs.
type readMode int

const (
	needKey     readMode = iota // get, run, export: a value is decrypted
	optionalKey                 // list: filtered by the key when one is configured
	noKey                       // list-agents: metadata only
)

// readFlags are the flags of every command that reads through the reader.
func readFlags(fs *pflag.FlagSet, o *opts) {
	fs.BoolVar(&o.noPull, "no-pull", false, "do not fast-forward from the upstream first")
	fs.StringVar(&o.pin, "owner", "", "the owner's verification key (avowner1...) to verify the vault with (default: $"+core.OwnerKeyEnv+
		", else the .owner file beside the key file, else trust the vault's own key on first use)")
}

// openReader opens the vault through the reader every language shares,
// with --repo, --key, AGENT_VAULT_KEY and --no-pull, and prints what it
// warned about.
func (c *ctx) openReader(ctx context.Context, mode readMode) (*reader.Reader, error) {
	home, _ := c.home()
	r, err := reader.Open(ctx, oshost.Host{InsecureKeyPerms: c.o.insecureKeyPerms}, reader.Options{
		Repo:         c.o.repo,
		Cwd:          c.env.Dir,
		Home:         home,
		Key:          core.KeySpec{Path: c.o.key, Env: c.env.Getenv(core.KeyEnv)},
		MetadataOnly: mode == noKey,
		KeyOptional:  mode == optionalKey,
		AutoPull:     !c.o.noPull,
		Owner:        firstNonEmpty(c.o.pin, c.env.Getenv(core.OwnerKeyEnv)),
	})
	if err != nil {
		return nil, err
	}
	c.readerWarnings(r)
	return r, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// readerWarnings prints the reader's warnings to stderr.
func (c *ctx) readerWarnings(r *reader.Reader) {
	for _, w := range r.Warnings() {
		c.warnf("%s", w)
	}
}

// readValue decrypts one secret through the reader. The caller clears it.
func (c *ctx) getValue(ctx context.Context, r *reader.Reader, secret string) ([]byte, error) {
	value, err := r.Get(ctx, secret)
	c.readerWarnings(r)
	return value, err
}
