package abi_test

// Fuzz targets for the request envelope every binding sends into the
// module. The seed corpora (testdata/fuzz/<target>/ and the f.Add calls)
// run in the ordinary suite.

import (
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/memhost"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

// fixture is the shared conformance vault; the fuzzer must fail, not skip,
// when it is missing.
var fixture = filepath.Join("..", "..", "tests", "vectors")

func readFixture(tb testing.TB, rel string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(fixture, rel))
	if err != nil {
		tb.Fatalf("conformance fixture missing: %v", err)
	}
	return data
}

// FuzzDecodeRequest: the decoder never panics, rejects only with
// invalid_input, and whatever it accepts has an op.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{`{"op":"version"}`, `{"op":""}`, `{}`, `[]`, `null`, `{"op":"get","handle":1,"secret":"a/b"}`,
		`{"op":"open","key":"!!notanobject"}`, `{"op":"get","handle":99999999999}`, `{"op":"x","op":"y"}`, "\xff\xfe"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := abi.DecodeRequest(data)
		if err != nil {
			if core.CodeOf(err) != core.CodeInvalidInput {
				t.Fatalf("decode error %q has code %s", err, core.CodeOf(err))
			}
			return
		}
		if r.Op == "" {
			t.Fatal("accepted a request without op")
		}
	})
}

// keyText matches an age private key, which no response may echo.
var keyText = regexp.MustCompile(`(?i)AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]{10}`)

// FuzzCall drives whole requests through a dispatcher that already holds
// open vaults: the fixture with the owner key (handle 1), a hostile vault
// with symlinks, a YAML bomb and truncated ciphertext (handle 2), and the
// fixture without a key (handle 3). Every response must be one valid JSON
// envelope with a known error code, and must never echo key material.
func FuzzCall(f *testing.F) {
	ownerKey := readFixture(f, "keys/owner.key")
	ct := readFixture(f, "vault/.agent-vault/secrets/stripe/api-key.enc")
	host := fuzzHost(f)
	b64 := base64.StdEncoding.EncodeToString
	keyLine := string(regexp.MustCompile(`AGE-SECRET-KEY-1[0-9A-Z]+`).Find(ownerKey))
	for _, s := range []string{
		`{"op":"get","handle":1,"secret":"stripe/api-key"}`,
		`{"op":"get","handle":1,"secret":"../../etc/passwd"}`,
		`{"op":"get","handle":2,"secret":"g/link"}`,
		`{"op":"get","handle":2,"secret":"g/trunc"}`,
		`{"op":"get","handle":2,"secret":"g/missing"}`,
		`{"op":"get","handle":3,"secret":"stripe/api-key"}`,
		`{"op":"list","handle":2}`, `{"op":"list","handle":1,"group":"stripe"}`,
		`{"op":"agents","handle":1}`, `{"op":"agents","handle":2}`,
		`{"op":"check","handle":2,"now":"2026-01-01T00:00:00Z"}`, `{"op":"check","handle":1,"now":"yesterday"}`,
		`{"op":"open","repo":"/hostile","metadata_only":true}`, `{"op":"open","repo":"/nowhere"}`,
		`{"op":"open","repo":"/vault","key":{"path":"` + keyLine + `"}}`,
		`{"op":"open","repo":"/vault","key":{"text":"` + keyLine + `x"}}`,
		`{"op":"open","repo":"/vault","key":{"path":"/k"}}`, `{"op":"open","repo":"/vault","key":{"env":"~/k"},"home":"/h"}`,
		`{"op":"open","repo":"git@host:a/b.git","home":"/h","metadata_only":true}`, `{"op":"open","repo":"vault","cwd":"/","metadata_only":true}`,
		`{"op":"pull","handle":1}`, `{"op":"reload","handle":2}`, `{"op":"list","handle":1,"all":true}`,
		`{"op":"decrypt","identities":["` + keyLine + `"],"ciphertext":"` + b64(ct) + `"}`,
		`{"op":"decrypt","identities":["AGE-SECRET-KEY-1QQQ"],"ciphertext":"` + b64(ct[:40]) + `"}`,
		`{"op":"close","handle":1}`, `{"op":"version"}`, `{"op":"nope"}`, `{"op":"get","handle":-1}`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		var peek abi.Request
		if json.Unmarshal(req, &peek) == nil && peek.Op == "decrypt" && len(peek.Passphrases) > 0 {
			// scrypt stanzas pick their own work factor (up to 2^22, 4 GiB);
			// that cost is the caller's own choice, not a hostile-input bug.
			return
		}
		d := abi.NewDispatcher(host)
		for _, open := range []string{
			`{"op":"open","repo":"/vault","key":{"text":` + jsonString(string(ownerKey)) + `}}`,
			`{"op":"open","repo":"/hostile","key":{"text":` + jsonString(string(ownerKey)) + `}}`,
			`{"op":"open","repo":"/vault","metadata_only":true}`,
		} {
			if resp := envelope(t, d.Call([]byte(open))); !resp.OK {
				t.Fatalf("setup %s failed: %+v", open, resp.Error)
			}
		}
		resp := envelope(t, d.Call(req))
		if keyText.Match(resp.raw) {
			t.Fatalf("response echoes key material: %s", resp.raw)
		}
	})
}

type response struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    core.Code `json:"code"`
		Number  int       `json:"number"`
		Message string    `json:"message"`
		Hint    string    `json:"hint"`
	} `json:"error"`
	raw []byte
}

// envelope asserts that raw is exactly one well-formed response.
func envelope(t *testing.T, raw []byte) response {
	t.Helper()
	if !json.Valid(raw) {
		t.Fatalf("response is not JSON: %q", raw)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("response is not an object: %s", raw)
	}
	if _, ok := fields["ok"]; !ok {
		t.Fatalf("response has no ok field: %s", raw)
	}
	var r response
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("malformed envelope %s: %v", raw, err)
	}
	r.raw = raw
	if r.OK {
		if r.Error != nil || r.Result == nil {
			t.Fatalf("ok response with error or without result: %s", raw)
		}
		return r
	}
	if r.Error == nil || r.Error.Message == "" {
		t.Fatalf("failed response without an error: %s", raw)
	}
	if !slices.Contains(core.Codes(), r.Error.Code) || r.Error.Number != r.Error.Code.Number() {
		t.Fatalf("unknown error code or number: %s", raw)
	}
	if r.Error.Code == core.CodeInternal {
		t.Fatalf("internal error (a bug, or a recovered panic): %s", raw)
	}
	return r
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// fuzzHost serves the fixture vault at /vault and the hostile one at
// /hostile, from memory.
func fuzzHost(tb testing.TB) memhost.Host {
	files := fstest.MapFS{}
	if err := memhost.Mount(files, "vault", os.DirFS(filepath.Join(fixture, "vault"))); err != nil {
		tb.Fatal(err)
	}
	if err := memhost.Mount(files, "hostile", hostileFS(tb)); err != nil {
		tb.Fatal(err)
	}
	return memhost.Host{Files: files}
}

// hostileFS is a vault whose files were committed by an attacker.
func hostileFS(tb testing.TB) fstest.MapFS {
	meta := func(name string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("name: " + name + "\ngroup: g\ncreated: 2026-01-01T00:00:00Z\nrotated: 2026-01-01T00:00:00Z\nauthorized_agents: []\n")}
	}
	ct := readFixture(tb, "vault/.agent-vault/secrets/stripe/api-key.enc")
	bomb := "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n" +
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nname: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	const v = ".agent-vault/"
	return fstest.MapFS{
		v + "config.yaml":            {Data: readFixture(tb, "vault/.agent-vault/config.yaml")},
		v + "owner.pub":              {Data: readFixture(tb, "vault/.agent-vault/owner.pub")},
		v + "manifest.yaml":          {Data: []byte("version: 1\nowners: [{name: o, public_key: owner.pub}]\nagents: []\ngroups:\n  - name: g\n    secrets: [g/link, g/bomb, g/trunc, g/missing, g/dir/x]\n")},
		v + "secrets/g/link.enc":     {Data: []byte("../../../../../etc/hostname"), Mode: fs.ModeSymlink},
		v + "secrets/g/link.meta":    meta("g/link"),
		v + "secrets/g/bomb.enc":     {Data: ct},
		v + "secrets/g/bomb.meta":    {Data: []byte(bomb)},
		v + "secrets/g/trunc.enc":    {Data: ct[:len(ct)/2]},
		v + "secrets/g/trunc.meta":   meta("g/trunc"),
		v + "secrets/g/dir":          {Data: []byte("../../agents"), Mode: fs.ModeSymlink},
		v + "agents/x.enc":           {Data: ct},
		v + "agents/x.meta":          meta("g/dir/x"),
		v + "secrets/g/missing.meta": meta("g/missing"),
	}
}

// TestHostileFSRefused pins what the fuzzer's hostile vault must produce, so
// a regression in symlink or size handling fails even without fuzzing.
func TestHostileFSRefused(t *testing.T) {
	ownerKey := readFixture(t, "keys/owner.key")
	d := abi.NewDispatcher(fuzzHost(t))
	open := envelope(t, d.Call([]byte(`{"op":"open","repo":"/hostile","key":{"text":`+jsonString(string(ownerKey))+`}}`)))
	if !open.OK {
		t.Fatalf("open failed: %+v", open.Error)
	}
	for secret, code := range map[string]core.Code{
		"g/link": core.CodeCorruptVault, "g/dir/x": core.CodeCorruptVault, "g/trunc": core.CodeCorruptVault,
		"g/missing": core.CodeSecretNotFound, "../g/link": core.CodeInvalidInput,
	} {
		r := envelope(t, d.Call([]byte(`{"op":"get","handle":1,"secret":"`+secret+`"}`)))
		if r.OK || r.Error.Code != code {
			t.Errorf("get %s: got %s, want error %s", secret, r.raw, code)
		}
	}
	if r := envelope(t, d.Call([]byte(`{"op":"list","handle":1}`))); r.OK || r.Error.Code != core.CodeCorruptVault {
		t.Errorf("list over a YAML bomb and symlinks: got %s, want corrupt_vault", r.raw)
	}
}
