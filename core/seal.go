package core

import (
	"errors"
	"io/fs"
	"path"
	"slices"
)

// SealChange is one file a seal accepts into the signed state.
type SealChange struct {
	// File is the path under .agent-vault/.
	File string `json:"file"`
	// Change is "new" (not covered before), "changed", "removed" (covered
	// before, gone now) or "restored" (owner.pub rewritten from the owner
	// key).
	Change string `json:"change"`
	// Note warns about something the owner should look at before
	// accepting, such as an escrow that does not hold its agent's key.
	Note string `json:"note,omitempty"`
}

// SealReview is what Seal would sign: the changes since the last signed
// version, worked out from the files as they are now. Seal signs exactly
// what was reviewed.
type SealReview struct {
	// FromVersion is the signed version the changes are relative to, 0
	// for a vault never signed.
	FromVersion uint64 `json:"from_version"`
	// Version is the version Seal will sign.
	Version uint64 `json:"version"`
	// VaultID is the vault's id (new at a first signature).
	VaultID string `json:"vault_id"`
	// OwnerKey is the owner's verification key (the readers' pin).
	OwnerKey string `json:"owner_key"`
	// Changes lists every file that differs from the signed state.
	Changes []SealChange `json:"changes"`
	// Uncovered lists secrets and agents left out because files are
	// missing; check reports them.
	Uncovered []string `json:"uncovered,omitempty"`

	next        *state
	buckets     map[byte]bucket
	fixOwnerPub bool
}

// ReviewSeal works out what accepting the vault's current state would
// sign. It needs the owner key and reads every file once.
func (e *Editor) ReviewSeal() (*SealReview, error) {
	if e.trust == nil {
		return nil, errorf(CodeInvalidKey, "sealing needs the owner key").
			withHint("use the owner key (~/.agent-vault/owner.key) or pass it with --key")
	}
	if e.trust.broken != nil {
		return nil, e.trust.broken
	}
	if p, err := e.pending(); err != nil {
		return nil, err
	} else if p != nil {
		return nil, errorf(CodeConflict, "an earlier %s did not finish", p.Op).
			withHint("run 'agent-vault check --repair' first")
	}
	owner := e.opts.Owner.recipient
	r := &SealReview{OwnerKey: formatOwnerKey(e.trust.signer.pub), buckets: map[byte]bucket{}}
	next := &state{version: 1, signer: e.trust.signer.pub, owner: owner,
		agents: map[string]agentDigests{}, buckets: map[byte]bucketRef{}}
	old := e.trust.view
	if old != nil {
		r.FromVersion = old.st.version
		next.version = old.st.version + 1
		next.vaultID = old.st.vaultID
	} else {
		id, err := newVaultID()
		if err != nil {
			return nil, err
		}
		next.vaultID = id
	}
	r.Version, r.VaultID = next.version, next.vaultID

	// Top-level files, compared with what the owner signed before.
	top := func(name string, data []byte, note string) {
		if old == nil {
			r.Changes = append(r.Changes, SealChange{File: name, Change: "new", Note: note})
			return
		}
		if d, known := old.expected(name); !known {
			r.Changes = append(r.Changes, SealChange{File: name, Change: "new", Note: note})
		} else if d != digestOf(data) {
			r.Changes = append(r.Changes, SealChange{File: name, Change: "changed", Note: note})
		} else if note != "" {
			r.Changes = append(r.Changes, SealChange{File: name, Change: "unchanged", Note: note})
		}
	}
	read := func(name string, limit int64) ([]byte, error) {
		data, err := readFile(e.v.fsys, name, limit)
		if err != nil {
			return nil, classifyRead(err, CodeCorruptVault, "failed to read "+path.Join(DirName, name))
		}
		return data, nil
	}
	cfg, err := read(configFile, maxYAMLSize)
	if err != nil {
		return nil, err
	}
	next.config = digestOf(cfg)
	top(configFile, cfg, "")
	pub, err := read(ownerPubFile, maxKeySize)
	if err != nil {
		return nil, err
	}
	if e.v.ownerPub != owner {
		r.fixOwnerPub = true
		pub = []byte(owner + "\n")
		r.Changes = append(r.Changes, SealChange{File: ownerPubFile, Change: "restored",
			Note: "held " + clip(e.v.ownerPub) + ", which is not your owner key's public key; rewritten from your owner key"})
	} else {
		top(ownerPubFile, pub, "")
	}
	next.ownerPub = digestOf(pub)
	mdata, err := read(manifestFile, maxYAMLSize)
	if err != nil {
		return nil, err
	}
	if _, err := ParseManifest(mdata); err != nil {
		return nil, err
	}
	next.manifest = digestOf(mdata)
	top(manifestFile, mdata, "")

	for _, a := range e.v.manifest.Agents {
		pdata, err := readFile(e.v.fsys, agentPubFile(a.Name), maxKeySize)
		if err != nil {
			r.Uncovered = append(r.Uncovered, "agent "+a.Name+" (no public key)")
			continue
		}
		if _, err := parseAgentRecipient(a.Name, pdata); err != nil {
			return nil, err
		}
		d := agentDigests{pub: digestOf(pdata)}
		note := ""
		if key, err := e.v.openEscrow(e.opts.Owner.id, a.Name); err == nil {
			zero(key)
		} else if exists(e.v.fsys, escrowFile(a.Name)) {
			note = "the escrow does not match this public key: " + err.Error()
		} else {
			note = "the agent has no escrow"
		}
		top(agentPubFile(a.Name), pdata, note)
		if edata, err := readFile(e.v.fsys, escrowFile(a.Name), maxKeySize); err == nil {
			d.escrow, d.hasEscrow = digestOf(edata), true
			top(escrowFile(a.Name), edata, "")
		}
		next.agents[a.Name] = d
	}
	if old != nil {
		for _, a := range sortedKeys(old.st.agents) {
			if _, ok := next.agents[a]; !ok {
				r.Changes = append(r.Changes, SealChange{File: agentPubFile(a), Change: "removed"})
			}
		}
	}
	if err := e.reviewSecrets(r, next); err != nil {
		return nil, err
	}
	r.next = next
	return r, nil
}

// reviewSecrets digests every secret in the policy, in parallel, and
// compares each with its signed entry.
func (e *Editor) reviewSecrets(r *SealReview, next *state) error {
	groupOf := e.v.manifest.groupIndex()
	names := sortedKeys(groupOf)
	entries := make([]*entry, len(names))
	err := e.parallelQuiet(len(names), func(i int) error {
		enc, err1 := readFile(e.v.fsys, encFile(names[i]), maxSecretSize)
		meta, err2 := readFile(e.v.fsys, metaFile(names[i]), maxYAMLSize)
		if errors.Is(err1, fs.ErrNotExist) || errors.Is(err2, fs.ErrNotExist) {
			return nil
		}
		if err1 != nil {
			return classifyRead(err1, CodeCorruptVault, "failed to read secret "+names[i])
		}
		if err2 != nil {
			return classifyRead(err2, CodeCorruptVault, "failed to read metadata of "+names[i])
		}
		entries[i] = &entry{enc: digestOf(enc), meta: digestOf(meta)}
		return nil
	})
	if err != nil {
		return err
	}
	old := e.trust.view
	for i, s := range names {
		en := entries[i]
		if en == nil {
			r.Uncovered = append(r.Uncovered, "secret "+s+" (files missing)")
			continue
		}
		id := bucketOf(s)
		if r.buckets[id] == nil {
			r.buckets[id] = bucket{}
		}
		r.buckets[id][s] = *en
		if old == nil {
			r.Changes = append(r.Changes, SealChange{File: encFile(s), Change: "new"}, SealChange{File: metaFile(s), Change: "new"})
			continue
		}
		prev, ok, err := old.entry(s)
		switch {
		case err != nil:
			// A damaged bucket: everything in it is reviewed as new.
			ok = false
		case ok && prev.enc != en.enc:
			r.Changes = append(r.Changes, SealChange{File: encFile(s), Change: "changed"})
		}
		if !ok {
			r.Changes = append(r.Changes, SealChange{File: encFile(s), Change: "new"}, SealChange{File: metaFile(s), Change: "new"})
		} else if prev.meta != en.meta {
			r.Changes = append(r.Changes, SealChange{File: metaFile(s), Change: "changed"})
		}
	}
	if old != nil {
		// Secrets signed before and no longer in the policy.
		for id := range old.st.buckets {
			b, err := old.bucket(id)
			if err != nil {
				continue
			}
			for _, s := range sortedKeys(b) {
				if _, ok := groupOf[s]; !ok {
					r.Changes = append(r.Changes, SealChange{File: encFile(s), Change: "removed"})
				}
			}
		}
	}
	slices.SortStableFunc(r.Changes, func(a, b SealChange) int {
		switch {
		case a.File < b.File:
			return -1
		case a.File > b.File:
			return 1
		}
		return 0
	})
	return nil
}

// Seal signs the state r reviewed: the owner accepts every change it
// lists. owner.pub is rewritten from the owner key when it differs.
func (e *Editor) Seal(r *SealReview) error {
	if r == nil || r.next == nil {
		return errorf(CodeInternal, "seal without a review")
	}
	if r.fixOwnerPub {
		if err := writeFile(e.w, ownerPubFile, []byte(e.opts.Owner.recipient+"\n"), 0o644); err != nil {
			return err
		}
		e.v.ownerPub = e.opts.Owner.recipient
	}
	st := r.next
	changed := map[byte]bucket{}
	for id, b := range r.buckets {
		changed[id] = b
	}
	return e.writeSigned(st, changed)
}

// InitSigned creates a vault as Init does and signs its first state with
// the owner key.
func InitSigned(w WriteFS, ownerName string, owner *Identity) error {
	if err := Init(w, ownerName, owner.Recipient()); err != nil {
		return err
	}
	e, err := Edit(w, EditOptions{Owner: owner})
	if err != nil {
		return err
	}
	r, err := e.ReviewSeal()
	if err != nil {
		return err
	}
	return e.Seal(r)
}
