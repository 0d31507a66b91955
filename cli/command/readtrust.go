package command

import (
	"os"
	"strings"

	"github.com/agent-vault/agent-vault/core"
)

// readTrust verifies the owner's signature for a read (get, list) with
// core's trust API. The pin is, in order: AGENT_VAULT_OWNER, the .owner
// file beside the key file in use, or the verification key derived from
// the owner key when that is the key in use. Without one the vault is
// verified against the key it names itself, with a warning. id may be nil.
func (c *ctx) readTrust(v *core.Vault, id *core.Identity) (*core.Trust, error) {
	pin := c.pin(v, id)
	t, err := v.LoadTrust(pin)
	if err != nil {
		return nil, err
	}
	var seen uint64
	if t.Signed() {
		seen = c.seenVersion(t.VaultID())
		if err := t.CheckSeen(t.VaultID(), seen); err != nil {
			return nil, err
		}
		c.recordSeen(t.VaultID(), t.Version())
	}
	switch {
	case !t.Signed():
		c.warnf("the vault carries no owner signature, so what it holds cannot be verified (its owner can sign it with 'agent-vault seal')")
	case pin == "" && seen == 0: // first use of this vault here
		c.warnf("no owner pin: verified against the key the vault names itself (fingerprint %s); pin it with %s=%s",
			t.Fingerprint(), core.OwnerKeyEnv, t.OwnerKey())
	}
	return t, nil
}

// pin finds the owner's verification key for a reader.
func (c *ctx) pin(v *core.Vault, id *core.Identity) string {
	if p := strings.TrimSpace(c.env.Getenv(core.OwnerKeyEnv)); p != "" {
		return p
	}
	if ch, err := core.ResolveKey(c.keySpec()); err == nil && ch.Path != "" {
		if data, err := os.ReadFile(core.PinPath(ch.Path)); err == nil {
			return strings.TrimSpace(string(data))
		}
	}
	if id != nil && v.IsOwner(id) {
		if p, err := core.OwnerVerificationKey(id); err == nil {
			return p
		}
	}
	return ""
}
