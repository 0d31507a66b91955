package core

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
)

// Location is where a vault repository lives locally, and the remote it
// mirrors when the user named a URL.
type Location struct {
	// Dir is the local repository directory.
	Dir string `json:"dir"`
	// Remote is the URL to clone from and pull, or "" for a local path.
	Remote string `json:"remote,omitempty"`
}

// IsRemote reports whether repo names a Git URL rather than a local path.
func IsRemote(repo string) bool {
	for _, p := range []string{"https://", "http://", "ssh://", "git://", "file://"} {
		if strings.HasPrefix(repo, p) {
			return true
		}
	}
	// scp-like syntax: user@host:path
	if at, colon := strings.Index(repo, "@"), strings.Index(repo, ":"); at > 0 && colon > at && !strings.Contains(repo[:at], "/") {
		return true
	}
	return false
}

// Locate maps a repository argument to a local directory. A URL maps to a
// clone under ~/.agent-vault/cache, named after the URL and a short hash of
// it, so two URLs never share a clone and no URL can escape the cache.
func Locate(repo, home string) (Location, error) {
	if repo == "" {
		return Location{}, errorf(CodeInvalidInput, "no repository given")
	}
	if strings.ContainsRune(repo, 0) {
		return Location{}, errorf(CodeInvalidInput, "repository contains a NUL byte")
	}
	if !IsRemote(repo) {
		return Location{Dir: ExpandHome(repo, home)}, nil
	}
	if home == "" {
		return Location{}, errorf(CodeInvalidInput, "a home directory is needed to cache %s", clip(repo))
	}
	sum := sha256.Sum256([]byte(repo))
	base := repo
	if i := strings.LastIndexAny(base, "/:"); i >= 0 {
		base = base[i+1:]
	}
	base = strings.TrimSuffix(base, ".git")
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, base)
	if len(clean) > 40 {
		clean = clean[:40]
	}
	name := clean + "-" + hex.EncodeToString(sum[:6])
	return Location{Dir: path.Join(home, DirName, "cache", name), Remote: repo}, nil
}
