package core

import (
	"slices"
	"time"

	"filippo.io/age"
)

// SetOptions are the optional parts of a set.
type SetOptions struct {
	// Group overrides the secret's group. Empty keeps the current group of
	// an existing secret, or uses DefaultGroup for a new one.
	Group string
	// Agents are granted the secret's group as part of the set.
	Agents []string
	// Expires sets an expiry date; nil keeps the current one.
	Expires *time.Time
}

// Set stores value under secretPath, encrypted to the owner and every agent
// granted its group. It needs no private key unless Agents grants access to
// a group that already holds other secrets.
func (e *Editor) Set(secretPath string, value []byte, opts SetOptions) error {
	if err := ValidateSecretPath(secretPath); err != nil {
		return err
	}
	old := e.v.manifest.GroupOf(secretPath)
	group := opts.Group
	switch {
	case group == "" && old != "":
		group = old
	case group == "":
		group = DefaultGroup(secretPath)
	}
	if err := ValidateName("group", group); err != nil {
		return err
	}
	if len(value) > maxSecretSize {
		return errorf(CodeInvalidInput, "value is larger than %d bytes", maxSecretSize)
	}
	m := e.v.manifest.clone()
	var regrant []string
	for _, name := range opts.Agents {
		a, err := e.agent(name)
		if err != nil {
			return err
		}
		if !slices.Contains(a.Groups, group) {
			ma := m.Agent(name)
			ma.Groups = append(ma.Groups, group)
			if g := m.Group(group); g != nil {
				regrant = g.Secrets
			}
		}
	}
	if len(regrant) > 0 {
		if err := e.requireOwner(); err != nil {
			return err
		}
	}
	if old != group {
		if old != "" {
			g := m.Group(old)
			g.Secrets = slices.DeleteFunc(g.Secrets, func(s string) bool { return s == secretPath })
		}
		if g := m.Group(group); g != nil {
			g.Secrets = append(g.Secrets, secretPath)
		} else {
			m.Groups = append(m.Groups, GroupEntry{Name: group, Secrets: []string{secretPath}})
		}
	}
	now := e.opts.Now().UTC()
	meta := &Metadata{Name: secretPath, Group: group, Created: now, Rotated: now, Expires: opts.Expires}
	if prev, err := e.v.Metadata(secretPath); err == nil {
		meta.Created = prev.Created
		if meta.Expires == nil {
			meta.Expires = prev.Expires
		}
	}
	others := slices.DeleteFunc(slices.Clone(regrant), func(s string) bool { return s == secretPath })
	p := plan{Op: "set", Args: []string{secretPath}, Set: secretPath, Secrets: others}
	return e.run(p, m, &newValue{meta: meta, value: value})
}

// writeSecret encrypts value to the policy of meta.Group and writes the
// ciphertext, then the metadata. The ciphertext goes first: after a crash
// between the two the owner can still read the new value, and check sees
// the stale metadata.
func (e *Editor) writeSecret(rc *recipientCache, meta *Metadata, value []byte) error {
	agents := e.v.manifest.AgentsFor(meta.Group)
	recipients, err := rc.recipients(agents)
	if err != nil {
		return err
	}
	ct, err := encrypt(value, recipients)
	if err != nil {
		return err
	}
	m := *meta
	m.AuthorizedAgents = agents
	mdata, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := writeFile(e.w, encFile(meta.Name), ct, 0o644); err != nil {
		return err
	}
	return writeFile(e.w, metaFile(meta.Name), mdata, 0o644)
}

// recipientCache parses each public key once per operation, so bulk work
// does not re-read agents/<name>/public.key for every secret.
type recipientCache struct {
	owner age.Recipient
	byAgt map[string]age.Recipient
}

func (e *Editor) newRecipientCache() (*recipientCache, error) {
	owner, err := e.ownerRecipient()
	if err != nil {
		return nil, err
	}
	rc := &recipientCache{owner: owner, byAgt: map[string]age.Recipient{}}
	for _, a := range e.v.manifest.Agents {
		pub, err := e.v.agentRecipient(a.Name)
		if err != nil {
			if CodeOf(err) == CodeSecretNotFound {
				continue // reported by recipients() if the agent is needed
			}
			return nil, err
		}
		r, err := ParseRecipient(pub)
		if err != nil {
			return nil, err
		}
		rc.byAgt[a.Name] = r
	}
	return rc, nil
}

// recipients returns the owner followed by agents, in order.
func (rc *recipientCache) recipients(agents []string) ([]age.Recipient, error) {
	out := make([]age.Recipient, 0, len(agents)+1)
	out = append(out, rc.owner)
	for _, a := range agents {
		r, ok := rc.byAgt[a]
		if !ok {
			return nil, errorf(CodeCorruptVault, "agent %s has no public key", a).
				withHint("run 'agent-vault recover-agent %s' to give it a new key", a)
		}
		out = append(out, r)
	}
	return out, nil
}
