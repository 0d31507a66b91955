//go:build unix

package bench

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

// Names used by the bulk scenario.
const (
	// Newcomer is granted and revoked Group.
	Newcomer = "newcomer"
	// Leaver is removed; it holds Group and four small extra groups.
	Leaver = "agent-000"
	// Loser is recovered with a new key.
	Loser = "agent-001"
)

// BulkAgents and BulkExtra shape the bulk scenario: 20 agents on the main
// group, and the leaver in 5 groups.
const (
	BulkAgents       = 20
	BulkExtraGroups  = 4
	BulkExtraSecrets = 10
)

// Bulk is a vault for owner operations that re-encrypt a whole group.
type Bulk struct {
	V     *Vault
	Home  string
	owner *core.Identity
	vdir  string
	snap  string
}

// NewBulk builds, under dir, a vault with secrets secrets in Group shared
// by BulkAgents agents, plus the extra groups of Leaver and an agent
// (Newcomer) that holds no group yet. The keys go to dir/home as the CLI
// keeps them; a snapshot lets RemoveAgent be undone.
func NewBulk(dir string, secrets int, git bool) (*Bulk, error) {
	repo := filepath.Join(dir, "repo")
	v, err := Make(repo, Spec{Agents: BulkAgents, Secrets: secrets, Size: 64,
		ExtraGroups: BulkExtraGroups, ExtraSecrets: BulkExtraSecrets, Replicate: true})
	if err != nil {
		return nil, err
	}
	b := &Bulk{V: v, Home: filepath.Join(dir, "home"), vdir: filepath.Join(repo, core.DirName), snap: filepath.Join(dir, "snapshot")}
	if b.owner, err = core.ParseIdentity(v.OwnerKey); err != nil {
		return nil, err
	}
	key, _, err := core.NewKey()
	if err != nil {
		return nil, err
	}
	if err := b.edit(0, func(e *core.Editor) error { return e.AddAgent(Newcomer, key) }); err != nil {
		return nil, err
	}
	if err := v.WriteKeys(b.Home); err != nil {
		return nil, err
	}
	if git {
		if err := commitAll(repo); err != nil {
			return nil, err
		}
	}
	if err := linkTree(b.vdir, b.snap); err != nil {
		return nil, err
	}
	return b, nil
}

// edit runs op on a fresh editor, as one CLI command would.
func (b *Bulk) edit(workers int, op func(e *core.Editor) error) error {
	d, err := osfs.Open(b.vdir)
	if err != nil {
		return err
	}
	defer d.Close()
	e, err := core.Edit(d, core.EditOptions{Owner: b.owner, Workers: workers})
	if err != nil {
		return err
	}
	return op(e)
}

// Grant grants Newcomer the main group: every secret of it is re-encrypted.
func (b *Bulk) Grant(workers int) error {
	return b.edit(workers, func(e *core.Editor) error { _, err := e.Grant(Newcomer, Group); return err })
}

// Revoke undoes Grant, re-encrypting the group without Newcomer.
func (b *Bulk) Revoke(workers int) error {
	return b.edit(workers, func(e *core.Editor) error { _, err := e.Revoke(Newcomer, Group); return err })
}

// RemoveAgent removes Leaver, re-encrypting its 5 groups. Restore undoes it.
func (b *Bulk) RemoveAgent(workers int) error {
	return b.edit(workers, func(e *core.Editor) error { _, err := e.RemoveAgent(Leaver); return err })
}

// RecoverAgent gives Loser a new key, re-encrypting its group.
func (b *Bulk) RecoverAgent(workers int) error {
	key, _, err := core.NewKey()
	if err != nil {
		return err
	}
	return b.edit(workers, func(e *core.Editor) error { _, err := e.RecoverAgent(Loser, key); return err })
}

// Restore puts the vault back as NewBulk left it.
func (b *Bulk) Restore() error {
	if err := os.RemoveAll(b.vdir); err != nil {
		return err
	}
	return linkTree(b.snap, b.vdir)
}

// linkTree recreates the tree src at dst with hard links. Core replaces
// files by rename and never writes into one, so a linked snapshot stays
// intact, and taking or restoring it costs no file data.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return os.Link(p, target)
	})
}

// Ops lists the bulk operations, each with the number of secrets it
// re-encrypts. In this order each can run right after the one before, but
// the last (RemoveAgent) must be undone by Restore.
func (b *Bulk) Ops() []BulkOp {
	n := len(b.V.Secrets)
	extra := BulkExtraGroups * BulkExtraSecrets
	return []BulkOp{
		{Name: "grant", Secrets: n, Recipients: n * (BulkAgents + 2), Run: b.Grant},
		{Name: "revoke", Secrets: n, Recipients: n * (BulkAgents + 1), Run: b.Revoke, Setup: b.Grant},
		{Name: "recover-agent", Secrets: n, Recipients: n * (BulkAgents + 1), Run: b.RecoverAgent},
		// The leaver's small groups are left to the owner alone.
		{Name: "remove-agent (5 groups)", Secrets: n + extra, Recipients: n*BulkAgents + extra, Run: b.RemoveAgent},
	}
}

// BulkOp is one owner operation of the bulk scenario.
type BulkOp struct {
	Name    string
	Secrets int
	// Recipients is the number of stanzas written, over all secrets.
	Recipients int
	Run        func(workers int) error
	// Setup, if set, must run first on a restored vault.
	Setup func(workers int) error
}

// CLIArgs returns the agent-vault command line doing the same as op.
func (op BulkOp) CLIArgs() []string {
	switch op.Name {
	case "grant":
		return []string{"grant", Newcomer, Group}
	case "revoke":
		return []string{"revoke", Newcomer, Group}
	case "recover-agent":
		return []string{"recover-agent", Loser}
	}
	return []string{"remove-agent", Leaver}
}

// String names the operation for error messages.
func (op BulkOp) String() string { return fmt.Sprintf("%s (%d secrets)", op.Name, op.Secrets) }

// LoadBulk opens a bulk vault NewBulk made in dir, for another process.
func LoadBulk(dir string) (*Bulk, error) {
	home := filepath.Join(dir, "home")
	key, err := os.ReadFile(core.OwnerKeyPath(home))
	if err != nil {
		return nil, err
	}
	owner, err := core.ParseIdentity(key)
	if err != nil {
		return nil, err
	}
	repo := filepath.Join(dir, "repo")
	return &Bulk{V: &Vault{Repo: repo, OwnerKey: key}, Home: home, owner: owner,
		vdir: filepath.Join(repo, core.DirName), snap: filepath.Join(dir, "snapshot")}, nil
}
