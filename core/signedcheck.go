package core

import (
	"errors"
	"io/fs"
	"path"
	"sort"
)

// signed reports what the owner's signature does not cover: a vault never
// signed, a record that does not verify, files changed since the signed
// version, an owner.pub that is not the owner key's, escrows that do not
// hold their agent's key, and journals planted in the working tree.
func (c *checker) signed(opts CheckOptions) {
	c.journals(opts)
	st, err := readState(c.v.fsys)
	if err != nil {
		c.add(SeverityError, "bad_signature", stateFile, "%v", err)
		return
	}
	if st == nil {
		c.add(SeverityWarning, "unsigned_vault", DirName, "the vault carries no owner signature; readers cannot tell its keys and values from planted ones (review, then run 'agent-vault seal')")
		c.escrows(nil)
		return
	}
	if opts.Owner != nil && opts.Owner.recipient == st.owner {
		if pub, err := ownerPublicKey(opts.Owner); err == nil && !sameKey(pub, st.signer) {
			c.add(SeverityError, "foreign_signature", stateFile, "%s/%s is signed by key %s, not by the owner key's (%s): it was forged",
				DirName, stateFile, fingerprint(st.signer), fingerprint(pub))
			return
		}
		if c.v.ownerPub != st.owner {
			c.add(SeverityError, "owner_key_replaced", ownerPubFile, "%s/%s holds %s, not the owner key's public key %s; 'agent-vault seal' restores it",
				DirName, ownerPubFile, clip(c.v.ownerPub), st.owner)
		}
	}
	c.sv = newSignedView(c.v.fsys, st)
	for _, name := range coveredFiles(c.v.manifest, st) {
		data, err := readFile(c.v.fsys, name, maxYAMLSize)
		_, known := c.sv.expected(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if known {
				c.unsignedChange(name, "is missing, but signed version %d has it")
			}
		case err != nil:
			// Reported by the checks that read the file.
		case !known:
			c.unsignedChange(name, "is not covered by the owner's signature (signed version %d)")
		case digestOf(data) != mustExpected(c.sv, name):
			c.unsignedChange(name, "changed since signed version %d")
		}
	}
	ids := make([]int, 0, len(st.buckets))
	for id := range st.buckets {
		ids = append(ids, int(id))
	}
	sort.Ints(ids)
	for _, id := range ids {
		if _, err := c.sv.bucket(byte(id)); err != nil {
			c.unsignedChange(bucketFile(byte(id), st.buckets[byte(id)].digest), "changed since signed version %d")
		}
	}
	c.escrows(st)
}

func (c *checker) unsignedChange(name, format string) {
	c.add(SeverityError, "unsigned_change", name, "%s "+format, path.Join(DirName, name), c.sv.st.version)
}

// signedSecret compares a secret's files with its signed entry; ct is the
// ciphertext the other checks read.
func (c *checker) signedSecret(s string, ct []byte) {
	if c.sv == nil {
		return
	}
	meta, err := readFile(c.v.fsys, metaFile(s), maxYAMLSize)
	if err != nil {
		meta = nil
	}
	e, ok, err := c.sv.entry(s)
	switch {
	case err != nil: // the bucket itself is reported
	case !ok:
		c.add(SeverityError, "unsigned_change", encFile(s), "secret %s is not covered by the owner's signature (signed version %d)", s, c.sv.st.version)
	default:
		if digestOf(ct) != e.enc {
			c.add(SeverityError, "unsigned_change", encFile(s), "%s changed since signed version %d", path.Join(DirName, encFile(s)), c.sv.st.version)
		}
		if meta == nil || digestOf(meta) != e.meta {
			c.add(SeverityError, "unsigned_change", metaFile(s), "%s changed since signed version %d", path.Join(DirName, metaFile(s)), c.sv.st.version)
		}
	}
}

// escrows decrypts each agent's escrow with the owner key and compares
// the key inside with the agent's public key: a swapped public key shows
// here even in a vault that was never signed.
func (c *checker) escrows(st *state) {
	if c.owner == nil {
		return
	}
	for _, a := range c.v.manifest.Agents {
		if !exists(c.v.fsys, escrowFile(a.Name)) {
			continue // reported as missing_escrow
		}
		key, err := c.v.openEscrow(c.owner.id, a.Name)
		zero(key)
		if err != nil && CodeOf(err) != CodeSecretNotFound {
			c.add(SeverityError, "escrow_mismatch", a.Name, "agent %s: %v", a.Name, err)
		}
	}
}

// journals reports a journal in the vault directory, where agent-vault
// kept it before it moved out of the working tree. It is never applied.
func (c *checker) journals(opts CheckOptions) {
	if !c.v.legacyJournal() {
		return
	}
	name := path.Join(DirName, journalFile)
	if opts.JournalTracked {
		c.add(SeverityError, "tracked_journal", journalFile, "%s is committed to Git: a journal there was planted by someone who can push; it is never applied (remove it with 'git rm %s')", name, name)
		return
	}
	c.add(SeverityWarning, "legacy_journal", journalFile, "%s is a journal from an earlier agent-vault and is ignored; if that operation was interrupted, run it again, then delete the file", name)
}

// coveredFiles lists the top-level files a state covers: config, owner
// key, manifest, and the key files of every agent in policy m or in st.
func coveredFiles(m *Manifest, st *state) []string {
	names := map[string]bool{}
	for _, a := range m.Agents {
		names[a.Name] = true
	}
	if st != nil {
		for a := range st.agents {
			names[a] = true
		}
	}
	out := []string{configFile, ownerPubFile, manifestFile}
	for _, a := range sortedKeys(names) {
		out = append(out, agentPubFile(a), escrowFile(a))
	}
	return out
}
