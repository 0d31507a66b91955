package core

import (
	"errors"
	"io/fs"
	"path"
	"sort"
)

// undo is what an operation's writes replace. It holds public files only
// (policy, public keys, escrows, ciphertext and metadata), never a value.
type undo struct {
	// files maps each file the operation may write or remove to its
	// earlier content, nil for one that did not exist.
	files map[string][]byte
	// dirs are the directories above those files that did not exist, to
	// be removed again when empty.
	dirs []string
}

// snapshot records, before p is applied, the files applying it may change
// directly. The secrets p re-encrypts are not among them: their writes are
// staged and dropped on failure (see reencrypt).
func (e *Editor) snapshot(p *plan, nv []newValue) (undo, error) {
	names := []string{manifestFile}
	for name := range p.Files {
		names = append(names, name)
	}
	names = append(names, p.Remove...)
	for _, v := range nv {
		names = append(names, encFile(v.meta.Name), metaFile(v.meta.Name))
		names = append(names, legacyFiles(e.v.fsys, v.meta.Name)...)
	}
	u := undo{files: map[string][]byte{}}
	missingDir := map[string]bool{}
	for _, name := range names {
		if _, done := u.files[name]; done {
			continue
		}
		fi, err := e.w.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			u.files[name] = nil
			for d := path.Dir(name); d != "." && !missingDir[d]; d = path.Dir(d) {
				if _, err := e.w.Lstat(d); err == nil {
					break
				}
				missingDir[d] = true
				u.dirs = append(u.dirs, d)
			}
		case err != nil:
			return undo{}, wrap(CodeCorruptVault, err, "failed to read %s", name)
		case fi.IsDir():
			// Restoring the files inside it restores the directory.
		default:
			data, err := readFile(e.v.fsys, name, maxSecretSize)
			if err != nil {
				return undo{}, classifyRead(err, CodeCorruptVault, "failed to read "+name)
			}
			u.files[name] = data
		}
	}
	return u, nil
}

// undoable reports whether a failed apply can be taken back with its
// snapshot. A classified error (a secret missing or undecryptable, a
// public key gone) is raised before any re-encrypted file is put in place,
// since those writes are staged, and running the plan again would fail the
// same way: undo it. An unclassified one (the disk failing part-way) may
// come after files were replaced: keep the journal, so check reports it
// and repair finishes it once the cause is fixed.
func (e *Editor) undoable(p *plan, err error) bool {
	if CodeOf(err) == CodeInternal {
		return false
	}
	_, staged := e.w.(writeStager)
	return staged || len(p.Secrets) == 0
}

// rollback puts back every file in u and removes the journal, so the vault
// is as it was before the operation began. cause is the error that stopped
// the operation; it is returned, joined with any failure to roll back.
func (e *Editor) rollback(u undo, cause error) error {
	names := make([]string, 0, len(u.files))
	for name := range u.files {
		names = append(names, name)
	}
	// Files before the directories that held them, and the manifest last:
	// it is what marks the policy.
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	for _, name := range names {
		if name == manifestFile {
			continue
		}
		if err := e.restore(name, u.files[name]); err != nil {
			return errors.Join(cause, err)
		}
	}
	// Deepest first; a directory something else now uses stays.
	sort.Sort(sort.Reverse(sort.StringSlice(u.dirs)))
	for _, d := range u.dirs {
		if checkWritable(e.w, d) == nil {
			e.w.Remove(d)
		}
	}
	if err := e.restore(manifestFile, u.files[manifestFile]); err != nil {
		return errors.Join(cause, err)
	}
	if m, err := ParseManifest(u.files[manifestFile]); err == nil {
		e.v.manifest = m
	}
	if err := e.Finish(); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

func (e *Editor) restore(name string, data []byte) error {
	if data == nil {
		return removeFile(e.w, name)
	}
	return writeFile(e.w, name, data, 0o644)
}
