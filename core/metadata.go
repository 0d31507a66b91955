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

// Marshal encodes the metadata with UTC timestamps in RFC 3339, keeping
// whatever precision they carry: the original tool writes nanoseconds, and
// a date it wrote must not change when this tool rewrites the file. The
// times this tool makes itself are whole seconds (see stamp).
func (m *Metadata) Marshal() ([]byte, error) {
	c := *m
	c.Created = c.Created.UTC()
	c.Rotated = c.Rotated.UTC()
	if c.Expires != nil {
		e := c.Expires.UTC()
		c.Expires = &e
	}
	if c.AuthorizedAgents == nil {
		c.AuthorizedAgents = []string{}
	}
	var doc yaml.Node
	if err := doc.Encode(&c); err != nil {
		return nil, fmt.Errorf("failed to encode metadata: %w", err)
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		switch doc.Content[i].Value {
		case "created":
			doc.Content[i+1].Value = formatStamp(c.Created)
		case "rotated":
			doc.Content[i+1].Value = formatStamp(c.Rotated)
		case "expires":
			doc.Content[i+1].Value = formatStamp(*c.Expires)
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("failed to encode metadata: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("failed to encode metadata: %w", err)
	}
	return buf.Bytes(), nil
}

// formatStamp writes t (UTC) as the original tool's chrono does: no
// fraction for whole seconds, else 3, 6 or 9 digits, the fewest that hold
// it. A timestamp the original wrote is then rewritten byte for byte.
func formatStamp(t time.Time) string {
	ns := t.Nanosecond()
	switch {
	case ns == 0:
		return t.Format("2006-01-02T15:04:05Z")
	case ns%1e6 == 0:
		return t.Format("2006-01-02T15:04:05.000Z")
	case ns%1e3 == 0:
		return t.Format("2006-01-02T15:04:05.000000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}

// stamp is a time this tool records in metadata: UTC, to the second.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

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
