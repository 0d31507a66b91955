package core

import (
	"errors"
	"io/fs"
	"sync"
)

// Trust is what a reader believes about a vault: the owner-signed top
// record, verified once, against which each secret is checked as it is
// read. A Trust of an unsigned vault (Signed false) checks nothing; readers
// should warn about it, and refuse it once they have seen the vault signed.
// Safe for concurrent use.
type Trust struct {
	v    *Vault
	view *signedView // nil when the vault is unsigned

	once     sync.Once
	manifest *Manifest
	manErr   error
}

// LoadTrust reads and verifies the vault's top signed record. pin is the
// owner's verification key (avowner1..., see OwnerVerificationKey), or ""
// when the reader does not know it yet: the record is then verified against
// the key it names (trust on first use), and the reader should remember
// that key (OwnerKey) as its pin.
//
// It fails with untrusted when the record does not verify, is signed by
// another key than pin, disagrees with config.yaml or owner.pub, or when a
// pin is given and the vault carries no signature at all.
func (v *Vault) LoadTrust(pin string) (*Trust, error) {
	st, err := readState(v.fsys)
	if err != nil {
		return nil, err
	}
	if st == nil {
		if pin != "" {
			return nil, errorf(CodeUntrusted, "the vault carries no owner signature, but an owner key is pinned").
				withHint("the vault owner must sign it with 'agent-vault seal'; an unsigned vault where a signed one was expected may be a rollback")
		}
		return &Trust{v: v}, nil
	}
	if pin != "" {
		want, err := ParseOwnerKey(pin)
		if err != nil {
			return nil, wrap(CodeInvalidKey, err, "unusable pinned owner key")
		}
		if !sameKey(want, st.signer) {
			return nil, errorf(CodeUntrusted, "the vault is signed by key %s, not by the pinned owner key %s", fingerprint(st.signer), fingerprint(want)).
				withHint("if the owner really changed keys, replace the pin (%s or the .owner file beside the agent key)", OwnerKeyEnv)
		}
	}
	sv := newSignedView(v.fsys, st)
	// config.yaml and owner.pub as the vault read them at open.
	for _, name := range []string{configFile, ownerPubFile} {
		if d, _ := sv.expected(name); v.loaded[name] != d {
			return nil, sv.changed(name)
		}
	}
	if st.owner != v.ownerPub {
		return nil, sv.changed(ownerPubFile)
	}
	return &Trust{v: v, view: sv}, nil
}

// Signed reports whether the vault carries a valid owner signature.
func (t *Trust) Signed() bool { return t.view != nil }

// Version is the signed version, which only goes up; 0 when unsigned.
func (t *Trust) Version() uint64 {
	if t.view == nil {
		return 0
	}
	return t.view.st.version
}

// VaultID is the random id fixed at the vault's first signature; "" when
// unsigned.
func (t *Trust) VaultID() string {
	if t.view == nil {
		return ""
	}
	return t.view.st.vaultID
}

// OwnerKey is the verification key that signed the vault, in the pin's
// text form (avowner1 followed by 52 base32 letters); "" when unsigned.
func (t *Trust) OwnerKey() string {
	if t.view == nil {
		return ""
	}
	return formatOwnerKey(t.view.st.signer)
}

// Fingerprint is a short form of OwnerKey for people to compare, such as
// "k3xq-7abm-p2rt-9cde"; "" when unsigned.
func (t *Trust) Fingerprint() string {
	if t.view == nil {
		return ""
	}
	return fingerprint(t.view.st.signer)
}

// CheckSeen refuses this state to a reader that has already seen signed
// version seenVersion of vault seenID (seenID "" means it has seen none):
// an unsigned vault, another vault id, or an older version is untrusted.
// The reader stores the highest version it has accepted.
func (t *Trust) CheckSeen(seenID string, seenVersion uint64) error {
	switch {
	case seenID == "":
		return nil
	case t.view == nil:
		return errorf(CodeUntrusted, "the vault is unsigned, but signed version %d was seen before", seenVersion).
			withHint("this may be a rollback; the vault owner can sign the current state with 'agent-vault seal'")
	case t.VaultID() != seenID:
		return errorf(CodeUntrusted, "the vault id changed from %s to %s", seenID, t.VaultID()).
			withHint("if the owner re-created the vault, forget the remembered state for it")
	case t.Version() < seenVersion:
		return errorf(CodeUntrusted, "signed version %d is older than version %d seen before (a rollback)", t.Version(), seenVersion)
	}
	return nil
}

// WithTrust returns a session that reads through t: Get then refuses, with
// untrusted, a secret whose .enc or .meta bytes are not the ones the owner
// signed. The check is made on the very bytes that are decrypted. t must
// come from the session's vault.
func (s *Session) WithTrust(t *Trust) *Session {
	ns := s.v.WithIdentity(s.id)
	ns.trust = t
	return ns
}

// readSecret reads a secret's ciphertext and, through a signed trust, its
// metadata, and verifies both: untrusted says they are not the bytes the
// owner signed. meta is nil when no trust applies.
func (s *Session) readSecret(secret string) (ct, meta []byte, untrusted, err error) {
	ct, err = readFile(s.v.fsys, findEncFile(s.v.fsys, secret), maxSecretSize)
	if err != nil {
		return nil, nil, nil, classifyRead(err, CodeSecretNotFound, "secret "+secret+" not found")
	}
	t := s.trust
	if t == nil || t.view == nil {
		return ct, nil, nil, nil
	}
	if t.v != s.v {
		return nil, nil, nil, errorf(CodeInternal, "trust of another vault")
	}
	meta, err = readFile(s.v.fsys, findMetaFile(s.v.fsys, secret), maxYAMLSize)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, classifyRead(err, CodeCorruptVault, "failed to read metadata of "+secret)
	}
	return ct, meta, t.view.checkSecret(secret, ct, meta), nil
}

// refuseUnsigned turns the outcome of decrypting bytes the signature does
// not cover into the error to report: damage stays corrupt_vault (a broken
// file is not an attack to report as one), anything else is untrusted, and
// a plaintext is wiped, never returned.
func refuseUnsigned(pt []byte, decErr, untrusted error) error {
	zero(pt)
	if decErr != nil && CodeOf(decErr) == CodeCorruptVault {
		return decErr
	}
	return untrusted
}

// policy returns the manifest, verified against the signature.
func (t *Trust) policy() (*Manifest, error) {
	if t.view == nil {
		return t.v.policy()
	}
	t.once.Do(func() {
		data, err := readFile(t.v.fsys, manifestFile, maxYAMLSize)
		if err != nil {
			t.manErr = classifyRead(err, CodeVaultNotFound, "failed to read manifest")
			return
		}
		m, perr := ParseManifest(data)
		if err := t.view.checkFile(manifestFile, data); err != nil {
			// Damage is reported as damage, a well-formed change as
			// untrusted.
			t.manErr = firstErr(perr, err)
			return
		}
		t.manifest, t.manErr = m, perr
	})
	return t.manifest, t.manErr
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// List is Vault.List through the signature: the manifest and every
// metadata file listed must be the ones the owner signed, or the listing
// fails with untrusted naming the first file that is not. It never hides
// an entry silently.
func (t *Trust) List(group string) ([]*Metadata, error) {
	if t.view == nil {
		return t.v.List(group)
	}
	m, err := t.policy()
	if err != nil {
		return nil, err
	}
	return t.v.list(m, group, func(secret string) (*Metadata, error) {
		data, err := t.v.metadataBytes(secret)
		if err != nil {
			return nil, err
		}
		e, ok, err := t.view.entry(secret)
		if err != nil {
			return nil, err
		}
		m, perr := parseSecretMetadata(secret, data)
		switch {
		case !ok:
			return nil, firstErr(perr, t.view.unsigned(metaFile(secret)))
		case digestOf(data) != e.meta:
			return nil, firstErr(perr, t.view.changed(metaFile(secret)))
		}
		return m, perr
	})
}

// Agents is Vault.Agents through the signature: the manifest and every
// agent's public key must be the signed ones, or it fails with untrusted.
func (t *Trust) Agents() ([]AgentInfo, error) {
	if t.view == nil {
		return t.v.Agents()
	}
	m, err := t.policy()
	if err != nil {
		return nil, err
	}
	return t.v.agents(m, func(name string) (string, error) {
		data, err := t.view.readChecked(agentPubFile(name), maxKeySize)
		if err != nil {
			return "", err
		}
		return parseAgentRecipient(name, data)
	})
}

// IsOwner reports whether id is this vault's owner key: the one owner.pub
// names, or the one the signed state names (owner.pub may have been
// replaced). It verifies nothing; it tells a check run with an agent key
// from one run with the owner's.
func (v *Vault) IsOwner(id *Identity) bool {
	if id.recipient == v.ownerPub {
		return true
	}
	st, err := readState(v.fsys)
	return err == nil && st != nil && st.owner == id.recipient
}
