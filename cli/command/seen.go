package command

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/core"
)

// The highest signed version of each vault this user has seen or signed is
// kept in ~/.agent-vault/seen/<vault id>, so an older signed state (a
// rollback, such as a pre-revoke tree committed again) is refused by the
// owner's commands and by get and list on this machine.

func (c *ctx) seenFile(vaultID string) string {
	home, err := c.home()
	if err != nil || vaultID == "" || strings.ContainsAny(vaultID, `/\.`) {
		return ""
	}
	return filepath.Join(home, core.DirName, "seen", vaultID)
}

// seenVersion returns the highest version of vaultID seen here, 0 if none.
func (c *ctx) seenVersion(vaultID string) uint64 {
	f := c.seenFile(vaultID)
	if f == "" {
		return 0
	}
	data, err := os.ReadFile(f)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	return n
}

// recordSeen remembers version of vaultID if it is the highest so far. It
// is best effort: failing to remember weakens rollback detection only.
func (c *ctx) recordSeen(vaultID string, version uint64) {
	f := c.seenFile(vaultID)
	if f == "" || version <= c.seenVersion(vaultID) {
		return
	}
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		c.warnf("could not remember the vault's signed version: %v", err)
		return
	}
	tmp := f + ".tmp-" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, []byte(strconv.FormatUint(version, 10)+"\n"), 0o600); err != nil {
		c.warnf("could not remember the vault's signed version: %v", err)
		return
	}
	if err := os.Rename(tmp, f); err != nil {
		os.Remove(tmp)
		c.warnf("could not remember the vault's signed version: %v", err)
	}
}
