package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// hostileCase is a broken copy of the fixture vault and what every
// implementation must answer on it.
type hostileCase struct {
	name   string
	mutate func(vault string) // vault is the copy's .agent-vault directory
	// symlink marks cases that a browser cannot reproduce: a picked folder
	// has no symlinks, the browser reads through them.
	symlink bool
	cases   []Case
}

// writeHostile makes tests/vectors/hostile/<name>/ vaults and hostile.json.
func writeHostile(fixture []secret, tf trustFixture) {
	root := filepath.Join(out, "hostile")
	must(os.RemoveAll(root))
	secrets := func(v string, p ...string) string { return filepath.Join(append([]string{v, "secrets"}, p...)...) }
	getAs := func(key, secret, code string) Case {
		return Case{Name: "get " + secret + " as " + key, Op: "get", Key: key, Secret: secret, Expect: Expect{Error: code}}
	}
	getValue := func(key, secret string) Case {
		return Case{Name: "get " + secret + " as " + key, Op: "get", Key: key, Secret: secret, Expect: Expect{ValueB64: valueOf(fixture, secret)}}
	}
	checkErr := func(code string) Case {
		return Case{Name: "check", Op: "check", Key: "none", Expect: Expect{Error: code}}
	}
	list := func(code string) Case {
		return Case{Name: "list", Op: "list", Key: "none", Expect: Expect{Error: code}}
	}
	hostile := []hostileCase{
		{name: "symlinked-secret", symlink: true, mutate: func(v string) {
			// Points at another secret the owner can read: following the
			// link would visibly return the wrong value.
			link(secrets(v, "stripe", "api-key.enc"), "../../../../../vault/.agent-vault/secrets/postgres/conn.enc")
		}, cases: []Case{getAs("owner", "stripe/api-key", "corrupt_vault")}},
		{name: "symlinked-directory", symlink: true, mutate: func(v string) {
			must(os.RemoveAll(secrets(v, "stripe")))
			link(secrets(v, "stripe"), "../../../../vault/.agent-vault/secrets/stripe")
		}, cases: []Case{getAs("owner", "stripe/api-key", "corrupt_vault"), list("corrupt_vault")}},
		{name: "symlinked-manifest", symlink: true, mutate: func(v string) {
			link(filepath.Join(v, "manifest.yaml"), "../../../vault/.agent-vault/manifest.yaml")
		}, cases: []Case{list("corrupt_vault"), getAs("owner", "postgres/conn", "corrupt_vault")}},
		{name: "yaml-bomb", mutate: func(v string) {
			var b strings.Builder
			b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
			for i := 1; i < 12; i++ {
				b.WriteString("a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [")
				for j := range 10 {
					if j > 0 {
						b.WriteString(", ")
					}
					b.WriteString("*a" + strconv.Itoa(i-1))
				}
				b.WriteString("]\n")
			}
			// The bomb feeds a field the manifest decodes: aliases under
			// unknown keys are never expanded, so they would prove nothing.
			b.WriteString("version: 1\ngroups: [*a11]\n")
			write(filepath.Join(v, "manifest.yaml"), b.String())
		}, cases: []Case{list("corrupt_vault")}},
		{name: "deeply-nested-metadata", mutate: func(v string) {
			write(secrets(v, "stripe", "api-key.meta"), "name: "+strings.Repeat("[", 20000)+"\n")
		}, cases: []Case{
			{Name: "list stripe", Op: "list", Key: "owner", Group: "stripe", Expect: Expect{Error: "corrupt_vault"}},
		}},
		{name: "truncated-ciphertext", mutate: func(v string) {
			data, err := os.ReadFile(secrets(v, "stripe", "api-key.enc"))
			must(err)
			must(os.WriteFile(secrets(v, "stripe", "api-key.enc"), data[:len(data)/2], 0o644))
		}, cases: []Case{getAs("owner", "stripe/api-key", "corrupt_vault"), getAs("billing", "stripe/api-key", "corrupt_vault")}},
		{name: "bit-flipped-ciphertext", mutate: func(v string) {
			p := secrets(v, "stripe", "api-key.enc")
			data, err := os.ReadFile(p)
			must(err)
			data[len(data)-3] ^= 0x20
			must(os.WriteFile(p, data, 0o644))
		}, cases: []Case{getAs("owner", "stripe/api-key", "corrupt_vault")}},
		{name: "manifest-names-missing-file", mutate: func(v string) {
			must(os.Remove(secrets(v, "postgres", "conn.enc")))
			must(os.Remove(secrets(v, "postgres", "conn.meta")))
		}, cases: []Case{
			getAs("owner", "postgres/conn", "secret_not_found"),
			{Name: "check", Op: "check", Key: "none", Expect: Expect{Findings: []string{
				"error:expired:legacy/expired",
				"error:missing_file:postgres/conn",
				"warning:agent_without_access:reader",
				"warning:expiring:legacy/expiring",
			}}},
		}},
		{name: "traversal-in-manifest", mutate: func(v string) {
			p := filepath.Join(v, "manifest.yaml")
			data, err := os.ReadFile(p)
			must(err)
			write(p, strings.Replace(string(data), "secrets: [postgres/conn]", "secrets: [postgres/conn, ../../../../etc/passwd]", 1))
			// A get reads no policy, so the damage shows where policy is
			// read: list, check and every change.
		}, cases: []Case{list("corrupt_vault"), checkErr("corrupt_vault"), getValue("owner", "postgres/conn")}},
		{name: "traversal-agent-name", mutate: func(v string) {
			p := filepath.Join(v, "manifest.yaml")
			data, err := os.ReadFile(p)
			must(err)
			write(p, strings.Replace(string(data), "- name: reader", "- name: ../../reader", 1))
		}, cases: []Case{list("corrupt_vault")}},
	}
	hostile = append(hostile, untrustedCases(tf, func(p string) *string { return valueOf(fixture, p) })...)
	var all []map[string]any
	for _, h := range hostile {
		dir := filepath.Join(root, h.name)
		must(os.CopyFS(dir, os.DirFS(filepath.Join(out, "vault"))))
		h.mutate(filepath.Join(dir, ".agent-vault"))
		for _, c := range h.cases {
			c.Name = h.name + ": " + c.Name
			all = append(all, map[string]any{"vault": "hostile/" + h.name, "symlink": h.symlink, "case": c})
		}
	}
	var cases []map[string]any
	for _, x := range all {
		c := x["case"].(Case)
		data, _ := json.Marshal(c)
		var m map[string]any
		must(json.Unmarshal(data, &m))
		m["vault"] = x["vault"]
		if x["symlink"].(bool) {
			m["symlink"] = true
		}
		cases = append(cases, m)
	}
	writeJSON(filepath.Join(out, "hostile.json"), map[string]any{"version": 1, "now": now, "keys": "keys", "cases": cases})
}

func link(path, target string) {
	os.Remove(path)
	must(os.Symlink(target, path))
}

func write(path, s string) { must(os.WriteFile(path, []byte(s), 0o644)) }
