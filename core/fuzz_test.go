package core_test

// Fuzz targets for everything core parses from a repository or a user.
// Their seed corpora (testdata/fuzz/<target>/ plus the f.Add calls) run in
// the ordinary test suite; `go test -run='^$' -fuzz=FuzzX ./core/` explores
// further. docs/SECURITY-TESTS.md describes long runs.

import (
	"bytes"
	"errors"
	"path"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agent-vault/agent-vault/core"
)

// requireCode fails unless err is a classified *core.Error with code.
func requireCode(t *testing.T, err error, code core.Code) {
	t.Helper()
	var ce *core.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %q is not a *core.Error", err)
	}
	if ce.Code != code {
		t.Fatalf("error %q has code %s, want %s", err, ce.Code, code)
	}
}

const seedManifest = `version: 1
owners:
  - name: alice
    public_key: owner.pub
agents:
  - name: billing-agent
    groups: [stripe, postgres]
groups:
  - name: stripe
    secrets: [stripe/api-key, stripe/webhook-secret]
`

const seedMetadata = `name: stripe/api-key
group: stripe
created: 2026-02-20T14:30:00Z
rotated: 2026-02-25T10:00:00Z
expires: 2026-08-20T14:30:00Z
authorized_agents: [billing-agent]
`

// FuzzParseManifest: hostile manifests never panic, fail only as
// corrupt_vault, and anything accepted holds valid names only and survives
// a Marshal round trip unchanged.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(seedManifest))
	f.Add([]byte("version: 1\ngroups:\n  - name: x\n    secrets: [\"../../etc/passwd\"]\n"))
	f.Add([]byte("version: 1\nagents:\n  - name: ../x\n"))
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"))
	f.Add([]byte(strings.Repeat("[", 5000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := core.ParseManifest(data)
		if err != nil {
			requireCode(t, err, core.CodeCorruptVault)
			return
		}
		for _, a := range m.Agents {
			mustValidName(t, "agent", a.Name)
			for _, g := range a.Groups {
				mustValidName(t, "group", g)
			}
		}
		for _, g := range m.Groups {
			mustValidName(t, "group", g.Name)
			for _, s := range g.Secrets {
				mustSafePath(t, s)
			}
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("accepted manifest does not marshal: %v", err)
		}
		again, err := core.ParseManifest(out)
		if err != nil {
			t.Fatalf("marshalled manifest does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normManifest(m), normManifest(again)) {
			t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, again)
		}
	})
}

// normManifest treats nil and empty lists alike, as YAML does.
func normManifest(m *core.Manifest) core.Manifest {
	c := core.Manifest{Version: m.Version}
	c.Owners = append(c.Owners, m.Owners...)
	for _, a := range m.Agents {
		c.Agents = append(c.Agents, core.AgentEntry{Name: a.Name, Groups: append([]string{}, a.Groups...)})
	}
	for _, g := range m.Groups {
		c.Groups = append(c.Groups, core.GroupEntry{Name: g.Name, Secrets: append([]string{}, g.Secrets...)})
	}
	return c
}

// FuzzParseMetadata: hostile .meta files never panic, fail only as
// corrupt_vault, and anything accepted round-trips through Marshal.
func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(seedMetadata))
	f.Add([]byte("name: ../../x\ngroup: g\n"))
	f.Add([]byte("name: a\ngroup: g\ncreated: not-a-date\n"))
	f.Add([]byte("name: a\ngroup: g\nauthorized_agents: [\"a\\u0000b\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := core.ParseMetadata(data)
		if err != nil {
			requireCode(t, err, core.CodeCorruptVault)
			return
		}
		mustSafePath(t, m.Name)
		mustValidName(t, "group", m.Group)
		for _, a := range m.AuthorizedAgents {
			mustValidName(t, "agent", a)
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("accepted metadata does not marshal: %v", err)
		}
		again, err := core.ParseMetadata(out)
		if err != nil {
			t.Fatalf("marshalled metadata does not parse: %v\n%s", err, out)
		}
		if again.Name != m.Name || again.Group != m.Group || !reflect.DeepEqual(again.AuthorizedAgents, m.AuthorizedAgents) {
			t.Fatalf("round trip changed the metadata: %+v vs %+v", m, again)
		}
	})
}

// FuzzValidateSecretPath: whatever is accepted is a clean relative path
// that cannot leave secrets/, and rejections are invalid_input errors whose
// message cannot garble a terminal.
func FuzzValidateSecretPath(f *testing.F) {
	for _, s := range []string{"stripe/api-key", "a", "../x", "/etc/passwd", "a//b", "a\\b", "a\x00b",
		"a/./b", "a/..", ".hidden", "straße/key", "a\u202eb", "a\nb", strings.Repeat("a/", 200) + "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := core.ValidateSecretPath(p)
		if err != nil {
			requireCode(t, err, core.CodeInvalidInput)
			mustBeClean(t, err)
			return
		}
		mustSafePath(t, p)
	})
}

// FuzzValidateName: accepted names are single safe path segments.
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"billing-agent", "..", ".", "a/b", "", "a b", "A.b_c-1", "\u00e9", "x\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := core.ValidateName("agent", name)
		if err != nil {
			requireCode(t, err, core.CodeInvalidInput)
			mustBeClean(t, err)
			return
		}
		mustValidName(t, "agent", name)
	})
}

// FuzzParseIdentity: key parsing never panics and its errors never echo
// the key text, which is secret.
func FuzzParseIdentity(f *testing.F) {
	key, _, err := core.NewKey()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(key)
	// Seeds below are made-up look-alikes, not real keys, put together
	// here so that no key-like text sits in the file.
	f.Add([]byte("AGE-SECRET-" + "KEY-1" + strings.Repeat("Q", 58)))
	f.Add([]byte("# comment\n\nAGE-SECRET-" + "KEY-PQ-1XYZ\n"))
	f.Add([]byte("-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH " + "PRIVATE KEY-----\n"))
	f.Add(append(append([]byte{}, key...), key...))
	// Fixed wording may legitimately quote a key prefix; only text beyond
	// what these reference failures print counts as an echo of the input.
	var fixed strings.Builder
	for _, ref := range [][]byte{nil, bytes.Repeat([]byte("x"), 1<<17), append(append([]byte{}, key...), key...)} {
		_, err := core.ParseIdentity(ref)
		fixed.WriteString(err.Error() + "\n" + core.HintOf(err) + "\n")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := core.ParseIdentity(data)
		if err == nil {
			if !strings.HasPrefix(id.Recipient(), "age1") {
				t.Fatalf("accepted key has recipient %q", id.Recipient())
			}
			return
		}
		requireCode(t, err, core.CodeInvalidKey)
		msg := err.Error() + "\n" + core.HintOf(err)
		for _, line := range bytes.Split(data, []byte("\n")) {
			line = bytes.TrimSpace(line)
			if len(line) >= 12 && strings.Contains(msg, string(line)) && !strings.Contains(fixed.String(), string(line)) {
				t.Fatalf("error %q echoes input line %q", msg, line)
			}
		}
	})
}

// mustSafePath asserts the path invariant every accepted secret path holds.
func mustSafePath(t *testing.T, p string) {
	t.Helper()
	switch {
	case p == "", len(p) > 256:
		t.Fatalf("accepted path of length %d", len(p))
	case strings.HasPrefix(p, "/"), strings.Contains(p, "\\"), strings.Contains(p, ".."):
		t.Fatalf("accepted unsafe path %q", p)
	case strings.Contains(p, "//"), strings.HasSuffix(p, "/"):
		t.Fatalf("accepted path with an empty segment %q", p)
	case path.Clean(p) != p:
		t.Fatalf("accepted unclean path %q", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || strings.HasPrefix(seg, ".") {
			t.Fatalf("accepted dot segment in %q", p)
		}
	}
	mustPortable(t, p)
	if full := path.Join("secrets", p+".enc"); !strings.HasPrefix(full, "secrets/") {
		t.Fatalf("path %q escapes secrets/ as %q", p, full)
	}
}

// mustValidName asserts the invariant of an accepted name.
func mustValidName(t *testing.T, kind, name string) {
	t.Helper()
	if name == "" || len(name) > 64 || strings.ContainsAny(name, "/\\") || name == "." || name == ".." ||
		strings.HasPrefix(name, ".") || strings.HasPrefix(name, "-") {
		t.Fatalf("accepted %s name %q", kind, name)
	}
	mustPortable(t, name)
}

// mustPortable rejects NUL, control and non-ASCII bytes.
func mustPortable(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("accepted invalid UTF-8 %q", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] >= 0x7f {
			t.Fatalf("accepted byte %#x in %q", s[i], s)
		}
	}
}

// mustBeClean asserts an error message carries no control characters.
func mustBeClean(t *testing.T, err error) {
	t.Helper()
	msg := err.Error() + core.HintOf(err)
	for _, r := range msg {
		if r < 0x20 || r == 0x7f {
			t.Fatalf("error message contains control character %#x: %q", r, msg)
		}
	}
}
