package core

import (
	"encoding/base64"
	"io/fs"
	"slices"
	"sort"
	"time"

	"gopkg.in/yaml.v3"
)

// plan is a multi-file operation written down before it starts. It holds
// the complete target state that contains no secret: the new manifest, the
// public files to write and the files to delete, and which secrets must be
// re-encrypted to the new policy. Its presence after a crash tells check
// that work was left half-done, and Repair finishes it by applying the
// same plan again; every step is idempotent.
type plan struct {
	Op       string            `yaml:"op"`
	Args     []string          `yaml:"args,flow"`
	Started  time.Time         `yaml:"started"`
	Manifest string            `yaml:"manifest"`
	Files    map[string]string `yaml:"files,omitempty"` // name -> base64 content
	Remove   []string          `yaml:"remove,omitempty"`
	Secrets  []string          `yaml:"secrets,omitempty"`
	// Set lists the secrets whose new values the operation writes. Values
	// are never journaled; a secret whose value was not written before a
	// crash is dropped from the manifest again by Repair.
	Set []string `yaml:"set,omitempty"`
	// Vault and Base are the signed state the operation started from, so a
	// repair does not build on a state someone else signed since.
	Vault string `yaml:"vault,omitempty"`
	Base  uint64 `yaml:"base,omitempty"`
	// Buckets are the index files of that state. The interrupted run may
	// have removed them already; a repair removes them again so that its
	// commit records the deletion.
	Buckets []string `yaml:"buckets,omitempty"`
}

// localJournal is the journal's name in the clone-local state directory
// (EditOptions.Local).
const localJournal = "pending.yaml"

// newValue is a secret a set writes, kept out of the journal.
type newValue struct {
	meta  *Metadata
	value []byte
}

// run journals p with target manifest m, applies it, and removes the
// journal. nv holds the values of p.Set, in the same order.
func (e *Editor) run(p plan, m *Manifest, nv []newValue) error {
	if old, err := e.pending(); err != nil {
		return err
	} else if old != nil {
		return errorf(CodeConflict, "an earlier %s did not finish", old.Op).
			withHint("run 'agent-vault check --repair' to complete it first")
	}
	if err := e.requireTrusted(nil); err != nil {
		return err
	}
	// Checked here, before anything is journaled, as a parse would check
	// it: apply uses m as it is.
	if err := m.validate(); err != nil {
		return wrap(CodeInternal, err, "invalid policy")
	}
	// Checked before anything is journaled or written, so a refusal
	// leaves no half-done operation for a repair to finish.
	if err := e.verifySecrets(p.Secrets); err != nil {
		return err
	}
	mdata, err := m.Marshal()
	if err != nil {
		return err
	}
	p.Manifest = string(mdata)
	p.Started = e.opts.Now().UTC().Truncate(time.Second)
	if e.signing() {
		p.Vault, p.Base = e.trust.view.st.vaultID, e.trust.view.st.version
		p.Buckets = e.trust.view.st.bucketFiles()
	}
	data, err := yaml.Marshal(&p)
	if err != nil {
		return wrap(CodeInternal, err, "failed to encode journal")
	}
	u, err := e.snapshot(&p, nv)
	if err != nil {
		return err
	}
	if e.opts.Local != nil {
		if err := writeFile(e.opts.Local, localJournal, data, 0o600); err != nil {
			return err
		}
	}
	if err := e.applyAndSign(&p, m, nv); err != nil {
		if e.undoable(&p, err) {
			return e.rollback(u, err)
		}
		return err
	}
	return nil
}

// applyAndSign applies a plan and, with the owner key, signs the state
// it leaves before the journal goes.
func (e *Editor) applyAndSign(p *plan, m *Manifest, nv []newValue) error {
	if err := e.planFiles(p); err != nil {
		return err
	}
	old := e.v.manifest
	mdata, err := e.apply(p, m, nv)
	if err != nil {
		return err
	}
	if e.signing() {
		if err := e.signAfter(p, old, e.v.manifest, mdata); err != nil {
			return err
		}
	}
	return e.done()
}

// done ends an operation: the journal goes, unless the caller asked to
// remove it itself with Finish.
func (e *Editor) done() error {
	if e.opts.KeepJournal {
		return nil
	}
	return e.Finish()
}

// Finish removes the journal of a completed operation. Only callers that
// set EditOptions.KeepJournal need it.
func (e *Editor) Finish() error {
	if e.opts.Local == nil {
		return nil
	}
	return removeFile(e.opts.Local, localJournal)
}

// apply brings the vault to the state p describes. m is the manifest p
// holds, already parsed, or nil when repairing from the journal alone. It
// returns the manifest's bytes as written.
func (e *Editor) apply(p *plan, m *Manifest, nv []newValue) ([]byte, error) {
	// The journal covers a crash here whatever order the writes reach the
	// disk in, so they need to be durable only before it goes: one sync
	// per directory at the end instead of one per file.
	if d, ok := e.w.(dirSyncDeferrer); ok {
		d.DeferDirSyncs()
		defer d.SyncDirs()
	}
	// The journal holds the manifest's encoding: write that rather than
	// encode it again, a cost that grows with the vault.
	mdata := []byte(p.Manifest)
	secrets := slices.Clone(p.Secrets)
	if m == nil { // repairing: keep what was written, drop what was not
		var err error
		if m, err = ParseManifest(mdata); err != nil {
			return nil, wrap(CodeCorruptVault, err, "invalid journal")
		}
		// A secret with no ciphertext has nothing to re-encrypt; check
		// reports it as missing. Insisting on it would leave the
		// operation unfinishable.
		secrets = slices.DeleteFunc(secrets, func(s string) bool { return !exists(e.v.fsys, findEncFile(e.v.fsys, s)) })
		groupOf := m.groupIndex()
		dropped := false
		for _, s := range p.Set {
			if exists(e.v.fsys, findEncFile(e.v.fsys, s)) {
				secrets = append(secrets, s)
			} else if g := m.Group(groupOf[s]); g != nil {
				g.Secrets = slices.DeleteFunc(g.Secrets, func(x string) bool { return x == s })
				dropped = true
			}
		}
		if dropped {
			if mdata, err = m.Marshal(); err != nil {
				return nil, err
			}
		}
	}
	if err := writeFile(e.w, manifestFile, mdata, 0o644); err != nil {
		return nil, err
	}
	e.v.manifest = m
	names := make([]string, 0, len(p.Files))
	for name := range p.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := base64.StdEncoding.DecodeString(p.Files[name])
		if err != nil {
			return nil, wrap(CodeCorruptVault, err, "invalid journal")
		}
		if err := writeFile(e.w, name, data, 0o644); err != nil {
			return nil, err
		}
	}
	if err := e.writeValues(nv); err != nil {
		return nil, err
	}
	if err := e.reencrypt(secrets); err != nil {
		return nil, err
	}
	for _, name := range p.Remove {
		if err := removeFile(e.w, name); err != nil {
			return nil, err
		}
	}
	return mdata, nil
}

// pending returns the journal of an unfinished operation, or nil.
func (e *Editor) pending() (*plan, error) {
	if e.opts.Local == nil {
		return nil, nil
	}
	return readJournal(e.opts.Local)
}

// readJournal reads the journal in a clone-local state directory, or nil.
func readJournal(local fs.FS) (*plan, error) {
	if local == nil || !exists(local, localJournal) {
		return nil, nil
	}
	data, err := readFile(local, localJournal, maxYAMLSize)
	if err != nil {
		return nil, classifyRead(err, CodeCorruptVault, "failed to read journal")
	}
	var p plan
	if err := decodeYAML(data, &p); err != nil {
		return nil, wrap(CodeCorruptVault, err, "failed to parse the journal")
	}
	// The operation and its arguments are only shown and compared, never
	// acted on; a tampered journal must not put escapes on a terminal.
	if err := ValidateName("operation", p.Op); err != nil {
		return nil, wrap(CodeCorruptVault, err, "invalid journal")
	}
	for i, a := range p.Args {
		p.Args[i] = SafeText(a)
	}
	for _, s := range append(slices.Clone(p.Secrets), p.Set...) {
		if err := ValidateSecretPath(s); err != nil {
			return nil, wrap(CodeCorruptVault, err, "invalid journal")
		}
	}
	for name := range p.Files {
		if err := checkJournalFile(name); err != nil {
			return nil, err
		}
	}
	for _, name := range p.Remove {
		if err := checkJournalFile(name); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// checkJournalFile allows a journal to name only agent key files, so a
// tampered journal cannot direct writes anywhere else.
func checkJournalFile(name string) error {
	dir, file, ok := cutAgentFile(name)
	if !ok || ValidateName("agent", dir) != nil ||
		(file != "" && file != "public.key" && file != "private.key.escrow") {
		return errorf(CodeCorruptVault, "journal names an unexpected file %q", clip(name))
	}
	return nil
}

// cutAgentFile splits "agents/<name>[/<file>]".
func cutAgentFile(name string) (agent, file string, ok bool) {
	const prefix = agentsDir + "/"
	if len(name) <= len(prefix) || name[:len(prefix)] != prefix {
		return "", "", false
	}
	rest := name[len(prefix):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			return rest[:i], rest[i+1:], true
		}
	}
	return rest, "", true
}

// Pending names an unfinished operation and its arguments, or returns ""
// when none is pending.
func (e *Editor) Pending() (op string, args []string, err error) {
	p, err := e.pending()
	if err != nil || p == nil {
		return "", nil, err
	}
	return p.Op, p.Args, nil
}

// legacyJournal reports whether the vault directory holds a journal where
// agent-vault kept it before it moved out of the working tree. It is never
// applied: anyone who can push could have committed it.
func (v *Vault) legacyJournal() bool { return exists(v.fsys, journalFile) }

// Repair finishes an interrupted operation by applying its plan again. It
// returns the name of the operation repaired, or "" if none was pending.
func (e *Editor) Repair() (string, error) {
	if err := e.removeTempFiles(); err != nil {
		return "", err
	}
	p, err := e.pending()
	if err != nil || p == nil {
		return "", err
	}
	if err := e.requireOwner(); err != nil {
		return "", err
	}
	if err := e.trustRepair(p); err != nil {
		return "", err
	}
	return p.Op, e.applyAndSign(p, nil, nil)
}

// removeTempFiles deletes temporary files an interrupted write left
// behind. The caller holds the vault lock, so none belongs to a live writer.
func (e *Editor) removeTempFiles() error {
	var temps []string
	fs.WalkDir(e.v.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && isTempFile(d.Name()) {
			temps = append(temps, p)
		}
		return nil
	})
	for _, p := range temps {
		if err := removeFile(e.w, p); err != nil {
			return err
		}
	}
	return nil
}

// encodeFiles prepares public files for a plan.
func encodeFiles(files map[string][]byte) map[string]string {
	out := make(map[string]string, len(files))
	for k, v := range files {
		out[k] = base64.StdEncoding.EncodeToString(v)
	}
	return out
}
