package core

import (
	"bytes"
	"errors"
	"io/fs"
	"path"
	"strings"

	"filippo.io/age"
)

// KeyEnv is the environment variable that may hold a key or a key path.
// Core never reads the environment; callers pass its value in a KeySpec.
const KeyEnv = "AGENT_VAULT_KEY"

// KeySpec gathers every place a private key may come from. Callers fill in
// what they have; ResolveKey applies the one precedence rule.
type KeySpec struct {
	// Path is an explicitly named key file (--key, key_path, keyPath).
	Path string `json:"path,omitempty"`
	// Text is an explicitly given raw key (key_str, keyString).
	Text string `json:"text,omitempty"`
	// Env is the value of AGENT_VAULT_KEY: a file path or a raw key.
	Env string `json:"env,omitempty"`
	// Home is the user's home directory, for "~" and the default key.
	Home string `json:"home,omitempty"`
}

// Key sources reported by ResolveKey.
const (
	SourceExplicit = "explicit"
	SourceEnv      = "env"
	SourceDefault  = "default"
)

// KeyChoice is where ResolveKey decided the key comes from: a file to read
// (Path) or raw text (Text).
type KeyChoice struct {
	Source string `json:"source"`
	Path   string `json:"path,omitempty"`
	Text   string `json:"-"`
}

// OwnerKeyPath returns the owner key location under home.
func OwnerKeyPath(home string) string { return path.Join(home, DirName, "owner.key") }

// AgentKeyPath returns where an agent's key is kept under home.
func AgentKeyPath(home, agent string) string {
	return path.Join(home, DirName, "agents", agent+".key")
}

// ResolveKey applies the key precedence of docs/architecture.md §4: an explicit key,
// then AGENT_VAULT_KEY, then the owner key under the home directory. It does
// no I/O; the caller reads Path if one is returned.
func ResolveKey(s KeySpec) (KeyChoice, error) {
	s.Env = strings.TrimSpace(s.Env) // a pasted value often carries a space or newline at either end
	switch {
	case s.Text != "":
		return KeyChoice{Source: SourceExplicit, Text: s.Text}, nil
	case s.Path != "":
		return KeyChoice{Source: SourceExplicit, Path: ExpandHome(s.Path, s.Home)}, nil
	case strings.Contains(s.Env, "AGE-SECRET-KEY-"):
		// A raw key, possibly a whole key file with comment lines.
		return KeyChoice{Source: SourceEnv, Text: s.Env}, nil
	case s.Env != "":
		return KeyChoice{Source: SourceEnv, Path: ExpandHome(s.Env, s.Home)}, nil
	case s.Home != "":
		return KeyChoice{Source: SourceDefault, Path: OwnerKeyPath(s.Home)}, nil
	}
	return KeyChoice{}, errorf(CodeVaultNotFound, "no key configured").
		withHint("pass --key, or set %s to a key file or an AGE-SECRET-KEY-... value", KeyEnv)
}

// missingKeyError classifies a key file that could not be read. A missing
// default key means no key is configured at all; a missing explicit one is a
// bad key argument.
func missingKeyError(c KeyChoice, cause error) error {
	if CodeOf(cause) != CodeInternal {
		return cause // the reader classified it, as a key file others may read
	}
	// The OS error repeats the path; keep only its reason, so the message
	// is built from parts known to be safe.
	var pe *fs.PathError
	if errors.As(cause, &pe) {
		cause = pe.Err
	}
	if c.Source == SourceDefault {
		return wrap(CodeVaultNotFound, cause, "no key configured and no owner key at %s", c.Path).
			withHint("pass --key, or set %s to a key file or an AGE-SECRET-KEY-... value", KeyEnv)
	}
	return wrap(CodeInvalidKey, cause, "failed to read key file %s", c.describe())
}

// ExpandHome replaces a leading "~" or "~/" in p with home, as a shell
// would; callers apply it to every path flag (--key, --repo, --audit-log),
// since a shell leaves "--flag=~/x" unexpanded. Other paths are unchanged.
func ExpandHome(p, home string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		return path.Join(home, p[1:])
	}
	return p
}

// Identity is a parsed private key together with its public recipient,
// computed once so gets can find their own stanza without extra work.
type Identity struct {
	id        age.Identity
	recipient string
	// agentHint is the agent a key file named agents/<name>.key suggests.
	// A session checks that agent's public key first, so a new process
	// finds its stanza with one file read instead of one per agent.
	agentHint string
}

// ParseIdentity parses a key file or raw key text. The age-keygen format,
// with "#" comment lines, is accepted. Exactly one key must be present. The
// error never echoes the input, which is secret.
func ParseIdentity(data []byte) (*Identity, error) {
	if len(data) > maxKeySize {
		return nil, errorf(CodeInvalidKey, "key is too large")
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, errorf(CodeInvalidKey, "not an age secret key").
			withHint("expected a line starting with AGE-SECRET-KEY-1")
	}
	if len(ids) != 1 {
		return nil, errorf(CodeInvalidKey, "key file holds %d keys, expected one", len(ids))
	}
	switch k := ids[0].(type) {
	case *age.X25519Identity:
		fast, err := newX25519Identity(k)
		if err != nil {
			return nil, err
		}
		return &Identity{id: fast, recipient: k.Recipient().String()}, nil
	case *age.HybridIdentity:
		return &Identity{id: k, recipient: k.Recipient().String()}, nil
	}
	return nil, errorf(CodeInvalidKey, "unsupported key type")
}

// Recipient returns the public key (age1...) of the identity.
func (i *Identity) Recipient() string { return i.recipient }

// NewKey generates a fresh X25519 key. It returns the key file content and
// the public recipient. The file holds the key line alone: the original
// CLI reads a key file as one trimmed key and cannot parse an age-keygen
// comment header.
func NewKey() (keyFile []byte, recipient string, err error) {
	k, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, "", wrap(CodeInternal, err, "failed to generate key")
	}
	return []byte(k.String() + "\n"), k.Recipient().String(), nil
}

// keyFile returns the identity in the form NewKey writes: its key line and
// a newline. Escrows hold these same bytes, so a restored key is the file
// the agent had.
func (i *Identity) keyFile() ([]byte, error) {
	s, ok := i.id.(interface{ String() string })
	if !ok {
		return nil, errorf(CodeInvalidKey, "unsupported key type")
	}
	return []byte(s.String() + "\n"), nil
}

// ParseRecipient parses an age public key, as found in owner.pub and
// agents/<name>/public.key.
func ParseRecipient(s string) (age.Recipient, error) {
	rs, err := age.ParseRecipients(strings.NewReader(s))
	if err != nil || len(rs) != 1 {
		return nil, errorf(CodeCorruptVault, "invalid public key")
	}
	return fastRecipient(rs[0])
}

// LoadIdentity resolves spec and parses the chosen key, calling read for a
// key file. Callers supply read because core does no I/O of its own: the
// CLI reads the disk, a binding passes bytes it already read.
func LoadIdentity(spec KeySpec, read func(path string) ([]byte, error)) (*Identity, error) {
	c, err := ResolveKey(spec)
	if err != nil {
		return nil, err
	}
	data := []byte(c.Text)
	if c.Path != "" {
		if data, err = read(c.Path); err != nil {
			return nil, missingKeyError(c, err)
		}
	}
	defer zero(data)
	id, err := ParseIdentity(data)
	if err != nil {
		return nil, wrap(CodeInvalidKey, err, "unusable key from %s", c.describe())
	}
	if name, ok := strings.CutSuffix(c.Path[strings.LastIndexAny(c.Path, `/\`)+1:], ".key"); ok && ValidateName("agent", name) == nil {
		id.agentHint = name
	}
	return id, nil
}

// describe names a key source without revealing a raw key.
func (c KeyChoice) describe() string {
	if c.Path != "" && !strings.Contains(c.Path, "SECRET-KEY") {
		return clip(c.Path)
	}
	if c.Source == SourceEnv {
		return KeyEnv
	}
	return "the key given"
}
