// Package reader is the one lifecycle every agent-vault reader shares: the
// CLI's get and list, the MCP server, and through the WebAssembly module
// the Python, Node and browser bindings. It finds the vault, clones a Git
// URL into ~/.agent-vault/cache, fast-forwards before a read, reopens when
// HEAD moves, and resolves and parses the key once. It does no I/O of its
// own: everything goes through a Host (docs/architecture.md, "The reader").
package reader

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/core"
)

// Options say which vault to read and how. The zero value reads the vault
// around Cwd with the default key and never pulls.
type Options struct {
	// Repo is a local path or a Git URL. Empty means: search Cwd and its
	// parents for .agent-vault, as git searches for .git.
	Repo string
	// Cwd resolves a relative Repo and is where an empty Repo is sought.
	Cwd string
	// Home is the user's home directory: the default key, the clone cache
	// and the reader's state live under Home/.agent-vault.
	Home string
	// Key names the key explicitly (Path or Text) and carries the value of
	// AGENT_VAULT_KEY (Env). Home is filled in from Options.Home.
	Key core.KeySpec
	// MetadataOnly opens without a key: listings work, a get does not.
	MetadataOnly bool
	// KeyOptional opens for metadata only when no key is configured at
	// all (no explicit key, no AGENT_VAULT_KEY, no owner key file), as a
	// listing wants; a configured key that cannot be used is still an
	// error.
	KeyOptional bool
	// AutoPull fast-forwards from the upstream before every get and list
	// (at most once per PullInterval).
	AutoPull bool
	// PullInterval is the least time between two pulls; zero pulls before
	// every read. Open itself does not pull, so a process that opens and
	// reads once talks to the remote once.
	PullInterval time.Duration
	// Owner is the owner's verification key (avowner1...), given
	// explicitly or from AGENT_VAULT_OWNER. Without it the reader uses the
	// pin file beside the key file, the owner key itself, or trusts the
	// key the vault names on first use (docs/architecture.md §10).
	Owner string
	// Seen is a signed state the caller already knows of; anything older
	// is refused, as is what the reader remembers under Home.
	Seen *Seen
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Reader is an open vault with its identity, kept in step with its Git
// repository. It is not safe for concurrent use: callers serialise calls
// (every binding and the MCP server do).
type Reader struct {
	host Host
	opts Options
	// shown is the repository as the user gave it, credentials removed,
	// for messages.
	shown string
	// dir is the local repository directory; remote the URL it mirrors.
	dir, remote string
	// git is true when dir is the top of a Git work tree; upstream when
	// its branch tracks one.
	git, upstream bool
	head          string
	id            *core.Identity
	// probed is set once probeGit ran; until then git, upstream and the
	// HEAD the open state was read at are unknown.
	probed bool
	// keyPath is the key file in use, where the pin file sits beside.
	keyPath string
	session *core.Session
	// reading is session reading through trusted.
	reading *core.Session
	vault   *core.Vault
	// trusted is the verified signed state of vault.
	trusted *core.Trust

	// pinFile is the pin found beside the key file, read once.
	pinFile                        string
	pinRead                        bool
	warnedUnsigned, warnedFirstUse bool

	lastPull    time.Time
	pulled      bool
	pullFailing bool
	warnings    []string
	lockState
}

// Open finds the vault, clones or pulls it as the options ask, parses the
// key once and opens the vault. Every error it returns has credentials of a
// URL removed.
func Open(ctx context.Context, host Host, opts Options) (*Reader, error) {
	r, err := open(ctx, host, opts)
	return r, core.RedactError(err)
}

func open(ctx context.Context, host Host, opts Options) (*Reader, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Reader{host: host, opts: opts, shown: core.RedactURL(opts.Repo)}
	if err := r.locate(); err != nil {
		return nil, err
	}
	if !opts.MetadataOnly {
		id, err := r.loadIdentity()
		switch {
		case err == nil:
			r.id = id
		case !opts.KeyOptional || !noKeyConfigured(err):
			return nil, err
		}
	}
	if err := r.ensureClone(ctx); err != nil {
		return nil, err
	}
	// Only a reader that pulls needs Git before its first read; any other
	// asks Git when a read fails (stale), so a one-shot get runs no git.
	if opts.AutoPull {
		r.probeGit(ctx)
	}
	if err := r.reopen(); err != nil {
		return nil, err
	}
	return r, nil
}

// locate maps Options.Repo to a local directory, cloning a URL on first
// use, and makes sure the directory holds a vault.
func (r *Reader) locate() error {
	repo := r.opts.Repo
	if repo == "" {
		return r.search()
	}
	if !core.IsRemote(repo) && !filepath.IsAbs(repo) && !strings.HasPrefix(repo, "~") {
		repo = filepath.Join(r.opts.Cwd, repo)
	}
	loc, err := core.Locate(repo, r.opts.Home)
	if err != nil {
		return err
	}
	r.dir, r.remote = filepath.Clean(loc.Dir), loc.Remote
	if r.remote != "" {
		return nil // checked once the clone is there
	}
	return r.checkDir()
}

// checkDir makes sure the repository directory holds a vault.
func (r *Reader) checkDir() error {
	switch kind := r.kind(r.dir); {
	case kind == "":
		return core.Errorf(core.CodeVaultNotFound, "repository %s does not exist", r.shown).
			WithHint("pass the path or URL of the secrets repository")
	case kind != "dir":
		return core.Errorf(core.CodeVaultNotFound, "repository %s is not a directory", r.shown)
	}
	// A path may name the .agent-vault directory itself.
	if filepath.Base(r.dir) == core.DirName {
		r.dir = filepath.Dir(r.dir)
	}
	if r.kind(filepath.Join(r.dir, core.DirName)) == "" {
		return core.Errorf(core.CodeVaultNotFound, "no %s directory in %s", core.DirName, r.shown).
			WithHint("run 'agent-vault init' there first, or pass the repository that holds the vault")
	}
	return nil
}

// search finds the nearest directory at or above Cwd holding .agent-vault.
func (r *Reader) search() error {
	if r.opts.Cwd == "" {
		return core.Errorf(core.CodeInvalidInput, "no repository given")
	}
	for dir := filepath.Clean(r.opts.Cwd); ; dir = filepath.Dir(dir) {
		if r.kind(filepath.Join(dir, core.DirName)) == "dir" {
			r.dir = dir
			r.shown = dir
			return nil
		}
		if filepath.Dir(dir) == dir {
			return core.Errorf(core.CodeVaultNotFound, "not inside a vault (no %s directory in %s or above)", core.DirName, r.opts.Cwd).
				WithHint("run 'agent-vault init' in a Git repository, or name the repository")
		}
	}
}

// kind is "dir", "file", "symlink" or "other" for what is at p (not
// following a symlink), or "" when nothing is.
func (r *Reader) kind(p string) string {
	fi, err := fs.Lstat(r.host.FS(filepath.Dir(p)), filepath.Base(p))
	switch {
	case err != nil:
		return ""
	case fi.Mode()&fs.ModeSymlink != 0:
		return "symlink"
	case fi.IsDir():
		return "dir"
	case fi.Mode().IsRegular():
		return "file"
	}
	return "other"
}

// loadIdentity resolves the key by core's one rule and parses it once.
func (r *Reader) loadIdentity() (*core.Identity, error) {
	spec := r.opts.Key
	spec.Home = r.opts.Home
	return core.LoadIdentity(spec, func(p string) ([]byte, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.opts.Cwd, p)
		}
		r.keyPath = p
		return r.host.ReadFile(p, keyFileLimit)
	})
}

// noKeyConfigured tells "there is no key anywhere" from a key that is
// there but unusable: core classifies the first as vault_not_found.
func noKeyConfigured(err error) bool { return core.CodeOf(err) == core.CodeVaultNotFound }

// keyFileLimit bounds a key file; a real one is under 100 bytes.
const keyFileLimit = 64 << 10

// reopen reads the vault afresh and starts a new session on it with the
// same identity; its signature is verified on the first read (verified).
func (r *Reader) reopen() error {
	v, err := core.Open(r.host.FS(r.dir))
	if err != nil {
		return err
	}
	r.vault, r.trusted, r.session, r.reading = v, nil, nil, nil
	if r.id != nil {
		r.session = v.WithIdentity(r.id)
	}
	return nil
}

// verified makes sure the owner's signature over the open state was
// checked, once per state, before anything is read from it. It runs on
// the first read rather than at open, so a reader that pulls first
// verifies what it pulled, not the older state it started from.
func (r *Reader) verified() error {
	if r.trusted != nil {
		return nil
	}
	t, err := r.trust(r.vault)
	if err != nil {
		return err
	}
	r.trusted = t
	if r.session != nil {
		r.reading = r.session.WithTrust(t)
	}
	return nil
}

// Dir is the local repository directory: the clone, for a URL.
func (r *Reader) Dir() string { return r.dir }

// Identity names who reads: "owner", an agent's name, or "" for a key the
// vault does not know or no key at all; and the key's public recipient.
func (r *Reader) Identity() (name, recipient string) {
	if r.session == nil {
		return "", ""
	}
	return r.session.Name(), r.session.Recipient()
}

// IsOwner reports whether the reader holds the owner key.
func (r *Reader) IsOwner() bool { return r.session != nil && r.session.IsOwner() }

// Warnings returns the warnings gathered since the last call: problems
// that did not stop a read, such as an unreachable remote. Each is reported
// once per streak of the same failure.
func (r *Reader) Warnings() []string {
	w := r.warnings
	r.warnings = nil
	return w
}

func (r *Reader) warn(msg string) { r.warnings = append(r.warnings, core.RedactURL(msg)) }

// Get decrypts one secret after bringing the repository up to date. The
// caller owns the returned bytes and should clear them.
func (r *Reader) Get(ctx context.Context, secret string) ([]byte, error) {
	if r.session == nil {
		return nil, core.Errorf(core.CodeInvalidKey, "the vault was opened without a key").
			WithHint("open it with a key to read values")
	}
	defer r.unlock()
	if err := r.refresh(ctx); err != nil {
		return nil, core.RedactError(err)
	}
	value, err := r.get(secret)
	if err != nil && r.stale(ctx) {
		// A commit landed since the last look (a local agent-vault command
		// without a pull): read again from the new state.
		value, err = r.get(secret)
	}
	return value, core.RedactError(err)
}

func (r *Reader) get(secret string) ([]byte, error) {
	if err := r.verified(); err != nil {
		return nil, err
	}
	return r.reading.Get(secret)
}

// ListOptions narrow a listing.
type ListOptions struct {
	// Group lists one group only.
	Group string
	// All lists every secret's metadata, not only those this key can read.
	All bool
}

// List returns the metadata of the secrets this key can read (see
// core.Session.CanRead), sorted by name, after bringing the repository up
// to date. Without a key, or with All, it lists every secret.
func (r *Reader) List(ctx context.Context, o ListOptions) ([]*core.Metadata, error) {
	defer r.unlock()
	if err := r.refreshPolicy(ctx); err != nil {
		return nil, core.RedactError(err)
	}
	if err := r.verified(); err != nil {
		return nil, core.RedactError(err)
	}
	metas, err := r.trusted.List(o.Group)
	if err != nil {
		return nil, core.RedactError(err)
	}
	if o.All || r.session == nil {
		return nonNil(metas), nil
	}
	out := make([]*core.Metadata, 0, len(metas))
	for _, m := range metas {
		if r.session.CanRead(m) {
			out = append(out, m)
		}
	}
	return out, nil
}

func nonNil(m []*core.Metadata) []*core.Metadata {
	if m == nil {
		return []*core.Metadata{}
	}
	return m
}

// Policy is the vault's agents and groups, for list-agents.
type Policy struct {
	Agents []core.AgentInfo `json:"agents"`
	Groups []core.GroupInfo `json:"groups"`
}

// Agents returns the agents and groups, after bringing the repository up
// to date.
func (r *Reader) Agents(ctx context.Context) (*Policy, error) {
	defer r.unlock()
	if err := r.refreshPolicy(ctx); err != nil {
		return nil, core.RedactError(err)
	}
	if err := r.verified(); err != nil {
		return nil, core.RedactError(err)
	}
	agents, err := r.trusted.Agents()
	if err != nil {
		return nil, core.RedactError(err)
	}
	groups, err := r.vault.Groups()
	if err != nil {
		return nil, core.RedactError(err)
	}
	return &Policy{Agents: agents, Groups: groups}, nil
}

// Check runs the read-only audit on the current state.
func (r *Reader) Check(ctx context.Context, now time.Time) ([]core.Finding, error) {
	defer r.unlock()
	if err := r.refreshPolicy(ctx); err != nil {
		return nil, core.RedactError(err)
	}
	f, err := r.vault.Check(core.CheckOptions{Now: now})
	if f == nil {
		f = []core.Finding{}
	}
	return f, core.RedactError(err)
}

// Pull fast-forwards from the upstream now, whatever the interval, and
// reopens the vault if HEAD moved. Unlike the pulls before a read, a
// failure is returned, not warned about.
func (r *Reader) Pull(ctx context.Context) error {
	if !r.probed {
		r.probeLate(ctx)
	}
	if !r.git || !r.upstream {
		return core.Errorf(core.CodeConflict, "%s does not track an upstream branch", r.shown).
			WithHint("set one with 'git branch --set-upstream-to', or clone the repository")
	}
	defer r.unlock()
	if err := r.lock(ctx, true); err != nil {
		return core.RedactError(err)
	}
	if err := r.pullNow(ctx); err != nil {
		return core.RedactError(err)
	}
	return core.RedactError(r.followHead(ctx))
}

// Reload re-reads the vault from disk, as after a change Git did not make.
func (r *Reader) Reload() error {
	if r.git {
		r.head = ""
	}
	defer r.unlock()
	if err := r.lock(context.Background(), false); err != nil {
		return core.RedactError(err)
	}
	return core.RedactError(r.reopen())
}
