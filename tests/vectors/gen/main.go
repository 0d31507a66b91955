// Command gen regenerates the shared conformance fixture in tests/vectors:
// a vault made with throwaway keys, and cases.json, the table every
// language runs. Run it from the repository root:
//
//	go run ./tests/vectors/gen
//
// The output is committed; regenerate only when the format or the table
// changes, since every ciphertext changes with it. The throwaway keys in
// keys/ are kept when present, so a regeneration keeps every key, pin and
// public key, and only the ciphertexts and signatures change.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

const out = "tests/vectors"

// Now is the reference time of the table, fixed so expiry results never
// drift.
const now = "2026-01-15T00:00:00Z"

// keyHeader marks every committed fixture key as a throwaway.
const keyHeader = "# THROWAWAY TEST KEY generated for the tests/vectors fixture only. Never use it for real secrets.\n"

type secret struct {
	path, group string
	value       []byte
	expires     string
}

func main() {
	log.SetFlags(0)
	if err := os.RemoveAll(filepath.Join(out, "vault")); err != nil {
		log.Fatal(err)
	}
	vaultDir := filepath.Join(out, "vault", core.DirName)
	must(os.MkdirAll(vaultDir, 0o755))
	must(os.MkdirAll(filepath.Join(out, "keys"), 0o755))

	// newKey returns the fixture key of that name, made on first use.
	newKey := func(name string) []byte {
		file := filepath.Join(out, "keys", name+".key")
		k, err := os.ReadFile(file)
		if err != nil {
			k, _, err = core.NewKey()
			must(err)
			k = append([]byte(keyHeader), k...)
			must(os.WriteFile(file, k, 0o600))
		}
		// The agent's own key file holds the key line only (the original
		// tool's format); the header marks the committed copy.
		return bytes.TrimPrefix(k, []byte(keyHeader))
	}
	ownerKey := newKey("owner")
	owner, err := core.ParseIdentity(ownerKey)
	must(err)
	d, err := osfs.Open(vaultDir)
	must(err)
	must(core.InitSigned(d, "fixture-owner", owner))
	ref, _ := time.Parse(time.RFC3339, now)
	clock := ref.Add(-90 * 24 * time.Hour)
	e, err := core.Edit(d, core.EditOptions{Owner: owner, Now: func() time.Time { return clock }})
	must(err)

	for _, a := range []string{"billing", "deploy", "reader", "revoked", "removed"} {
		must(e.AddAgent(a, newKey(a)))
	}
	// lost's first key is the one recover-agent replaces.
	must(e.AddAgent("lost", newKey("lost-old")))
	binary := make([]byte, 0, 259)
	for i := range 256 {
		binary = append(binary, byte(i))
	}
	binary = append(binary, 0, 0xff, 0)
	cert := []byte("-----BEGIN CERTIFICATE-----\nMIIBfixtureONLYnotARealCertificateAAAA\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n-----END CERTIFICATE-----\n")
	secrets := []secret{
		{path: "stripe/api-key", value: []byte("sk_test_fixture_4eC39HqLyjWDarjtT1zdp7dc")},
		{path: "stripe/webhook-secret", value: []byte("whsec_fixture_0123456789")},
		{path: "stripe/live/api-key", value: []byte("sk_live_fixture_nested_path")},
		{path: "postgres/conn", value: []byte("postgres://app:fixture-password@localhost:5432/app")},
		{path: "certs/tls-chain", value: cert},
		{path: "blobs/binary", value: binary},
		{path: "blobs/empty", value: []byte{}},
		{path: "legacy/expired", value: []byte("expired-token-fixture"), expires: "2025-12-01T00:00:00Z"},
		{path: "legacy/expiring", value: []byte("expiring-token-fixture"), expires: "2026-02-01T00:00:00Z"},
		{path: "plain-token", value: []byte("token in the default group")},
		{path: "shared/unicode", group: "stripe", value: []byte("päss wörd ✓ 🔑")},
	}
	for _, s := range secrets {
		opts := core.SetOptions{Group: s.group}
		if s.expires != "" {
			t, err := core.ParseExpiry(s.expires)
			must(err)
			opts.Expires = &t
		}
		must(e.Set(s.path, s.value, opts))
	}
	grant := func(a string, groups ...string) {
		for _, g := range groups {
			_, err := e.Grant(a, g)
			must(err)
		}
	}
	grant("billing", "stripe", "postgres")
	grant("deploy", "postgres", "certs", "blobs", "legacy", "default")
	grant("revoked", "stripe", "postgres")
	grant("removed", "stripe")
	grant("lost", "certs")
	// The state before the revocation, signed: committing it again is a
	// rollback that only a reader who has seen a newer version refuses.
	preRevoke := filepath.Join(os.TempDir(), "agent-vault-vectors-pre-revoke")
	must(os.RemoveAll(preRevoke))
	must(os.CopyFS(preRevoke, os.DirFS(filepath.Join(out, "vault"))))
	defer os.RemoveAll(preRevoke)
	_, err = e.Revoke("revoked", "stripe")
	must(err)
	_, err = e.RemoveAgent("removed")
	must(err)
	_, err = e.RecoverAgent("lost", newKey("lost"))
	must(err)
	must(os.WriteFile(filepath.Join(out, "keys", "not-a-key.key"), []byte("# a file that holds no key\nhello\n"), 0o600))

	writeCases(secrets)
	pin, err := core.OwnerVerificationKey(owner)
	must(err)
	vaultID, version := e.SignedState()
	writeHostile(secrets, trustFixture{pin: pin, vaultID: vaultID, version: version, preRevoke: preRevoke})
	log.Printf("wrote %s/vault, %s/keys, %s/hostile, cases.json and hostile.json", out, out, out)
}

// Case is one row of the conformance table. See tests/vectors/README.md.
type Case struct {
	Name   string `json:"name"`
	Op     string `json:"op"`
	Key    string `json:"key"`
	Secret string `json:"secret,omitempty"`
	Group  string `json:"group,omitempty"`
	All    bool   `json:"all,omitempty"`
	// Pin, when set, is the owner verification key the case reads with:
	// the runner verifies the vault's signature against it. Verify without
	// a pin verifies against the key the vault names (trust on first use).
	// A case with neither reads without verifying.
	Pin    string `json:"pin,omitempty"`
	Verify bool   `json:"verify,omitempty"`
	// Seen, when set, is the highest signed version the reader has seen.
	Seen   *Seen  `json:"seen,omitempty"`
	Expect Expect `json:"expect"`
}

// Seen is a reader's memory of a vault: an older signed version is refused.
type Seen struct {
	VaultID string `json:"vault_id"`
	Version uint64 `json:"version"`
}

// Expect is a case's outcome: exactly one field is set.
type Expect struct {
	ValueB64 *string  `json:"value_b64,omitempty"`
	Names    []string `json:"names,omitempty"`
	Findings []string `json:"findings,omitempty"`
	Error    string   `json:"error,omitempty"`
}

func writeCases(secrets []secret) {
	value := func(p string) *string { return valueOf(secrets, p) }
	var cases []Case
	get := func(key, p string, ok bool, errCode string) {
		c := Case{Name: fmt.Sprintf("get %s as %s", p, key), Op: "get", Key: key, Secret: p}
		if ok {
			c.Expect.ValueB64 = value(p)
		} else {
			c.Expect.Error = errCode
		}
		cases = append(cases, c)
	}
	for _, s := range secrets {
		get("owner", s.path, true, "")
	}
	for _, p := range []string{"stripe/api-key", "stripe/webhook-secret", "stripe/live/api-key", "postgres/conn", "shared/unicode"} {
		get("billing", p, true, "")
	}
	for _, p := range []string{"postgres/conn", "certs/tls-chain", "blobs/binary", "blobs/empty", "legacy/expired", "plain-token"} {
		get("deploy", p, true, "")
	}
	get("billing", "certs/tls-chain", false, "not_authorized")
	get("deploy", "stripe/api-key", false, "not_authorized")
	get("reader", "stripe/api-key", false, "not_authorized")
	get("revoked", "stripe/api-key", false, "not_authorized")
	get("revoked", "postgres/conn", true, "")
	get("removed", "stripe/api-key", false, "not_authorized")
	get("lost-old", "certs/tls-chain", false, "not_authorized")
	get("lost", "certs/tls-chain", true, "")
	get("owner", "stripe/missing", false, "secret_not_found")
	get("owner", "nogroup", false, "secret_not_found")
	for _, bad := range []string{"../etc/passwd", "/etc/passwd", "stripe//api-key", "stripe/../../x", "stripe\\api-key", "stripe/api-key\x00", ".hidden", "stripe/ api-key", "strípe/api-key", ""} {
		cases = append(cases, Case{Name: fmt.Sprintf("get invalid path %q", bad), Op: "get", Key: "owner", Secret: bad, Expect: Expect{Error: "invalid_input"}})
	}
	cases = append(cases,
		Case{Name: "open with a file that holds no key", Op: "get", Key: "not-a-key", Secret: "stripe/api-key", Expect: Expect{Error: "invalid_key"}},
		Case{Name: "open with no key file", Op: "get", Key: "does-not-exist", Secret: "stripe/api-key", Expect: Expect{Error: "invalid_key"}},
		Case{Name: "list all", Op: "list", Key: "owner", Expect: Expect{Names: sortedPaths(secrets)}},
		Case{Name: "list stripe", Op: "list", Key: "billing", Group: "stripe", Expect: Expect{Names: []string{"shared/unicode", "stripe/api-key", "stripe/live/api-key", "stripe/webhook-secret"}}},
		Case{Name: "list without a key", Op: "list", Key: "none", Group: "legacy", Expect: Expect{Names: []string{"legacy/expired", "legacy/expiring"}}},
		Case{Name: "list as an agent shows what it can read", Op: "list", Key: "billing", Expect: Expect{Names: []string{"postgres/conn", "shared/unicode", "stripe/api-key", "stripe/live/api-key", "stripe/webhook-secret"}}},
		Case{Name: "list all as an agent", Op: "list", Key: "billing", Group: "legacy", All: true, Expect: Expect{Names: []string{"legacy/expired", "legacy/expiring"}}},
		Case{Name: "list as another agent", Op: "list", Key: "lost", Expect: Expect{Names: []string{"certs/tls-chain"}}},
		Case{Name: "list unknown group", Op: "list", Key: "owner", Group: "nope", Expect: Expect{Error: "invalid_input"}},
		Case{Name: "list invalid group", Op: "list", Key: "owner", Group: "../x", Expect: Expect{Error: "invalid_input"}},
		Case{Name: "agents", Op: "agents", Key: "none", Expect: Expect{Names: []string{"billing", "deploy", "reader", "revoked", "lost"}}},
		Case{Name: "check", Op: "check", Key: "none", Expect: Expect{Findings: []string{
			"error:expired:legacy/expired",
			"warning:agent_without_access:reader",
			"warning:expiring:legacy/expiring",
		}}},
	)
	writeJSON(filepath.Join(out, "cases.json"), map[string]any{"version": 1, "now": now, "vault": "vault", "keys": "keys", "cases": cases})
}

// valueOf is the base64 of fixture secret p's value.
func valueOf(secrets []secret, p string) *string {
	for _, s := range secrets {
		if s.path == p {
			v := base64.StdEncoding.EncodeToString(s.value)
			return &v
		}
	}
	panic(p)
}

func writeJSON(path string, doc any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	must(enc.Encode(doc))
	must(os.WriteFile(path, buf.Bytes(), 0o644))
}

func sortedPaths(secrets []secret) []string {
	var names []string
	for _, s := range secrets {
		names = append(names, s.path)
	}
	sort.Strings(names)
	return names
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
