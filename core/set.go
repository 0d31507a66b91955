package core

import (
	"fmt"
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
	return e.SetMany(map[string][]byte{secretPath: value}, opts)
}

// SetMany stores several secrets in one operation: one manifest write, one
// journal, and encryption spread across workers. It is how bulk imports
// stay linear in the number of secrets.
func (e *Editor) SetMany(values map[string][]byte, opts SetOptions) error {
	paths := make([]string, 0, len(values))
	for p, v := range values {
		if err := ValidateSecretPath(p); err != nil {
			return err
		}
		if len(v) > maxSecretSize {
			return errorf(CodeInvalidInput, "value of %s is larger than %d bytes", p, maxSecretSize)
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	m := e.v.manifest.clone()
	groupOf := m.groupIndex()
	now := stamp(e.opts.Now())
	nv := make([]newValue, 0, len(paths))
	regrant := map[string]bool{}
	for _, p := range paths {
		old := groupOf[p]
		if other := sharesFiles(p); other != "" && old == "" {
			if _, ok := groupOf[other]; ok {
				return errorf(CodeConflict, "secret %s would share its files with %s", p, other).
					withHint("a path without '/' is stored as default/<path>, where the original agent-vault keeps it; choose another name")
			}
		}
		group := opts.Group
		switch {
		case group == "" && old != "":
			group = old
		case group == "":
			group = DefaultGroup(p)
		}
		if err := ValidateName("group", group); err != nil {
			return err
		}
		for _, name := range opts.Agents {
			if _, err := e.agent(name); err != nil {
				return err
			}
			if ma := m.Agent(name); !slices.Contains(ma.Groups, group) {
				ma.Groups = append(ma.Groups, group)
				regrant[group] = true
			}
		}
		if old != group {
			if old != "" {
				g := m.Group(old)
				g.Secrets = slices.DeleteFunc(g.Secrets, func(s string) bool { return s == p })
			}
			if g := m.Group(group); g != nil {
				g.Secrets = append(g.Secrets, p)
			} else {
				m.Groups = append(m.Groups, GroupEntry{Name: group, Secrets: []string{p}})
			}
			groupOf[p] = group
		}
		meta := &Metadata{Name: p, Group: group, Created: now, Rotated: now, Expires: opts.Expires}
		if old != "" {
			if prev, err := e.v.Metadata(p); err == nil {
				meta.Created = prev.Created
				if meta.Expires == nil {
					meta.Expires = prev.Expires
				}
			}
		}
		nv = append(nv, newValue{meta: meta, value: values[p]})
	}
	// Granting a group re-encrypts the secrets it already held.
	var others []string
	for s, g := range groupOf {
		if _, beingSet := values[s]; regrant[g] && !beingSet {
			others = append(others, s)
		}
	}
	slices.Sort(others)
	if len(others) > 0 {
		if err := e.requireOwner(); err != nil {
			return err
		}
	}
	args := paths
	if len(args) > 3 {
		args = append(slices.Clone(paths[:3]), fmt.Sprintf("and %d more", len(paths)-3))
	}
	return e.run(plan{Op: "set", Args: args, Set: paths, Secrets: others}, m, nv)
}

// writeValues encrypts and writes new values across the workers.
func (e *Editor) writeValues(nv []newValue) error {
	if len(nv) == 0 {
		return nil
	}
	rc, err := e.newRecipientCache()
	if err != nil {
		return err
	}
	if err := e.parallel(len(nv), func(i int) error { return e.writeSecret(rc, nv[i].meta, nv[i].value) }); err != nil {
		return err
	}
	names := make([]string, len(nv))
	for i := range nv {
		names[i] = nv[i].meta.Name
	}
	return e.dropLegacy(names)
}

// dropLegacy removes the earlier-layout files of secrets just written at
// their own place (see secretBase). A crash before this leaves both, and
// readers prefer the new ones.
func (e *Editor) dropLegacy(secrets []string) error {
	for _, s := range secrets {
		for _, name := range legacyFiles(e.v.fsys, s) {
			if err := removeFile(e.w, name); err != nil {
				return err
			}
		}
	}
	return nil
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
	if err := writeFile(e.w, metaFile(meta.Name), mdata, 0o644); err != nil {
		return err
	}
	e.recordSecret(meta.Name, ct, mdata)
	return nil
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
		pub, err := e.agentRecipient(a.Name)
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
