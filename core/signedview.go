package core

import (
	"errors"
	"io/fs"
	"path"
	"sync"
)

// signedView is a verified top record over a vault's files, with buckets
// loaded (and checked against the record) on first use. Readers, check and
// the owner's editor all compare files through it, so there is one rule for
// what "covered by the signature" means. Safe for concurrent use.
type signedView struct {
	fsys fs.FS
	st   *state

	mu      sync.Mutex
	buckets map[byte]bucket
}

// readState reads and verifies the top record; nil when the vault has
// none (it was never signed).
func readState(fsys fs.FS) (*state, error) {
	data, err := readFile(fsys, stateFile, maxStateSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, classifyRead(err, CodeUntrusted, "failed to read "+path.Join(DirName, stateFile))
	}
	return parseState(data)
}

func newSignedView(fsys fs.FS, st *state) *signedView {
	return &signedView{fsys: fsys, st: st, buckets: map[byte]bucket{}}
}

// bucket returns bucket id, read and checked against its signed digest. An
// id the record does not list is empty.
func (sv *signedView) bucket(id byte) (bucket, error) {
	sv.mu.Lock()
	b, ok := sv.buckets[id]
	sv.mu.Unlock()
	if ok {
		return b, nil
	}
	ref, ok := sv.st.buckets[id]
	if !ok {
		return bucket{}, nil
	}
	name := bucketFile(id, ref.digest)
	data, err := readFile(sv.fsys, name, maxBucketSize)
	if err != nil {
		return nil, classifyRead(err, CodeUntrusted, "signed index "+path.Join(DirName, name)+" is missing")
	}
	if digestOf(data) != ref.digest {
		return nil, sv.changed(name)
	}
	if b, err = parseBucket(id, data); err != nil {
		return nil, err
	}
	if len(b) != ref.count {
		return nil, sv.changed(name)
	}
	sv.mu.Lock()
	sv.buckets[id] = b
	sv.mu.Unlock()
	return b, nil
}

// entry returns the signed digests of a secret's files.
func (sv *signedView) entry(secret string) (entry, bool, error) {
	b, err := sv.bucket(bucketOf(secret))
	if err != nil {
		return entry{}, false, err
	}
	e, ok := b[secret]
	return e, ok, nil
}

// checkSecret verifies the bytes of a secret's .enc and .meta (nil when
// absent) against its signed entry.
func (sv *signedView) checkSecret(secret string, enc, meta []byte) error {
	e, ok, err := sv.entry(secret)
	if err != nil {
		return err
	}
	if !ok {
		return sv.unsigned(encFile(secret))
	}
	if enc == nil || digestOf(enc) != e.enc {
		return sv.changed(encFile(secret))
	}
	if meta == nil || digestOf(meta) != e.meta {
		return sv.changed(metaFile(secret))
	}
	return nil
}

// expected returns the signed digest of a top-level vault file (config,
// owner key, manifest, an agent's public key or escrow). known is false
// when the record does not cover the file at all.
func (sv *signedView) expected(name string) (d digest, known bool) {
	switch name {
	case configFile:
		return sv.st.config, true
	case ownerPubFile:
		return sv.st.ownerPub, true
	case manifestFile:
		return sv.st.manifest, true
	}
	if agent, file, ok := cutAgentFile(name); ok {
		a, ok := sv.st.agents[agent]
		switch {
		case !ok:
		case file == "public.key":
			return a.pub, true
		case file == "private.key.escrow" && a.hasEscrow:
			return a.escrow, true
		}
	}
	return digest{}, false
}

// checkFile verifies the bytes of a top-level vault file.
func (sv *signedView) checkFile(name string, data []byte) error {
	d, known := sv.expected(name)
	if !known {
		return sv.unsigned(name)
	}
	if digestOf(data) != d {
		return sv.changed(name)
	}
	return nil
}

// readChecked reads a top-level file and verifies it.
func (sv *signedView) readChecked(name string, limit int64) ([]byte, error) {
	data, err := readFile(sv.fsys, name, limit)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, known := sv.expected(name); known {
				return nil, sv.changed(name)
			}
		}
		return nil, classifyRead(err, CodeSecretNotFound, path.Join(DirName, name)+" not found")
	}
	return data, sv.checkFile(name, data)
}

// trustHint is what to do about a change the signature does not cover.
const trustHint = "the vault owner can review it with 'agent-vault check' and accept it with 'agent-vault seal'"

func (sv *signedView) changed(name string) *Error {
	return errorf(CodeUntrusted, "%s differs from what the owner signed (version %d)", path.Join(DirName, name), sv.st.version).
		withHint(trustHint)
}

func (sv *signedView) unsigned(name string) *Error {
	return errorf(CodeUntrusted, "%s is not covered by the owner's signature (version %d)", path.Join(DirName, name), sv.st.version).
		withHint(trustHint)
}
