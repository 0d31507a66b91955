package core

import (
	"runtime"
	"slices"
	"time"

	"filippo.io/age"
)

// EditOptions configures an Editor.
type EditOptions struct {
	// Owner is the owner's identity. Operations that re-encrypt existing
	// secrets need it; set and add-agent do not.
	Owner *Identity
	// Now returns the current time; defaults to time.Now.
	Now func() time.Time
	// Workers is how many secrets are encrypted at once; defaults to
	// GOMAXPROCS. 1 works through them one by one.
	Workers int
	// Progress, if set, is called as bulk work advances.
	Progress func(done, total int)
	// KeepJournal leaves the journal of a finished operation in place
	// until Finish is called. A caller that records each change (the CLI
	// commits it) sets it, so a crash before that record is still reported
	// by check and completed by Repair.
	KeepJournal bool
	// Local is the clone's own state directory, outside the working tree
	// (the CLI uses .git/agent-vault), where the journal of a multi-file
	// operation lives. Nothing in it is ever committed, so nobody who can
	// push can plant a journal. Without it operations are not journaled.
	Local WriteFS
	// Seen, if set, returns the highest signed version of a vault (by id)
	// this owner has already seen or signed. An older signed state is a
	// rollback (say, a pre-revoke tree committed again) and is refused.
	// The caller records new versions once they are committed (see
	// SignedState).
	Seen func(vaultID string) uint64
}

// Editor applies owner operations to a vault. The caller must hold the
// vault lock for the Editor's whole life, so the manifest it read stays
// current.
type Editor struct {
	v    *Vault
	w    WriteFS
	opts EditOptions
	// trust is set when the owner key is given: every change is then
	// verified against the owner's signature first and signed after.
	trust *ownerTrust
}

// Edit opens the vault in w (rooted at the .agent-vault directory) for
// mutation.
func Edit(w WriteFS, opts EditOptions) (*Editor, error) {
	v, err := Open(w)
	if err != nil {
		return nil, err
	}
	if _, err := v.policy(); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	e := &Editor{v: v, w: w, opts: opts}
	if opts.Owner != nil {
		if err := e.loadOwnerTrust(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Vault returns the vault being edited.
func (e *Editor) Vault() *Vault { return e.v }

// Manifest returns the policy as it stands, loaded when editing began.
// Callers must not modify it.
func (e *Editor) Manifest() *Manifest { return e.v.manifest }

// Init creates a new vault in w, which is rooted at the (possibly empty)
// .agent-vault directory. It refuses to touch an existing vault.
func Init(w WriteFS, ownerName, ownerRecipient string) error {
	if err := ValidateName("owner", ownerName); err != nil {
		return err
	}
	if _, err := ParseRecipient(ownerRecipient); err != nil {
		return wrap(CodeInvalidKey, err, "invalid owner public key")
	}
	if exists(w, configFile) || exists(w, manifestFile) {
		return errorf(CodeConflict, "vault already initialised").
			withHint("%s already holds a vault; use it, or remove it first", DirName)
	}
	m := &Manifest{Version: 1, Owners: []OwnerEntry{{Name: ownerName, PublicKey: ownerPubFile}},
		Agents: []AgentEntry{}, Groups: []GroupEntry{}}
	mdata, err := m.Marshal()
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{configFile, []byte(configYAML)},
		{ownerPubFile, []byte(ownerRecipient + "\n")},
		{ignoreFile, []byte(ignoreText)},
		// The manifest goes last: its presence marks a complete vault.
		{manifestFile, mdata},
	}
	for _, f := range files {
		if err := writeFile(w, f.name, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ownerRecipient is the owner's public key: derived from the owner key
// when the editor has it (owner.pub in the repository is not trusted),
// otherwise owner.pub, as the original tool uses it.
func (e *Editor) ownerRecipient() (age.Recipient, error) {
	if e.opts.Owner != nil && e.signing() {
		return ParseRecipient(e.opts.Owner.recipient)
	}
	return ParseRecipient(e.v.ownerPub)
}

// requireOwner fails unless an owner identity that matches owner.pub was
// given.
func (e *Editor) requireOwner() error {
	if e.opts.Owner == nil {
		return errorf(CodeInvalidKey, "this operation needs the owner key")
	}
	if e.opts.Owner.recipient != e.v.ownerPub && (e.trust == nil || e.trust.view == nil || e.trust.view.st.owner != e.opts.Owner.recipient) {
		return errorf(CodeInvalidKey, "the key given is not this vault's owner key").
			withHint("use the owner key (~/.agent-vault/owner.key) or pass it with --key")
	}
	return nil
}

// agentExists checks an agent name against the manifest.
func (e *Editor) agent(name string) (*AgentEntry, error) {
	if err := ValidateName("agent", name); err != nil {
		return nil, err
	}
	a := e.v.manifest.Agent(name)
	if a == nil {
		return nil, errorf(CodeInvalidInput, "unknown agent %q", name).withHint("run 'agent-vault list-agents' to see the agents")
	}
	return a, nil
}

// secretsOfGroups lists, without duplicates, the secrets in any of groups.
func (m *Manifest) secretsOfGroups(groups []string) []string {
	var out []string
	for _, g := range m.Groups {
		if slices.Contains(groups, g.Name) {
			out = append(out, g.Secrets...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
