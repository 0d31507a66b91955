package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

// trustFixture is what the untrusted cases need to know about the signed
// fixture: the owner's pin, the final signed version, and a copy of the
// vault as it was signed before the revocation.
type trustFixture struct {
	pin       string
	vaultID   string
	version   uint64
	preRevoke string // a repository holding .agent-vault
}

// untrustedCases are copies of the signed fixture changed by someone who
// can push, without the owner key. A reader that verifies against the
// owner's pin must refuse each with untrusted; check (which needs no pin)
// names the changed files.
func untrustedCases(tf trustFixture, value func(string) *string) []hostileCase {
	forger := fixtureKey("forger")
	forgerPin, err := core.OwnerVerificationKey(forger)
	must(err)
	get := func(key, secret string) Case {
		return Case{Name: "get " + secret + " as " + key + " with the pin", Op: "get", Key: key, Secret: secret, Pin: tf.pin,
			Expect: Expect{Error: "untrusted"}}
	}
	with := func(c Case, op, group string) Case {
		c.Op, c.Secret, c.Group = op, "", group
		c.Name = op + " with the pin"
		if group != "" {
			c.Name = op + " " + group + " with the pin"
		}
		return c
	}
	check := func(extra ...string) Case {
		return Case{Name: "check", Op: "check", Key: "none", Expect: Expect{Findings: sortedFindings(append([]string{
			"error:expired:legacy/expired",
			"warning:agent_without_access:reader",
			"warning:expiring:legacy/expiring",
		}, extra...))}}
	}
	// plain edits as the original tool would: no owner key, no signature.
	plain := func(v string, fn func(e *core.Editor)) {
		d, err := osfs.Open(v)
		must(err)
		defer d.Close()
		e, err := core.Edit(d, core.EditOptions{})
		must(err)
		fn(e)
	}
	return []hostileCase{
		{name: "untrusted-planted-value", mutate: func(v string) {
			// Attack 1: a value encrypted to the owner and billing, both
			// public keys, committed by someone who can push.
			plain(v, func(e *core.Editor) { must(e.Set("stripe/api-key", []byte("planted-by-a-pusher"), core.SetOptions{})) })
		}, cases: []Case{get("billing", "stripe/api-key"), get("owner", "stripe/api-key"),
			{Name: "get stripe/api-key as billing on first use, without a pin", Op: "get", Key: "billing", Secret: "stripe/api-key", Verify: true,
				Expect: Expect{Error: "untrusted"}},
			check("error:unsigned_change:secrets/stripe/api-key.enc", "error:unsigned_change:secrets/stripe/api-key.meta")}},
		{name: "untrusted-changed-metadata", mutate: func(v string) {
			p := filepath.Join(v, "secrets", "stripe", "webhook-secret.meta")
			data, err := os.ReadFile(p)
			must(err)
			write(p, string(data)+"expires: 2099-01-01T00:00:00Z\n")
		}, cases: []Case{get("billing", "stripe/webhook-secret"), with(get("none", ""), "list", "stripe"),
			check("error:unsigned_change:secrets/stripe/webhook-secret.meta")}},
		{name: "untrusted-new-secret", mutate: func(v string) {
			plain(v, func(e *core.Editor) { must(e.Set("stripe/planted", []byte("planted-by-a-pusher"), core.SetOptions{})) })
		}, cases: []Case{get("billing", "stripe/planted"), with(get("none", ""), "list", ""),
			check("error:unsigned_change:manifest.yaml", "error:unsigned_change:secrets/stripe/planted.enc")}},
		{name: "untrusted-enrolled-agent", mutate: func(v string) {
			// Attack 2: an agent of the pusher's own, in the policy.
			plain(v, func(e *core.Editor) { must(e.AddAgent("intruder", keyLine(fixtureKeyText("forger")))) })
			p := filepath.Join(v, "manifest.yaml")
			data, err := os.ReadFile(p)
			must(err)
			write(p, strings.Replace(string(data), "- name: intruder\n    groups: []", "- name: intruder\n    groups: [stripe]", 1))
		}, cases: []Case{with(get("none", ""), "agents", ""), with(get("none", ""), "list", "stripe"),
			check(append([]string{"error:unsigned_change:manifest.yaml", "error:unsigned_change:agents/intruder/public.key",
				"error:unsigned_change:agents/intruder/private.key.escrow"}, regranted("stripe/api-key", "stripe/live/api-key",
				"stripe/webhook-secret", "shared/unicode")...)...)}},
		{name: "untrusted-swapped-agent-key", mutate: func(v string) {
			// Attack 3: billing's public key replaced by the pusher's.
			write(filepath.Join(v, "agents", "billing", "public.key"), forger.Recipient()+"\n")
		}, cases: []Case{with(get("none", ""), "agents", ""),
			check("error:unsigned_change:agents/billing/public.key")}},
		{name: "untrusted-swapped-owner-key", mutate: func(v string) {
			// Attack 4: owner.pub replaced by the pusher's key.
			write(filepath.Join(v, "owner.pub"), forger.Recipient()+"\n")
		}, cases: []Case{get("billing", "stripe/api-key"), with(get("none", ""), "list", ""),
			check("error:unsigned_change:owner.pub")}},
		{name: "untrusted-rolled-back", mutate: func(v string) {
			// Attack 5: the signed state from before "revoked" lost stripe,
			// committed again. Genuinely signed, so only a reader that has
			// seen the newer version can refuse it.
			must(os.RemoveAll(v))
			must(os.CopyFS(v, os.DirFS(filepath.Join(tf.preRevoke, core.DirName))))
		}, cases: []Case{
			{Name: "get stripe/api-key as revoked after seeing the newer version", Op: "get", Key: "revoked", Secret: "stripe/api-key",
				Pin: tf.pin, Seen: &Seen{VaultID: tf.vaultID, Version: tf.version}, Expect: Expect{Error: "untrusted"}},
			{Name: "get stripe/api-key as revoked on first sight", Op: "get", Key: "revoked", Secret: "stripe/api-key",
				Pin: tf.pin, Expect: Expect{ValueB64: value("stripe/api-key")}},
		}},
		{name: "untrusted-forged-signature", mutate: func(v string) {
			// The pusher's own signed state in place of the owner's.
			dir, err := os.MkdirTemp("", "agent-vault-forged-")
			must(err)
			defer os.RemoveAll(dir)
			d, err := osfs.Open(dir)
			must(err)
			must(core.InitSigned(d, "forger", forger))
			d.Close()
			data, err := os.ReadFile(filepath.Join(dir, "signed", "state"))
			must(err)
			write(filepath.Join(v, "signed", "state"), string(data))
		}, cases: []Case{get("billing", "stripe/api-key"),
			{Name: "get stripe/api-key as billing on first use, without a pin", Op: "get", Key: "billing", Secret: "stripe/api-key",
				Verify: true, Expect: Expect{Error: "untrusted"}}}},
		{name: "untrusted-wrong-pin", mutate: func(string) {}, cases: []Case{
			{Name: "get stripe/api-key with another owner's pin", Op: "get", Key: "billing", Secret: "stripe/api-key", Pin: forgerPin,
				Expect: Expect{Error: "untrusted"}}}},
		{name: "untrusted-unsigned", mutate: func(v string) {
			// The signature removed: an unsigned vault where a pin says
			// the owner signs.
			must(os.RemoveAll(filepath.Join(v, "signed")))
		}, cases: []Case{get("billing", "stripe/api-key"), check("warning:unsigned_vault:.agent-vault")}},
		{name: "untrusted-tampered-index", mutate: func(v string) {
			// A bucket's digest line for stripe/api-key changed to match
			// a planted file: the bucket no longer matches the record.
			sum := sha256.Sum256([]byte("stripe/api-key"))
			matches, err := filepath.Glob(filepath.Join(v, "signed", "buckets", fmt.Sprintf("%02x-*", sum[0])))
			must(err)
			if len(matches) != 1 {
				panic("no bucket for stripe/api-key")
			}
			data, err := os.ReadFile(matches[0])
			must(err)
			i := strings.Index(string(data), "stripe/api-key ") + len("stripe/api-key ")
			if data[i] == '0' {
				data[i] = '1'
			} else {
				data[i] = '0'
			}
			write(matches[0], string(data))
		}, cases: []Case{get("billing", "stripe/api-key")}},
		{name: "untrusted-truncated-record", mutate: func(v string) {
			p := filepath.Join(v, "signed", "state")
			data, err := os.ReadFile(p)
			must(err)
			write(p, string(data[:len(data)/2]))
		}, cases: []Case{get("billing", "stripe/api-key"), check("error:bad_signature:signed/state")}},
	}
}

// regranted lists what check reports for secrets whose policy grants an
// agent the files were never encrypted to.
func regranted(secrets ...string) []string {
	var out []string
	for _, s := range secrets {
		out = append(out, "error:metadata_mismatch:"+s, "error:recipients_mismatch:"+s)
	}
	return out
}

// fixtureKey parses the committed throwaway key of that name.
func fixtureKey(name string) *core.Identity {
	id, err := core.ParseIdentity([]byte(fixtureKeyText(name)))
	must(err)
	return id
}

// fixtureKeyText returns keys/<name>.key, made on first use.
func fixtureKeyText(name string) string {
	file := filepath.Join(out, "keys", name+".key")
	k, err := os.ReadFile(file)
	if err != nil {
		k, _, err = core.NewKey()
		must(err)
		k = append([]byte(keyHeader), k...)
		must(os.WriteFile(file, k, 0o600))
	}
	return string(k)
}

// keyLine is the key file without the fixture's comment header.
func keyLine(text string) []byte { return []byte(strings.TrimPrefix(text, keyHeader)) }

func sortedFindings(f []string) []string {
	out := slices.Clone(f)
	slices.Sort(out)
	return out
}
