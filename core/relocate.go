package core

import (
	"slices"
	"strings"
)

// Relocate moves top-level secrets (paths without '/') that an earlier
// version of this tool stored at secrets/<path>.* to secrets/default/<path>.*,
// where the original CLI looks for them. Where both places hold files, the
// ones whose metadata was rotated more recently are kept and the others
// removed (Git history still has them). It needs no key: files are moved
// byte for byte. It returns the secrets it moved or cleaned up.
func (e *Editor) Relocate() ([]string, error) {
	var names []string
	for _, g := range e.v.manifest.Groups {
		for _, s := range g.Secrets {
			if !strings.Contains(s, "/") && len(legacyFiles(e.v.fsys, s)) > 0 {
				names = append(names, s)
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	for _, s := range names {
		if err := e.relocate(s); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func (e *Editor) relocate(s string) error {
	if e.legacyIsNewer(s) {
		for _, old := range legacyFiles(e.v.fsys, s) {
			data, err := readFile(e.v.fsys, old, maxSecretSize)
			if err != nil {
				return classifyRead(err, CodeCorruptVault, "failed to read "+old)
			}
			ext := old[len(legacyBase(s)):]
			if err := writeFile(e.w, secretBase(s)+ext, data, 0o644); err != nil {
				return err
			}
		}
	}
	return e.dropLegacy([]string{s})
}

// legacyIsNewer reports whether the earlier-layout files of s are the ones
// to keep: the original CLI's place has no ciphertext, or its metadata was
// rotated before the earlier place's. Unreadable metadata counts as older.
func (e *Editor) legacyIsNewer(s string) bool {
	if !exists(e.v.fsys, encFile(s)) {
		return true
	}
	rotated := func(name string) (int64, bool) {
		data, err := readFile(e.v.fsys, name, maxYAMLSize)
		if err != nil {
			return 0, false
		}
		m, err := ParseMetadata(data)
		if err != nil || m.Name != s {
			return 0, false
		}
		return m.Rotated.UnixNano(), true
	}
	cur, curOK := rotated(metaFile(s))
	old, oldOK := rotated(legacyBase(s) + ".meta")
	return oldOK && (!curOK || old > cur) && exists(e.v.fsys, legacyBase(s)+".enc")
}
