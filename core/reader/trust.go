package reader

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/core"
)

// Seen is a signed version of a vault that a reader has accepted: an older
// one, or an unsigned state of the same repository, is refused as a
// rollback (docs/architecture.md §10).
type Seen struct {
	VaultID string `json:"vault_id"`
	Version uint64 `json:"version"`
}

// seenDir holds, under the home directory, the highest signed version seen
// of each vault (seen/<vault id>, shared with the owner's CLI) and which
// vault each repository location held (seen/loc-<hash>), so a rollback to
// an unsigned state is noticed too. Without a home there is no memory
// across processes, only Options.Seen.
const seenDir = "seen"

// trust verifies the vault's owner signature once per opened state, checks
// it against what was seen before, and remembers the new version. It is
// called by reopen, so once per HEAD.
func (r *Reader) trust(v *core.Vault) (*core.Trust, error) {
	pin, derived := r.pin(v)
	t, err := v.LoadTrust(pin)
	if err != nil && derived {
		// The owner's own key names its pin, but an unsigned vault (made
		// by the original tool) is still the owner's to read, with the
		// warning below; a vault signed by another key is not.
		if t0, err0 := v.LoadTrust(""); err0 == nil && !t0.Signed() {
			t, err, pin = t0, nil, ""
		}
	}
	if err != nil {
		return nil, err
	}
	seen := r.seen(t)
	if err := t.CheckSeen(seen.VaultID, seen.Version); err != nil {
		return nil, err
	}
	switch {
	case !t.Signed():
		if !r.warnedUnsigned {
			r.warnedUnsigned = true
			r.warn("the vault carries no owner signature, so what it holds cannot be verified (its owner can sign it with 'agent-vault seal')")
		}
	case pin == "" && seen.VaultID == "" && !r.warnedFirstUse:
		r.warnedFirstUse = true
		r.warn("no owner pin: verified against the key the vault names itself (fingerprint " + t.Fingerprint() +
			"); pin it with " + core.OwnerKeyEnv + "=" + t.OwnerKey())
	}
	if t.Signed() && (t.VaultID() != seen.VaultID || t.Version() > seen.Version) {
		r.remember(t)
	}
	return t, nil
}

// pin finds the owner's verification key: given explicitly (an option or
// AGENT_VAULT_OWNER), in the pin file beside the key file in use, or
// derived from the owner key itself (derived is then true). "" means
// trust on first use.
func (r *Reader) pin(v *core.Vault) (pin string, derived bool) {
	if p := strings.TrimSpace(r.opts.Owner); p != "" {
		return p, false
	}
	if r.keyPath != "" && !r.pinRead {
		// Read once, with the key: it does not change under a reader.
		r.pinRead = true
		if data, err := r.host.ReadFile(core.PinPath(r.keyPath), keyFileLimit); err == nil {
			r.pinFile = strings.TrimSpace(string(data))
		}
	}
	if r.pinFile != "" {
		return r.pinFile, false
	}
	if r.id != nil && v.IsOwner(r.id) {
		if p, err := core.OwnerVerificationKey(r.id); err == nil {
			return p, true
		}
	}
	return "", false
}

// seen is the highest signed state known for this repository: the one the
// caller gave, or the one remembered under the home directory.
func (r *Reader) seen(t *core.Trust) Seen {
	best := Seen{}
	if s := r.opts.Seen; s != nil && s.VaultID != "" {
		best = *s
	}
	id := t.VaultID()
	if id == "" {
		id = r.readState(r.locationFile())
	}
	if id != "" && (best.VaultID == "" || best.VaultID == id) {
		if n, err := strconv.ParseUint(r.readState(r.versionFile(id)), 10, 64); err == nil && n > best.Version {
			best = Seen{VaultID: id, Version: n}
		}
	}
	return best
}

// remember records t's version and which vault this location holds. It is
// best effort: failing to remember weakens rollback detection, nothing else.
func (r *Reader) remember(t *core.Trust) {
	if f := r.versionFile(t.VaultID()); f != "" {
		r.host.WriteFile(f, []byte(strconv.FormatUint(t.Version(), 10)+"\n"))
	}
	if f := r.locationFile(); f != "" {
		r.host.WriteFile(f, []byte(t.VaultID()+"\n"))
	}
}

func (r *Reader) readState(name string) string {
	if name == "" {
		return ""
	}
	data, err := r.host.ReadFile(name, 4096)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

func (r *Reader) versionFile(vaultID string) string {
	if r.opts.Home == "" || vaultID == "" || strings.ContainsAny(vaultID, `/\.`) {
		return ""
	}
	return filepath.Join(r.opts.Home, core.DirName, seenDir, vaultID)
}

func (r *Reader) locationFile() string {
	if r.opts.Home == "" {
		return ""
	}
	where := r.remote
	if where == "" {
		where = r.dir
	}
	sum := sha256.Sum256([]byte(where))
	return filepath.Join(r.opts.Home, core.DirName, seenDir, "loc-"+hex.EncodeToString(sum[:8]))
}
