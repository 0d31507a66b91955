package core

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ownerTrust is what an editor holding the owner key knows about the
// vault's signed state: the verified record, the files that no longer
// match it, and the digests of what the current operation wrote, from
// which the next state is signed.
type ownerTrust struct {
	signer *signer
	view   *signedView // nil when the vault was never signed
	// broken is why the signed state cannot be used at all (unreadable,
	// forged, another owner's), nil if it can.
	broken error
	// drift maps each top-level file that differs from the signed state to
	// "changed", "missing" or "not signed".
	drift map[string]string

	// repairing holds the secrets a repair finishes (see trustRepair).
	repairing map[string]bool
	// planned holds the digests of the files the running operation's plan
	// writes: the owner's own, trusted before they are signed.
	planned map[string]digest
	// gone are bucket files of an earlier state that must not survive the
	// next signature, even if already deleted (see plan.Buckets).
	gone []string

	mu      sync.Mutex
	touched map[string]entry
}

// loadOwnerTrust verifies the vault's signed state with the owner's own
// key, before any public key from the repository is used.
func (e *Editor) loadOwnerTrust() error {
	k, err := ownerSigner(e.opts.Owner)
	if err != nil {
		return err
	}
	ot := &ownerTrust{signer: k, drift: map[string]string{}, touched: map[string]entry{}}
	e.trust = ot
	st, err := readState(e.v.fsys)
	switch {
	case err != nil:
		ot.broken = wrap(CodeOf(err), err, "the vault's signed state is unusable").
			withHint("restore the last good one from Git history (git log -- %s/%s)", DirName, stateFile)
		return nil
	case st == nil:
		if e.opts.Owner.recipient != e.v.ownerPub {
			ot.broken = errorf(CodeInvalidKey, "the key given is not this vault's owner key").
				withHint("use the owner key (~/.agent-vault/owner.key) or pass it with --key")
		}
		return nil
	case st.owner != e.opts.Owner.recipient:
		ot.broken = errorf(CodeInvalidKey, "the key given is not this vault's owner key (the owner signed the vault with another key)").
			withHint("use the owner key (~/.agent-vault/owner.key) or pass it with --key")
		return nil
	case !sameKey(st.signer, k.pub):
		ot.broken = errorf(CodeUntrusted, "%s/%s is signed by key %s, which is not derived from your owner key (%s)",
			DirName, stateFile, fingerprint(st.signer), fingerprint(k.pub)).
			withHint("someone forged the signed state: restore the last good one from Git history (git checkout <commit> -- %s/%s)", DirName, signedDir)
		return nil
	}
	if e.opts.Seen != nil {
		if seen := e.opts.Seen(st.vaultID); st.version < seen {
			ot.broken = errorf(CodeUntrusted, "the vault's signed state is version %d, older than version %d you already signed: it was rolled back", st.version, seen).
				withHint("find the commit that brought back the old state ('git log -- %s/%s') and revert it", DirName, stateFile)
			return nil
		}
	}
	ot.view = newSignedView(e.v.fsys, st)
	for _, name := range coveredFiles(e.v.manifest, st) {
		data, err := readFile(e.v.fsys, name, maxYAMLSize)
		_, known := ot.view.expected(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if known {
				ot.drift[name] = "missing"
			}
		case err != nil:
			return classifyRead(err, CodeCorruptVault, "failed to read "+path.Join(DirName, name))
		case !known:
			ot.drift[name] = "not signed"
		case digestOf(data) != mustExpected(ot.view, name):
			ot.drift[name] = "changed"
		}
	}
	return nil
}

func mustExpected(sv *signedView, name string) digest {
	d, _ := sv.expected(name)
	return d
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// signing reports whether this editor verifies and signs (it holds the
// owner key). Without the owner key an editor writes unsigned, as the
// original tool does; owner commands always sign.
func (e *Editor) signing() bool { return e.trust != nil }

// requireTrusted refuses to change a vault whose current state the owner
// has not signed, except for the files in allowed (a repair rewrites the
// files of its own plan). It says what changed.
func (e *Editor) requireTrusted(allowed map[string]bool) error {
	ot := e.trust
	if ot == nil {
		return nil
	}
	if ot.broken != nil {
		return ot.broken
	}
	if ot.view == nil {
		return errorf(CodeUntrusted, "this vault carries no owner signature yet, so its public keys cannot be trusted").
			withHint("review it with 'agent-vault check', then sign it with 'agent-vault seal'")
	}
	if e.opts.Owner.recipient != e.v.ownerPub && !allowed[ownerPubFile] {
		return errorf(CodeUntrusted, "%s/%s holds %s, which is not your owner key's public key", DirName, ownerPubFile, clip(e.v.ownerPub)).
			withHint("someone replaced it; 'agent-vault seal' restores it from your owner key")
	}
	var list []string
	for _, name := range sortedKeys(ot.drift) {
		if !allowed[name] {
			list = append(list, path.Join(DirName, name)+" ("+ot.drift[name]+")")
		}
	}
	if len(list) == 0 {
		return nil
	}
	return errorf(CodeUntrusted, "refusing to change the vault: not as you signed it (version %d): %s",
		ot.view.st.version, strings.Join(list, ", ")).
		withHint("review with 'agent-vault check'; if you made these changes (for example with another tool), accept them with 'agent-vault seal'")
}

// checkRead verifies bytes an operation read from the repository against
// the signed state before it uses them.
func (e *Editor) checkRead(name string, data []byte) error {
	if e.trust == nil {
		return nil
	}
	if d, ok := e.trust.planned[name]; ok {
		if digestOf(data) != d {
			return e.trust.view.changed(name)
		}
		return nil
	}
	return e.trust.view.checkFile(name, data)
}

// planFiles records the files plan p writes, before it is applied.
func (e *Editor) planFiles(p *plan) error {
	if e.trust == nil {
		return nil
	}
	e.trust.planned = map[string]digest{}
	for name := range p.Files {
		data, err := planFile(p, name)
		if err != nil {
			return err
		}
		e.trust.planned[name] = digestOf(data)
	}
	return nil
}

// verifySecrets checks, before anything is written, that the secrets an
// operation will decrypt and re-encrypt are the ones the owner signed: a
// value planted in the repository must never be re-signed.
func (e *Editor) verifySecrets(secrets []string) error {
	if e.trust == nil || len(secrets) == 0 {
		return nil
	}
	return e.parallelQuiet(len(secrets), func(i int) error { return e.verifySecret(secrets[i]) })
}

func (e *Editor) verifySecret(s string) error {
	enc, err := readFile(e.v.fsys, findEncFile(e.v.fsys, s), maxSecretSize)
	if err != nil {
		return classifyRead(err, CodeSecretNotFound, "secret "+s+" not found")
	}
	meta, err := readFile(e.v.fsys, findMetaFile(e.v.fsys, s), maxYAMLSize)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return classifyRead(err, CodeCorruptVault, "failed to read metadata of "+s)
	}
	if err := e.trust.view.checkSecret(s, enc, meta); err != nil {
		if _, herr := stanzaCount(enc); herr != nil {
			return wrap(CodeCorruptVault, herr, "secret %s is damaged", s)
		}
		return err
	}
	return nil
}

// parallelQuiet is parallel without progress reports.
func (e *Editor) parallelQuiet(n int, fn func(i int) error) error {
	return parallel(e.opts.Workers, n, fn, nil)
}

// recordSecret remembers the digests of a secret just written.
func (e *Editor) recordSecret(name string, enc, meta []byte) {
	if e.trust == nil {
		return
	}
	e.trust.mu.Lock()
	e.trust.touched[name] = entry{enc: digestOf(enc), meta: digestOf(meta)}
	e.trust.mu.Unlock()
}

// signAfter signs the state an operation left: the previous signed state
// with the manifest written (mdata), the agent files the plan wrote, and
// the secrets written. Only buckets that changed are rewritten; the top
// record goes last, so it never names a bucket not yet on disk.
func (e *Editor) signAfter(p *plan, old, m *Manifest, mdata []byte) error {
	ot := e.trust
	prev := ot.view.st
	next := *prev
	next.version = prev.version + 1
	next.owner = e.opts.Owner.recipient
	next.manifest = digestOf(mdata)
	next.agents = map[string]agentDigests{}
	for _, a := range m.Agents {
		d, ok := prev.agents[a.Name]
		if data, err := planFile(p, agentPubFile(a.Name)); err != nil {
			return err
		} else if data != nil {
			d.pub, ok = digestOf(data), true
		}
		if data, err := planFile(p, escrowFile(a.Name)); err != nil {
			return err
		} else if data != nil {
			d.escrow, d.hasEscrow = digestOf(data), true
		}
		if ok { // an agent the state never covered stays uncovered
			next.agents[a.Name] = d
		}
	}
	// Secrets that left the policy leave the state; written ones replace
	// their entries; every other entry is carried over unchanged, so a
	// file changed behind the owner's back stays reported, never adopted.
	changes := map[string]*entry{}
	for s, en := range ot.touched {
		changes[s] = &en
	}
	stillIn := m.groupIndex()
	for _, g := range old.Groups {
		for _, s := range g.Secrets {
			if _, ok := stillIn[s]; !ok {
				changes[s] = nil
			}
		}
	}
	return e.writeState(&next, changes)
}

// planFile returns the content of name if plan p writes it.
func planFile(p *plan, name string) ([]byte, error) {
	enc, ok := p.Files[name]
	if !ok {
		return nil, nil
	}
	data, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, wrap(CodeCorruptVault, err, "invalid journal")
	}
	return data, nil
}

// writeState applies entry changes (nil removes the secret) to the
// buckets of st and writes the signed state.
func (e *Editor) writeState(st *state, changes map[string]*entry) error {
	byBucket := map[byte][]string{}
	for s := range changes {
		id := bucketOf(s)
		byBucket[id] = append(byBucket[id], s)
	}
	st.buckets = maps.Clone(st.buckets)
	buckets := map[byte]bucket{}
	for id, names := range byBucket {
		b := bucket{}
		if e.trust.view != nil {
			old, err := e.trust.view.bucket(id)
			if err != nil {
				return err
			}
			maps.Copy(b, old)
		}
		for _, s := range names {
			if en := changes[s]; en != nil {
				b[s] = *en
			} else {
				delete(b, s)
			}
		}
		buckets[id] = b
	}
	return e.writeSigned(st, buckets)
}

// writeSigned writes the buckets that changed (an empty one leaves the
// state), then the signed record, then removes bucket files the record no
// longer names. Until the record is replaced, the previous one and all
// its buckets stay intact.
func (e *Editor) writeSigned(st *state, changed map[byte]bucket) error {
	ids := make([]int, 0, len(changed))
	for id := range changed {
		ids = append(ids, int(id))
	}
	slices.Sort(ids)
	for _, i := range ids {
		id, b := byte(i), changed[byte(i)]
		if len(b) == 0 {
			delete(st.buckets, id)
			continue
		}
		data := marshalBucket(id, b)
		d := digestOf(data)
		st.buckets[id] = bucketRef{digest: d, count: len(b)}
		name := bucketFile(id, d)
		if cur, err := readFile(e.v.fsys, name, maxBucketSize); err == nil && bytes.Equal(cur, data) {
			continue
		}
		if err := writeFile(e.w, name, data, 0o644); err != nil {
			return err
		}
	}
	if err := writeFile(e.w, stateFile, st.sign(e.trust.signer), 0o644); err != nil {
		return err
	}
	e.trust.view = newSignedView(e.v.fsys, st)
	e.trust.touched = map[string]entry{}
	clear(e.trust.drift)
	return e.removeStaleBuckets(st)
}

// removeStaleBuckets deletes bucket files st does not name: those of the
// previous version, and any a crashed signing left behind.
func (e *Editor) removeStaleBuckets(st *state) error {
	keep := map[string]bool{}
	for _, name := range st.bucketFiles() {
		keep[name] = true
	}
	for _, name := range e.trust.gone {
		if !keep[name] {
			if err := removeFile(e.w, name); err != nil {
				return err
			}
		}
	}
	e.trust.gone = nil
	entries, err := fs.ReadDir(e.v.fsys, bucketsDir)
	if err != nil {
		return nil // no buckets yet
	}
	for _, de := range entries {
		name := path.Join(bucketsDir, de.Name())
		if !keep[name] && de.Type().IsRegular() && !isTempFile(de.Name()) {
			if err := removeFile(e.w, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// newVaultID is the random id fixed at a vault's first signature.
func newVaultID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", wrap(CodeInternal, err, "failed to generate a vault id")
	}
	return hex.EncodeToString(b[:]), nil
}

// SignedState returns the id and version of the vault's signed state as
// the editor last verified or wrote it ("" and 0 when unsigned or without
// the owner key). A caller that remembers versions (EditOptions.Seen)
// records it once the change is committed.
func (e *Editor) SignedState() (vaultID string, version uint64) {
	if e.trust == nil || e.trust.view == nil {
		return "", 0
	}
	return e.trust.view.st.vaultID, e.trust.view.st.version
}

// trustRepair checks the state a repair starts from. The files its own
// journal rewrites may differ from the signed state (the operation was
// interrupted after writing them); nothing else may. The journal lives
// outside the working tree, written by this clone's owner, so the secrets
// it names are re-encrypted and signed even if the interrupted run already
// rewrote them.
func (e *Editor) trustRepair(p *plan) error {
	if !e.signing() {
		return nil
	}
	allowed := map[string]bool{manifestFile: true}
	for n := range p.Files {
		allowed[n] = true
	}
	for _, n := range p.Remove {
		allowed[n] = true
	}
	if err := e.requireTrusted(allowed); err != nil {
		return err
	}
	st := e.trust.view.st
	if p.Vault != "" && (p.Vault != st.vaultID || st.version < p.Base) {
		return errorf(CodeConflict, "the signed state changed since the interrupted %s started (version %d, now %d)", p.Op, p.Base, st.version).
			withHint("review with 'agent-vault check'; re-run the operation instead of repairing it")
	}
	for _, name := range p.Buckets {
		if path.Dir(name) != bucketsDir || !fs.ValidPath(name) {
			return errorf(CodeCorruptVault, "journal names an unexpected file %q", clip(name))
		}
	}
	e.trust.gone = p.Buckets
	e.trust.repairing = map[string]bool{}
	for _, s := range append(slices.Clone(p.Secrets), p.Set...) {
		e.trust.repairing[s] = true
	}
	return nil
}

// checkSecretRead verifies a secret's bytes just read for re-encryption,
// unless a repair is finishing it (see trustRepair).
func (e *Editor) checkSecretRead(s string, enc, meta []byte) error {
	if e.trust == nil || e.trust.repairing[s] {
		return nil
	}
	return e.trust.view.checkSecret(s, enc, meta)
}

// agentRecipient reads an agent's public key for encryption: with the
// owner key, only the key the owner signed is accepted.
func (e *Editor) agentRecipient(name string) (string, error) {
	if e.trust == nil {
		return e.v.agentRecipient(name)
	}
	data, err := readFile(e.v.fsys, agentPubFile(name), maxKeySize)
	if err != nil {
		return "", classifyRead(err, CodeSecretNotFound, "public key of agent "+name+" not found")
	}
	if err := e.checkRead(agentPubFile(name), data); err != nil {
		return "", err
	}
	return parseAgentRecipient(name, data)
}
