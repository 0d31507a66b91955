package core

import (
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

func encFile(secret string) string    { return path.Join(secretsDir, secret+".enc") }
func metaFile(secret string) string   { return path.Join(secretsDir, secret+".meta") }
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
