package core

import (
	"bytes"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Metadata is the plaintext record beside each secret. It holds names and
// dates only, so listing a vault never needs a key.
type Metadata struct {
	Name             string     `yaml:"name" json:"name"`
	Group            string     `yaml:"group" json:"group"`
	Created          time.Time  `yaml:"created" json:"created"`
	Rotated          time.Time  `yaml:"rotated" json:"rotated"`
	Expires          *time.Time `yaml:"expires,omitempty" json:"expires,omitempty"`
	AuthorizedAgents []string   `yaml:"authorized_agents,flow" json:"authorized_agents"`
}

// ParseMetadata decodes and validates a .meta file.
func ParseMetadata(data []byte) (*Metadata, error) {
	var m Metadata
	if err := decodeYAML(data, &m); err != nil {
		return nil, wrap(CodeCorruptVault, err, "failed to parse metadata")
	}
	if err := ValidateSecretPath(m.Name); err != nil {
		return nil, wrap(CodeCorruptVault, err, "invalid metadata")
	}
	if err := ValidateName("group", m.Group); err != nil {
		return nil, wrap(CodeCorruptVault, err, "invalid metadata")
	}
	for _, a := range m.AuthorizedAgents {
		if err := ValidateName("agent", a); err != nil {
			return nil, wrap(CodeCorruptVault, err, "invalid metadata")
		}
	}
	if m.AuthorizedAgents == nil {
		m.AuthorizedAgents = []string{}
	}
	return &m, nil
}

// Marshal encodes the metadata with second-precision UTC timestamps, the
// form the original tool writes.
func (m *Metadata) Marshal() ([]byte, error) {
	c := *m
	c.Created = c.Created.UTC().Truncate(time.Second)
	c.Rotated = c.Rotated.UTC().Truncate(time.Second)
	if c.Expires != nil {
		e := c.Expires.UTC().Truncate(time.Second)
		c.Expires = &e
	}
	if c.AuthorizedAgents == nil {
		c.AuthorizedAgents = []string{}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&c); err != nil {
		return nil, fmt.Errorf("failed to encode metadata: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("failed to encode metadata: %w", err)
	}
	return buf.Bytes(), nil
}

// ParseExpiry parses an --expires value: RFC 3339, or a plain date meaning
// midnight UTC.
func ParseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, errorf(CodeInvalidInput, "invalid expiry date %q", clip(s)).
		withHint("use RFC 3339, for example 2026-08-20T14:30:00Z, or a date such as 2026-08-20")
}
