// Package vectors loads the shared conformance table (cases.json) and
// checks outcomes against it. The Go native and wazero test suites use it;
// the Python, Node and browser suites read the same files directly.
package vectors

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
)

// Table is the parsed cases.json.
type Table struct {
	Version int    `json:"version"`
	Now     string `json:"now"`
	Cases   []Case `json:"cases"`
	// Dir is the tests/vectors directory the table was loaded from.
	Dir string `json:"-"`
}

// Case is one row: open the fixture vault with Key, run Op, compare.
type Case struct {
	Name   string `json:"name"`
	Op     string `json:"op"`
	Key    string `json:"key"`
	Secret string `json:"secret"`
	Group  string `json:"group"`
	// All lists every secret, not only those the key can read.
	All bool `json:"all"`
	// Vault, in hostile.json, names the broken fixture the case runs on.
	Vault string `json:"vault"`
	// Symlink marks a case that relies on a symlink in the vault, which a
	// browser's folder picker cannot reproduce.
	Symlink bool `json:"symlink"`
	// Pin, when set, is the owner's verification key the reader is given
	// (its "owner" option). Every reader verifies the vault's signature:
	// without a pin against the key the vault names (trust on first use;
	// Verify marks the cases that are about that). Seen is the highest
	// signed version the reader already knows of (its "seen" option); an
	// older one must be refused.
	Pin    string       `json:"pin"`
	Verify bool         `json:"verify"`
	Seen   *reader.Seen `json:"seen"`
	Expect struct {
		ValueB64 *string  `json:"value_b64"`
		Names    []string `json:"names"`
		Findings []string `json:"findings"`
		Error    string   `json:"error"`
	} `json:"expect"`
}

// Outcome is what a runner observed for a case.
type Outcome struct {
	Value    []byte
	Names    []string
	Findings []string
	Err      error
}

// Dir returns the absolute tests/vectors directory of this checkout.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Load reads cases.json. A missing or empty table is an error, never a
// silent pass.
func Load() (*Table, error) { return load("cases.json") }

// LoadHostile reads hostile.json: cases on deliberately broken copies of
// the fixture (symlinks, YAML bombs, damaged ciphertext, traversal names).
func LoadHostile() (*Table, error) { return load("hostile.json") }

func load(file string) (*Table, error) {
	dir := Dir()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, fmt.Errorf("failed to read conformance table: %w", err)
	}
	var t Table
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("failed to parse conformance table: %w", err)
	}
	if t.Version != 1 || len(t.Cases) == 0 {
		return nil, fmt.Errorf("conformance table has version %d and %d cases", t.Version, len(t.Cases))
	}
	t.Dir = dir
	if _, err := os.Stat(t.VaultDir()); err != nil {
		return nil, fmt.Errorf("fixture vault missing: %w", err)
	}
	return &t, nil
}

// VaultDir is the fixture repository (it contains .agent-vault/).
func (t *Table) VaultDir() string { return filepath.Join(t.Dir, "vault") }

// CaseVaultDir is the repository a case runs on.
func (t *Table) CaseVaultDir(c Case) string {
	if c.Vault != "" {
		return filepath.Join(t.Dir, filepath.FromSlash(c.Vault))
	}
	return t.VaultDir()
}

// KeySpec returns how a case names its key: nil for "none", otherwise the
// fixture key file keys/<name>.key (which may deliberately not exist).
func (t *Table) KeySpec(c Case) *core.KeySpec {
	if c.Key == "none" {
		return nil
	}
	return &core.KeySpec{Path: filepath.Join(t.Dir, "keys", c.Key+".key")}
}

// Verifies reports whether a case reads through the owner's signature.
func (c Case) Verifies() bool { return c.Pin != "" || c.Verify || c.Seen != nil }

// Check compares an outcome with the case's expectation.
func (c Case) Check(o Outcome) error {
	if c.Expect.Error != "" {
		if o.Err == nil {
			return fmt.Errorf("expected error %s, got success", c.Expect.Error)
		}
		if got := core.CodeOf(o.Err); string(got) != c.Expect.Error {
			return fmt.Errorf("expected error %s, got %s (%v)", c.Expect.Error, got, o.Err)
		}
		return nil
	}
	if o.Err != nil {
		return fmt.Errorf("unexpected error: %v", o.Err)
	}
	switch {
	case c.Expect.ValueB64 != nil:
		want, err := base64.StdEncoding.DecodeString(*c.Expect.ValueB64)
		if err != nil {
			return err
		}
		if !bytes.Equal(o.Value, want) {
			return fmt.Errorf("value mismatch: got %d bytes, want %d", len(o.Value), len(want))
		}
	case c.Expect.Names != nil:
		if !slices.Equal(o.Names, c.Expect.Names) {
			return fmt.Errorf("names: got %v, want %v", o.Names, c.Expect.Names)
		}
	case c.Expect.Findings != nil:
		if !slices.Equal(o.Findings, c.Expect.Findings) {
			return fmt.Errorf("findings: got %v, want %v", o.Findings, c.Expect.Findings)
		}
	default:
		return fmt.Errorf("case has no expectation")
	}
	return nil
}

// FindingKeys renders findings as sorted "severity:kind:subject" strings,
// the form the table uses.
func FindingKeys(fs []core.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Severity+":"+f.Kind+":"+f.Subject)
	}
	slices.Sort(out)
	return out
}

// MetadataNames returns the names of listed secrets, in order.
func MetadataNames(ms []*core.Metadata) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}
