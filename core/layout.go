package core

import (
	"io/fs"
	"path"
	"strings"
)

// The on-disk layout of docs/architecture.md §4. All names are relative to the
// .agent-vault directory, which is the root of every file system core sees.
const (
	// DirName is the vault directory inside a repository.
	DirName = ".agent-vault"

	configFile   = "config.yaml"
	ownerPubFile = "owner.pub"
	manifestFile = "manifest.yaml"
	ignoreFile   = ".gitignore"
	agentsDir    = "agents"
	secretsDir   = "secrets"
	// journalFile records a multi-file operation in progress, so that an
	// interrupted one can be reported and finished. It is local state and
	// is ignored by Git.
	journalFile = ".pending.yaml"
	// LockFile serialises writers. Only native callers take it.
	LockFile = ".lock"
)

const configYAML = "version: 1\nencryption:\n  format: age\n"

// ignoreText is the original tool's .gitignore plus two lines: public keys
// must not be caught by "*.key", and local state must never be committed.
const ignoreText = "*.key\n*.pem\n**/private.*\n!**/*.escrow\n!**/public.key\n" + journalFile + "\n" + LockFile + "\n"

// Secret files. A path with '/' is stored at secrets/<path>.{enc,meta}; a
// path without one in the directory of its default group,
// secrets/default/<path>.{enc,meta}, where the original CLI keeps it. Earlier
// versions of this tool wrote such a secret at secrets/<path>.*: readers
// look there too (see findSecretFile), and the next write of the secret
// moves it.
const topLevelDir = "default"

// secretBase is where a secret's files are written, without extension.
func secretBase(secret string) string {
	if !strings.Contains(secret, "/") {
		return path.Join(secretsDir, topLevelDir, secret)
	}
	return path.Join(secretsDir, secret)
}

func encFile(secret string) string  { return secretBase(secret) + ".enc" }
func metaFile(secret string) string { return secretBase(secret) + ".meta" }

// legacyBase is where earlier versions wrote a path without '/', or ""
// for a path that has always lived at secretBase.
func legacyBase(secret string) string {
	if strings.Contains(secret, "/") {
		return ""
	}
	return path.Join(secretsDir, secret)
}

// findSecretFile returns the file a reader should open for a secret's
// ciphertext (ext ".enc") or metadata (".meta"): the original CLI's place
// when anything is there (a symlink included, which the read then refuses),
// else the earlier place when a file is there, else the original's place, so
// that a missing secret is reported where it would be written. When both
// exist the original's wins and check reports the other as shadowed.
func findSecretFile(fsys fs.FS, secret, ext string) string {
	name := secretBase(secret) + ext
	if old := legacyBase(secret); old != "" && !exists(fsys, name) && exists(fsys, old+ext) {
		return old + ext
	}
	return name
}

func findEncFile(fsys fs.FS, secret string) string  { return findSecretFile(fsys, secret, ".enc") }
func findMetaFile(fsys fs.FS, secret string) string { return findSecretFile(fsys, secret, ".meta") }

// legacyFiles lists the earlier-layout files of secret that exist, which a
// write at secretBase makes stale.
func legacyFiles(fsys fs.FS, secret string) []string {
	old := legacyBase(secret)
	if old == "" {
		return nil
	}
	var out []string
	for _, ext := range []string{".enc", ".meta"} {
		if exists(fsys, old+ext) {
			out = append(out, old+ext)
		}
	}
	return out
}

// sharesFiles returns the other secret path whose files would be the same
// as secret's: "x" and "default/x" both live at secrets/default/x.*, so a
// vault may hold only one of them. "" when there is none.
func sharesFiles(secret string) string {
	if !strings.Contains(secret, "/") {
		return topLevelDir + "/" + secret
	}
	if rest, ok := strings.CutPrefix(secret, topLevelDir+"/"); ok && !strings.Contains(rest, "/") {
		return rest
	}
	return ""
}

func agentDir(name string) string     { return path.Join(agentsDir, name) }
func agentPubFile(name string) string { return path.Join(agentsDir, name, "public.key") }
func escrowFile(name string) string   { return path.Join(agentsDir, name, "private.key.escrow") }

// LocalOnly reports whether a vault file is local state that is never
// committed (the journal, the lock and temporary files).
func LocalOnly(name string) bool {
	return name == journalFile || name == LockFile || isTempFile(path.Base(name))
}

// isTempFile recognises the temporary file a WriteFS stages an atomic
// write in: "." + base + ".tmp-" + random, beside the target (osfs names
// them so). A crash can leave one behind; check reports it and Repair
// removes it.
func isTempFile(base string) bool {
	return strings.HasPrefix(base, ".") && strings.Contains(base, ".tmp-")
}
