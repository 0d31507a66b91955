package wasmhost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/wasmhost"
	"github.com/agent-vault/agent-vault/internal/wasmtest"
	"github.com/agent-vault/agent-vault/tests/vectors"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

func runtime(t *testing.T) (*wasmhost.Runtime, context.Context) {
	t.Helper()
	ctx := context.Background()
	rt, err := wasmtest.Runtime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	return rt, ctx
}

// TestHostileRequestsReturnErrorCodes sends malformed input across the
// boundary: every request gets an error envelope, and the instance stays
// usable afterwards (the guest never traps).
func TestHostileRequestsReturnErrorCodes(t *testing.T) {
	rt, ctx := runtime(t)
	table, err := vectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	in, err := rt.Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	owner, _ := os.ReadFile(filepath.Join(table.Dir, "keys", "owner.key"))
	good, _ := os.ReadFile(filepath.Join(table.VaultDir(), ".agent-vault", "secrets", "stripe", "api-key.enc"))
	flipped := bytes.Clone(good)
	flipped[len(flipped)-5] ^= 0x40
	cases := []struct {
		name string
		req  []byte
		code core.Code
	}{
		{"not json", []byte("{{{"), core.CodeInvalidInput},
		{"empty", []byte(""), core.CodeInvalidInput},
		{"no op", []byte(`{}`), core.CodeInvalidInput},
		{"unknown op", []byte(`{"op":"explode"}`), core.CodeInvalidInput},
		{"wrong types", []byte(`{"op":"get","handle":"one"}`), core.CodeInvalidInput},
		{"no handle", []byte(`{"op":"get","handle":42,"secret":"a/b"}`), core.CodeInvalidInput},
		{"deep nesting", []byte(strings.Repeat("[", 100000)), core.CodeInvalidInput},
		{"open a directory without a vault", mustJSON(abi.Request{Op: "open", Repo: "/etc", MetadataOnly: true}), core.CodeVaultNotFound},
		{"open a missing directory", mustJSON(abi.Request{Op: "open", Repo: "/nonexistent/vault", MetadataOnly: true}), core.CodeVaultNotFound},
		{"open a relative path without cwd", mustJSON(abi.Request{Op: "open", MetadataOnly: true}), core.CodeInvalidInput},
		{"truncated ciphertext", mustJSON(abi.Request{Op: "decrypt", Identities: []string{string(owner)}, Ciphertext: good[:len(good)/2]}), core.CodeCorruptVault},
		{"bit-flipped ciphertext", mustJSON(abi.Request{Op: "decrypt", Identities: []string{string(owner)}, Ciphertext: flipped}), core.CodeCorruptVault},
		{"huge garbage ciphertext", mustJSON(abi.Request{Op: "decrypt", Identities: []string{string(owner)}, Ciphertext: bytes.Repeat([]byte{0xAB}, 8<<20)}), core.CodeCorruptVault},
		{"bad identity", mustJSON(abi.Request{Op: "decrypt", Identities: []string{"AGE-SECRET-KEY-1NOPE"}, Ciphertext: good}), core.CodeInvalidKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := in.Call(ctx, c.req)
			if err != nil {
				t.Fatalf("host call failed (guest trapped?): %v", err)
			}
			var env struct {
				OK    bool `json:"ok"`
				Error struct {
					Code   core.Code `json:"code"`
					Number int       `json:"number"`
				} `json:"error"`
			}
			if err := json.Unmarshal(resp, &env); err != nil {
				t.Fatalf("invalid envelope %q: %v", resp, err)
			}
			if env.OK || env.Error.Code != c.code || env.Error.Number != c.code.Number() {
				t.Fatalf("got %s", resp)
			}
		})
	}
	// The instance still answers after all of that.
	var v struct {
		ABI int `json:"abi"`
	}
	if err := in.Do(ctx, abi.Request{Op: "version"}, &v); err != nil || v.ABI != abi.Version {
		t.Fatalf("instance unusable after hostile input: %v", err)
	}
}

func TestBrokenVaultYAML(t *testing.T) {
	rt, ctx := runtime(t)
	dir := t.TempDir()
	vd := filepath.Join(dir, ".agent-vault")
	os.MkdirAll(vd, 0o755)
	_, pub, _ := core.NewKey()
	os.WriteFile(filepath.Join(vd, "config.yaml"), []byte("version: 1\nencryption:\n  format: age\n"), 0o644)
	os.WriteFile(filepath.Join(vd, "owner.pub"), []byte(pub+"\n"), 0o644)
	for name, manifest := range map[string]string{
		"syntax":      "version: 1\nagents: [unclosed\n",
		"alias bomb":  "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nversion: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n",
		"traversal":   "version: 1\ngroups:\n  - name: g\n    secrets: [../../etc/passwd]\n",
		"bad version": "version: 99\n",
	} {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(filepath.Join(vd, "manifest.yaml"), []byte(manifest), 0o644)
			// The policy is parsed when first needed, so the damage shows
			// on every operation that reads it.
			v, err := rt.OpenVault(ctx, abi.Request{Repo: dir, MetadataOnly: true})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer v.Close(ctx)
			_, err = v.List(ctx, "", false)
			if core.CodeOf(err) != core.CodeCorruptVault {
				t.Fatalf("list: got %v, want corrupt_vault", err)
			}
			_, err = v.Agents(ctx)
			if core.CodeOf(err) != core.CodeCorruptVault {
				t.Fatalf("agents: got %v, want corrupt_vault", err)
			}
			_, err = v.Check(ctx, "")
			if core.CodeOf(err) != core.CodeCorruptVault {
				t.Fatalf("check: got %v, want corrupt_vault", err)
			}
		})
	}
}

// TestSymlinkInVaultRefused: a host's file access follows links, so core
// must refuse them itself.
func TestSymlinkInVaultRefused(t *testing.T) {
	rt, ctx := runtime(t)
	table, err := vectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(table.VaultDir())); err != nil {
		t.Fatal(err)
	}
	enc := filepath.Join(dir, ".agent-vault", "secrets", "stripe", "api-key.enc")
	os.Remove(enc)
	if err := os.Symlink("/etc/hostname", enc); err != nil {
		t.Fatal(err)
	}
	v, err := rt.OpenVault(ctx, abi.Request{Repo: dir, Key: core.KeySpec{Path: filepath.Join(table.Dir, "keys", "owner.key")}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(ctx)
	_, err = v.Get(ctx, "stripe/api-key")
	if core.CodeOf(err) != core.CodeCorruptVault || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("got %v, want a symlink refusal", err)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
