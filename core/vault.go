package core

import (
	"errors"
	"io/fs"
	"runtime"
	"slices"
	"sort"
	"sync"
)

// Vault is an opened .agent-vault directory: its configuration, read at
// open, and its policy, parsed once on first use. A get needs no policy,
// and parsing it is the one cost of opening that grows with the number of
// secrets. A Vault is not safe for concurrent mutation; readers may share
// one.
type Vault struct {
	fsys     fs.FS
	ownerPub string
	// loaded are the digests of config.yaml and owner.pub as read at open,
	// so verifying the signed state does not read them again.
	loaded map[string]digest

	policyOnce sync.Once
	policyErr  error
	manifest   *Manifest
}

// Open locates and loads a vault in fsys. fsys may be rooted at a
// repository (containing .agent-vault/) or at the .agent-vault directory
// itself, as when a user drops that folder into the browser.
func Open(fsys fs.FS) (*Vault, error) {
	root, err := locate(fsys)
	if err != nil {
		return nil, err
	}
	v := &Vault{fsys: root}
	if err := v.load(); err != nil {
		return nil, err
	}
	return v, nil
}

// locate finds the .agent-vault directory, refusing a symlinked one.
func locate(fsys fs.FS) (fs.FS, error) {
	if err := checkNoSymlinks(fsys, DirName); err == nil {
		sub, err := fs.Sub(fsys, DirName)
		if err != nil {
			return nil, wrap(CodeInternal, err, "failed to open %s", DirName)
		}
		return sub, nil
	} else if CodeOf(err) == CodeCorruptVault {
		return nil, err
	}
	if exists(fsys, manifestFile) && exists(fsys, configFile) {
		return fsys, nil
	}
	return nil, errorf(CodeVaultNotFound, "no %s directory found", DirName).
		withHint("run 'agent-vault init' in the repository, or point at the directory that contains %s", DirName)
}

// load reads config and owner key, and makes sure the manifest is there.
func (v *Vault) load() error {
	cfg, err := readFile(v.fsys, configFile, maxYAMLSize)
	if err != nil {
		return classifyRead(err, CodeVaultNotFound, "failed to read config")
	}
	if err := checkConfig(cfg); err != nil {
		return err
	}
	v.loaded = map[string]digest{configFile: digestOf(cfg)}
	pub, err := readFile(v.fsys, ownerPubFile, maxKeySize)
	if err != nil {
		return classifyRead(err, CodeCorruptVault, "failed to read owner public key")
	}
	v.loaded[ownerPubFile] = digestOf(pub)
	if v.ownerPub, err = recipientText(pub); err != nil {
		return wrap(CodeCorruptVault, err, "invalid %s/%s", DirName, ownerPubFile)
	}
	if err := checkNoSymlinks(v.fsys, manifestFile); err != nil {
		return classifyRead(err, CodeVaultNotFound, "failed to read manifest")
	}
	return nil
}

// policy parses the manifest on first use.
func (v *Vault) policy() (*Manifest, error) {
	v.policyOnce.Do(func() {
		data, err := readFile(v.fsys, manifestFile, maxYAMLSize)
		if err != nil {
			v.policyErr = classifyRead(err, CodeVaultNotFound, "failed to read manifest")
			return
		}
		v.manifest, v.policyErr = ParseManifest(data)
	})
	return v.manifest, v.policyErr
}

// checkConfig accepts version 1 with the age format only.
func checkConfig(data []byte) error {
	var c struct {
		Version    int `yaml:"version"`
		Encryption struct {
			Format string `yaml:"format"`
		} `yaml:"encryption"`
	}
	if err := decodeYAML(data, &c); err != nil {
		return wrap(CodeCorruptVault, err, "failed to parse %s/%s", DirName, configFile)
	}
	if c.Version != 1 || c.Encryption.Format != "age" {
		return errorf(CodeCorruptVault, "unsupported vault config (version %d, format %q)", c.Version, clip(c.Encryption.Format))
	}
	return nil
}

// classifyRead turns a read error into a classified one: a missing file
// gets missingCode, a classified error keeps its code, anything else is a
// corrupt vault.
func classifyRead(err error, missingCode Code, msg string) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return errorf(missingCode, "%s", msg)
	}
	return wrap(CodeCorruptVault, err, "%s", msg)
}

// Manifest returns the vault's policy. Callers must not modify it.
func (v *Vault) Manifest() (*Manifest, error) { return v.policy() }

// OwnerRecipient returns the owner's public key.
func (v *Vault) OwnerRecipient() string { return v.ownerPub }

// Metadata reads the metadata of one secret.
func (v *Vault) Metadata(secret string) (*Metadata, error) {
	if err := ValidateSecretPath(secret); err != nil {
		return nil, err
	}
	data, err := v.metadataBytes(secret)
	if err != nil {
		return nil, err
	}
	return parseSecretMetadata(secret, data)
}

// metadataBytes reads a secret's .meta file.
func (v *Vault) metadataBytes(secret string) ([]byte, error) {
	data, err := readFile(v.fsys, findMetaFile(v.fsys, secret), maxYAMLSize)
	if err != nil {
		return nil, classifyRead(err, CodeSecretNotFound, "secret "+secret+" not found")
	}
	return data, nil
}

// parseSecretMetadata parses the .meta of secret and checks it names it.
func parseSecretMetadata(secret string, data []byte) (*Metadata, error) {
	m, err := ParseMetadata(data)
	if err != nil {
		return nil, err
	}
	if m.Name != secret {
		return nil, errorf(CodeCorruptVault, "metadata of %s names %s", secret, m.Name)
	}
	return m, nil
}

// List returns the metadata of every secret in the manifest, optionally of
// one group only, sorted by name. It never decrypts anything.
func (v *Vault) List(group string) ([]*Metadata, error) {
	if group != "" {
		if err := ValidateName("group", group); err != nil {
			return nil, err
		}
	}
	m, err := v.policy()
	if err != nil {
		return nil, err
	}
	return v.list(m, group, v.Metadata)
}

// list lists the secrets of policy m, reading each one's metadata with
// meta.
func (v *Vault) list(m *Manifest, group string, meta func(string) (*Metadata, error)) ([]*Metadata, error) {
	if group != "" && m.Group(group) == nil {
		return nil, errorf(CodeInvalidInput, "unknown group %q", group)
	}
	var names []string
	for _, g := range m.Groups {
		if group == "" || g.Name == group {
			names = append(names, g.Secrets...)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	sort.Strings(names)
	// Parsing metadata is most of a listing's cost: spread it over the
	// cores, and report the first failure in name order.
	out := make([]*Metadata, len(names))
	errs := make([]error, len(names))
	parallel(runtime.GOMAXPROCS(0), len(names), func(i int) error {
		out[i], errs[i] = meta(names[i])
		return nil
	}, nil)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AgentInfo describes an agent for listings.
type AgentInfo struct {
	Name      string   `json:"name"`
	Groups    []string `json:"groups"`
	PublicKey string   `json:"public_key"`
	HasEscrow bool     `json:"has_escrow"`
}

// Agents lists the agents in manifest order with their public keys.
func (v *Vault) Agents() ([]AgentInfo, error) {
	m, err := v.policy()
	if err != nil {
		return nil, err
	}
	return v.agents(m, v.agentRecipient)
}

// agents lists the agents of policy m, reading public keys with pubKey.
func (v *Vault) agents(m *Manifest, pubKey func(string) (string, error)) ([]AgentInfo, error) {
	out := make([]AgentInfo, 0, len(m.Agents))
	for _, a := range m.Agents {
		pub, err := pubKey(a.Name)
		if err != nil && CodeOf(err) != CodeSecretNotFound {
			return nil, err
		}
		out = append(out, AgentInfo{
			Name:      a.Name,
			Groups:    append([]string{}, a.Groups...),
			PublicKey: pub,
			HasEscrow: exists(v.fsys, escrowFile(a.Name)),
		})
	}
	return out, nil
}

// agentRecipient reads agents/<name>/public.key. A missing file is
// reported as secret_not_found so callers can tell it from damage.
func (v *Vault) agentRecipient(name string) (string, error) {
	data, err := readFile(v.fsys, agentPubFile(name), maxKeySize)
	if err != nil {
		return "", classifyRead(err, CodeSecretNotFound, "public key of agent "+name+" not found")
	}
	return parseAgentRecipient(name, data)
}

// parseAgentRecipient parses the content of an agent's public.key. Only
// the parsed key is returned, never the file's other bytes, which may hold
// terminal controls.
func parseAgentRecipient(name string, data []byte) (string, error) {
	s, err := recipientText(data)
	if err != nil {
		return "", wrap(CodeCorruptVault, err, "invalid public key for agent %s", name)
	}
	return s, nil
}

// Session is a vault opened with one identity. The identity is parsed once
// and which agent it is is worked out once, on first use; the stanza that
// is its own in a secret is learned from the secret's metadata the first
// time that secret is read. Every later Get then costs one file read and
// one unwrap. A Session is safe for concurrent use.
type Session struct {
	v       *Vault
	id      *Identity
	isOwner bool

	once sync.Once
	// name is the agent this identity belongs to, "" for the owner or an
	// identity the vault does not know.
	name string

	mu sync.Mutex
	// stanzas holds, per secret read, this identity's stanza (-1 unknown).
	stanzas map[string]int

	// trust, when set, is checked on every Get (see WithTrust).
	trust *Trust
}

// WithIdentity returns a session that reads secrets as id.
func (v *Vault) WithIdentity(id *Identity) *Session {
	return &Session{v: v, id: id, isOwner: id.recipient == v.ownerPub, stanzas: map[string]int{}}
}

// Vault returns the underlying vault.
func (s *Session) Vault() *Vault { return s.v }

// Recipient returns the session identity's public key.
func (s *Session) Recipient() string { return s.id.recipient }

// Name returns "owner", the agent name, or "" for an unknown identity.
func (s *Session) Name() string {
	if s.isOwner {
		return "owner"
	}
	s.once.Do(func() { s.name = s.findName() })
	return s.name
}

// findName finds which agent the identity is. A key file named after its
// agent is confirmed by that agent's public key alone; otherwise public
// keys are read in policy order until one matches.
func (s *Session) findName() string {
	is := func(name string) bool {
		pub, err := s.v.agentRecipient(name)
		return err == nil && pub == s.id.recipient
	}
	if h := s.id.agentHint; h != "" && is(h) {
		return h
	}
	m, err := s.v.policy()
	if err != nil {
		return ""
	}
	for _, a := range m.Agents {
		if is(a.Name) {
			return a.Name
		}
	}
	return ""
}

// Get decrypts one secret. The caller owns the returned bytes and should
// clear them when done.
func (s *Session) Get(secret string) ([]byte, error) {
	if err := ValidateSecretPath(secret); err != nil {
		return nil, err
	}
	ct, meta, untrusted, err := s.readSecret(secret)
	if err != nil {
		return nil, err
	}
	if untrusted != nil {
		if meta != nil {
			if _, perr := parseSecretMetadata(secret, meta); perr != nil {
				return nil, perr // damaged, not merely unsigned
			}
		}
		pt, err := decrypt(ct, s.id.id, -1, maxSecretSize)
		return nil, refuseUnsigned(pt, wrapDecrypt(err, secret), untrusted)
	}
	pt, err := decrypt(ct, s.id.id, s.stanzaIndex(secret, meta), maxSecretSize)
	if err != nil {
		if CodeOf(err) == CodeNotAuthorized {
			return nil, s.notAuthorized(secret)
		}
		return nil, wrapDecrypt(err, secret)
	}
	return pt, nil
}

// wrapDecrypt adds the secret's name to a decryption failure.
func wrapDecrypt(err error, secret string) error {
	if err == nil {
		return nil
	}
	return wrap(CodeOf(err), err, "failed to read secret %s", secret)
}

// stanzaIndex predicts which stanza of secret belongs to this identity:
// the owner's is first, then come the agents in the order of the secret's
// authorized_agents. The metadata is read once per secret; a prediction
// that fails only means every stanza is tried. -1 means no prediction.
// meta, when not nil, is the metadata already read (and verified).
func (s *Session) stanzaIndex(secret string, meta []byte) int {
	if s.isOwner {
		return 0
	}
	name := s.Name()
	if name == "" {
		return -1
	}
	s.mu.Lock()
	i, ok := s.stanzas[secret]
	s.mu.Unlock()
	if ok {
		return i
	}
	i = -1
	var m *Metadata
	var err error
	if meta != nil {
		m, err = parseSecretMetadata(secret, meta)
	} else {
		m, err = s.v.Metadata(secret)
	}
	if err == nil {
		if j := slices.Index(m.AuthorizedAgents, name); j >= 0 {
			i = j + 1
		}
	}
	s.mu.Lock()
	s.stanzas[secret] = i
	s.mu.Unlock()
	return i
}

// notAuthorized explains which group the identity would need.
func (s *Session) notAuthorized(secret string) error {
	e := errorf(CodeNotAuthorized, "not authorized to read %s", secret)
	var group string
	if m, err := s.v.policy(); err == nil {
		group = m.GroupOf(secret)
	}
	who := s.Name()
	switch {
	case group != "" && who != "":
		e.withHint("ask the vault owner to run: agent-vault grant %s %s", who, group)
	case group != "":
		e.withHint("this key is not known to the vault; the owner must add the agent and grant group %s", group)
	}
	return e
}

// GroupInfo describes a group for listings.
type GroupInfo struct {
	Name    string   `json:"name"`
	Secrets []string `json:"secrets"`
	Agents  []string `json:"agents"`
}

// Groups lists the groups in manifest order with their secrets and agents.
func (v *Vault) Groups() ([]GroupInfo, error) {
	m, err := v.policy()
	if err != nil {
		return nil, err
	}
	out := make([]GroupInfo, 0, len(m.Groups))
	for _, g := range m.Groups {
		agents := m.AgentsFor(g.Name)
		if agents == nil {
			agents = []string{}
		}
		out = append(out, GroupInfo{Name: g.Name, Secrets: append([]string{}, g.Secrets...), Agents: agents})
	}
	return out, nil
}
