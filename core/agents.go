package core

import (
	"slices"
	"strings"

	"filippo.io/age"
)

// CheckNewAgent validates that name can be added, before the caller
// creates a key file for it.
func (e *Editor) CheckNewAgent(name string) error {
	if err := ValidateName("agent", name); err != nil {
		return err
	}
	if e.v.manifest.Agent(name) != nil || exists(e.v.fsys, agentDir(name)) {
		return errorf(CodeConflict, "agent %q already exists", name)
	}
	return nil
}

// AddAgent registers a new agent with no groups. keyFile is the agent's
// private key (as written by NewKey); its public half goes to
// agents/<name>/public.key and the whole key, encrypted to the owner, to the
// escrow file.
func (e *Editor) AddAgent(name string, keyFile []byte) error {
	if err := e.CheckNewAgent(name); err != nil {
		return err
	}
	files, err := e.agentKeyFiles(name, keyFile)
	if err != nil {
		return err
	}
	m := e.v.manifest.clone()
	m.Agents = append(m.Agents, AgentEntry{Name: name, Groups: []string{}})
	return e.run(plan{Op: "add-agent", Args: []string{name}, Files: files}, m, nil)
}

// agentKeyFiles builds an agent's public key and escrow files. Both are
// public (the escrow is ciphertext to the owner), so a plan may carry them.
func (e *Editor) agentKeyFiles(name string, keyFile []byte) (map[string]string, error) {
	id, err := ParseIdentity(keyFile)
	if err != nil {
		return nil, err
	}
	owner, err := e.ownerRecipient()
	if err != nil {
		return nil, err
	}
	// The escrow holds the key line alone, whatever comment lines keyFile
	// had, so a key restored from it is one the original CLI reads.
	line, err := id.keyFile()
	if err != nil {
		return nil, err
	}
	defer zero(line)
	escrow, err := encrypt(line, []age.Recipient{owner})
	if err != nil {
		return nil, err
	}
	return encodeFiles(map[string][]byte{
		agentPubFile(name): []byte(id.recipient + "\n"),
		escrowFile(name):   escrow,
	}), nil
}

// RemoveAgent deletes an agent from the policy and the repository and
// re-encrypts every secret it could read without it. It returns those
// secrets: they must be rotated at their source, because the agent may
// have copied them and Git history still holds the old ciphertext.
func (e *Editor) RemoveAgent(name string) ([]string, error) {
	if err := e.requireOwner(); err != nil {
		return nil, err
	}
	a, err := e.agent(name)
	if err != nil {
		return nil, err
	}
	affected := e.v.manifest.secretsOfGroups(a.Groups)
	m := e.v.manifest.clone()
	m.Agents = slices.DeleteFunc(m.Agents, func(x AgentEntry) bool { return x.Name == name })
	p := plan{Op: "remove-agent", Args: []string{name}, Secrets: affected,
		Remove: []string{agentPubFile(name), escrowFile(name), agentDir(name)}}
	return affected, e.run(p, m, nil)
}

// RecoverAgent replaces a lost agent key: newKeyFile becomes the agent's
// key, a new escrow is written, and the agent's secrets are re-encrypted so
// that only the new key (and not the lost one) can read them.
func (e *Editor) RecoverAgent(name string, newKeyFile []byte) ([]string, error) {
	if err := e.requireOwner(); err != nil {
		return nil, err
	}
	a, err := e.agent(name)
	if err != nil {
		return nil, err
	}
	affected := e.v.manifest.secretsOfGroups(a.Groups)
	files, err := e.agentKeyFiles(name, newKeyFile)
	if err != nil {
		return nil, err
	}
	p := plan{Op: "recover-agent", Args: []string{name}, Secrets: affected, Files: files}
	return affected, e.run(p, e.v.manifest.clone(), nil)
}

// RestoreAgent decrypts an agent's escrow with the owner key and returns
// the original key as a key file of one line, whatever comment lines or
// trailing newline the escrow held (older escrows carried a comment
// header; the original tool's carry no newline). It refuses an escrow that does not hold the key
// matching the agent's public key, such as one copied from another agent.
func (e *Editor) RestoreAgent(name string) ([]byte, error) {
	if err := e.requireOwner(); err != nil {
		return nil, err
	}
	if _, err := e.agent(name); err != nil {
		return nil, err
	}
	if err := e.requireTrusted(nil); err != nil {
		return nil, err
	}
	return e.v.openEscrow(e.opts.Owner.id, name)
}

// openEscrow decrypts an agent's escrow with the owner identity and returns
// the key file inside, refusing one whose key is not the agent's public
// key (a swapped public key, or an escrow copied from another agent).
func (v *Vault) openEscrow(owner age.Identity, name string) ([]byte, error) {
	ct, err := readFile(v.fsys, escrowFile(name), maxKeySize)
	if err != nil {
		return nil, classifyRead(err, CodeCorruptVault, "failed to read escrow of agent "+name)
	}
	key, err := decrypt(ct, owner, 0, maxKeySize)
	if err != nil {
		return nil, wrap(CodeOf(err), err, "failed to decrypt escrow of agent %s", name)
	}
	id, err := ParseIdentity(key)
	zero(key)
	if err != nil {
		return nil, wrap(CodeCorruptVault, err, "escrow of agent %s does not hold a key", name)
	}
	pub, err := v.agentRecipient(name)
	if err != nil {
		return nil, err
	}
	if id.recipient != pub {
		return nil, errorf(CodeCorruptVault, "escrow of agent %s holds a different agent's key than its public key", name)
	}
	return id.keyFile()
}

// Grant gives agent access to group and re-encrypts the group's secrets to
// include it.
func (e *Editor) Grant(agent, group string) ([]string, error) {
	a, err := e.policyChange(agent, group)
	if err != nil {
		return nil, err
	}
	if slices.Contains(a.Groups, group) {
		return nil, errorf(CodeConflict, "agent %s already has group %s", agent, group)
	}
	if n := len(e.v.manifest.AgentsFor(group)); n >= MaxAgentsPerGroup {
		return nil, errorf(CodeInvalidInput, "group %s already has %d agents, the most an age file can hold besides the owner", group, n).
			withHint("split the group's secrets into another group")
	}
	m := e.v.manifest.clone()
	ma := m.Agent(agent)
	ma.Groups = append(ma.Groups, group)
	secrets := m.Group(group).Secrets
	return secrets, e.run(plan{Op: "grant", Args: []string{agent, group}, Secrets: secrets}, m, nil)
}

// Revoke removes group from agent and re-encrypts the group's secrets
// without it. It returns the secrets to rotate at their source.
func (e *Editor) Revoke(agent, group string) ([]string, error) {
	a, err := e.policyChange(agent, group)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(a.Groups, group) {
		return nil, errorf(CodeInvalidInput, "agent %s does not have group %s", agent, group)
	}
	m := e.v.manifest.clone()
	ma := m.Agent(agent)
	ma.Groups = slices.DeleteFunc(ma.Groups, func(g string) bool { return g == group })
	secrets := m.Group(group).Secrets
	return secrets, e.run(plan{Op: "revoke", Args: []string{agent, group}, Secrets: secrets}, m, nil)
}

// policyChange validates a grant or revoke: the owner key, a known agent
// and a known group.
func (e *Editor) policyChange(agent, group string) (*AgentEntry, error) {
	if err := e.requireOwner(); err != nil {
		return nil, err
	}
	a, err := e.agent(agent)
	if err != nil {
		return nil, err
	}
	return a, e.knownGroup(group)
}

func (e *Editor) knownGroup(group string) error {
	if err := ValidateName("group", group); err != nil {
		return err
	}
	if e.v.manifest.Group(group) == nil {
		var names []string
		for _, g := range e.v.manifest.Groups {
			names = append(names, g.Name)
		}
		err := errorf(CodeInvalidInput, "unknown group %q", group)
		if len(names) > 0 {
			return err.withHint("known groups: %s", strings.Join(names, ", "))
		}
		return err.withHint("groups are created by 'agent-vault set <group>/<name> ...'")
	}
	return nil
}
