package core

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Manifest is the vault's policy: who the owners are, which agents exist,
// and which secrets each group holds. It never contains secret material.
type Manifest struct {
	Version int          `yaml:"version"`
	Owners  []OwnerEntry `yaml:"owners"`
	Agents  []AgentEntry `yaml:"agents"`
	Groups  []GroupEntry `yaml:"groups"`
}

// OwnerEntry names an owner and the file holding their public key.
type OwnerEntry struct {
	Name      string `yaml:"name"`
	PublicKey string `yaml:"public_key"`
}

// AgentEntry is an agent and the groups it may read.
type AgentEntry struct {
	Name   string   `yaml:"name"`
	Groups []string `yaml:"groups,flow"`
}

// GroupEntry is a group and the secret paths it contains.
type GroupEntry struct {
	Name    string   `yaml:"name"`
	Secrets []string `yaml:"secrets,flow"`
}

// ParseManifest decodes and validates manifest.yaml. Every name in it is
// checked, so a manifest committed by someone else cannot smuggle a
// traversal path into later file operations.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := decodeYAML(data, &m); err != nil {
		return nil, wrap(CodeCorruptVault, err, "failed to parse %s/%s", DirName, manifestFile)
	}
	if err := m.validate(); err != nil {
		return nil, wrap(CodeCorruptVault, err, "invalid %s/%s", DirName, manifestFile)
	}
	return &m, nil
}

// decodeYAML decodes a single YAML document strictly. yaml.v3 bounds alias
// expansion and nesting depth, which defuses "billion laughs" documents.
func decodeYAML(data []byte, v any) (err error) {
	defer func() {
		// yaml.v3 reports some malformed input by panicking; hostile repo
		// content must produce an error, never crash the host.
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed YAML: %s", SafeText(fmt.Sprint(r)))
		}
	}()
	if err := checkYAMLDepth(data); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return yamlError(err)
	}
	return nil
}

// yamlError makes a decoding error safe to show: yaml.v3 quotes the
// offending value raw, so a file could put terminal escapes in the message.
// A type error's lines are joined into one.
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		lines := make([]string, len(te.Errors))
		for i, l := range te.Errors {
			lines[i] = SafeText(strings.TrimSpace(l))
		}
		return errors.New("yaml: " + strings.Join(lines, "; "))
	}
	return errors.New(SafeText(err.Error()))
}

// maxYAMLDepth is far beyond anything the vault's files need (they nest
// three levels), and far below what exhausts a WebAssembly host's stack:
// the YAML parser recurses once per level, and some hosts give the guest
// only a few hundred kilobytes of native stack.
const maxYAMLDepth = 64

// checkYAMLDepth refuses deeply nested documents before the parser sees
// them. It over-approximates nesting: flow brackets outside quotes, and
// block levels by indentation and by "- " items opened on one line.
func checkYAMLDepth(data []byte) error {
	flow, indent, dashes := 0, 0, 0
	lineStart, inSingle, inDouble, escaped := true, false, false, false
	for _, c := range data {
		switch {
		case c == '\n':
			lineStart, indent, dashes, escaped = true, 0, 0, false
			continue
		case inDouble:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inDouble = false
			}
		case inSingle:
			inSingle = c != '\''
		case lineStart && c == ' ':
			indent++
		case lineStart && c == '-':
			dashes++
			indent++
		case c == '"':
			inDouble = true
		case c == '\'':
			inSingle = true
		case c == '[' || c == '{':
			flow++
		case c == ']' || c == '}':
			flow = max(flow-1, 0)
		}
		if c != ' ' && c != '-' {
			lineStart = false
		}
		if flow > maxYAMLDepth || dashes > maxYAMLDepth || indent > 4*maxYAMLDepth {
			return fmt.Errorf("YAML nested deeper than %d levels", maxYAMLDepth)
		}
	}
	return nil
}

func (m *Manifest) validate() error {
	if m.Version != 1 {
		return fmt.Errorf("unsupported version %d", m.Version)
	}
	seen := map[string]bool{}
	for _, o := range m.Owners {
		if err := ValidateName("owner", o.Name); err != nil {
			return err
		}
	}
	for _, a := range m.Agents {
		if err := ValidateName("agent", a.Name); err != nil {
			return err
		}
		if seen[a.Name] {
			return fmt.Errorf("agent %q listed twice", a.Name)
		}
		seen[a.Name] = true
		for _, g := range a.Groups {
			if err := ValidateName("group", g); err != nil {
				return err
			}
		}
	}
	groups := map[string]bool{}
	for _, g := range m.Groups {
		if err := ValidateName("group", g.Name); err != nil {
			return err
		}
		if groups[g.Name] {
			return fmt.Errorf("group %q listed twice", g.Name)
		}
		groups[g.Name] = true
		for _, s := range g.Secrets {
			if err := ValidateSecretPath(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// Marshal encodes the manifest in the layout the original tool writes.
func (m *Manifest) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("failed to encode manifest: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("failed to encode manifest: %w", err)
	}
	return buf.Bytes(), nil
}

// clone returns a deep copy, so an operation can build the new policy
// without disturbing the one it read.
func (m *Manifest) clone() *Manifest {
	c := &Manifest{Version: m.Version, Owners: slices.Clone(m.Owners)}
	for _, a := range m.Agents {
		c.Agents = append(c.Agents, AgentEntry{Name: a.Name, Groups: slices.Clone(a.Groups)})
	}
	for _, g := range m.Groups {
		c.Groups = append(c.Groups, GroupEntry{Name: g.Name, Secrets: slices.Clone(g.Secrets)})
	}
	return c
}

// Agent returns the entry for name, or nil.
func (m *Manifest) Agent(name string) *AgentEntry {
	for i := range m.Agents {
		if m.Agents[i].Name == name {
			return &m.Agents[i]
		}
	}
	return nil
}

// Group returns the entry for name, or nil.
func (m *Manifest) Group(name string) *GroupEntry {
	for i := range m.Groups {
		if m.Groups[i].Name == name {
			return &m.Groups[i]
		}
	}
	return nil
}

// GroupOf returns the group that lists secret, or "".
func (m *Manifest) GroupOf(secret string) string {
	for _, g := range m.Groups {
		if slices.Contains(g.Secrets, secret) {
			return g.Name
		}
	}
	return ""
}

// AgentsFor returns, in manifest order, the agents granted group. This order
// is the recipient order of every secret in the group.
func (m *Manifest) AgentsFor(group string) []string {
	var names []string
	for _, a := range m.Agents {
		if slices.Contains(a.Groups, group) {
			names = append(names, a.Name)
		}
	}
	return names
}

// groupIndex maps each secret to its group in one pass, for bulk work.
func (m *Manifest) groupIndex() map[string]string {
	idx := make(map[string]string)
	for _, g := range m.Groups {
		for _, s := range g.Secrets {
			idx[s] = g.Name
		}
	}
	return idx
}
