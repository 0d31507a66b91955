package hardening

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/wasmtest"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

// TestEveryCorruptionOfACiphertext flips one bit at every byte and
// truncates at every length of a real secret file, then reads it natively
// and through the WebAssembly module. docs/architecture.md §7.6: never a panic and
// never a value; always corrupt_vault, except that damage inside the
// owner's own stanza may read as not_authorized (the owner's unwrap fails
// before the header MAC can be checked).
func TestEveryCorruptionOfACiphertext(t *testing.T) {
	f := buildVault(t, layout{agents: []string{"bot"}, grants: map[string][]string{"bot": {"app"}},
		groups: []string{"app"}, perGroup: 1, valueSize: 40})
	file := filepath.Join(f.e.Repo, core.DirName, "secrets", "app", "s0000.enc")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// The owner's stanza is the first "-> " line and its body line.
	start := bytes.Index(orig, []byte("\n-> ")) + 1
	bodyEnd := start + bytes.IndexByte(orig[start:], '\n') + 1
	ownerEnd := bodyEnd + bytes.IndexByte(orig[bodyEnd:], '\n') + 1

	type variant struct {
		name      string
		data      []byte
		ownerPart bool
	}
	var variants []variant
	for i := range orig {
		d := bytes.Clone(orig)
		d[i] ^= 1 << (i % 8)
		variants = append(variants, variant{fmt.Sprintf("bit %d of byte %d flipped", i%8, i), d, i >= start && i < ownerEnd})
	}
	for n := range len(orig) {
		variants = append(variants, variant{fmt.Sprintf("truncated to %d bytes", n), bytes.Clone(orig[:n]), false})
	}

	ctx := ctxTimeout(t)
	rt, err := wasmtest.Runtime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	wv, err := rt.OpenVault(ctx, abi.Request{Repo: f.e.Repo, Key: core.KeySpec{Path: f.e.OwnerKey()}})
	if err != nil {
		t.Fatal(err)
	}
	defer wv.Close(ctx)
	owner := ownerIdentity(t, f.e)

	accept := func(v variant, err error) error {
		switch code := core.CodeOf(err); {
		case err == nil:
			return fmt.Errorf("%s: read succeeded", v.name)
		case code == core.CodeCorruptVault, code == core.CodeNotAuthorized && v.ownerPart:
			return nil
		case code == core.CodeUntrusted:
			// Bytes that are not the signed ones are refused before they
			// are decrypted.
			return nil
		default:
			return fmt.Errorf("%s: %v (%s), want corrupt_vault", v.name, err, code)
		}
	}
	for _, v := range variants {
		if err := os.WriteFile(file, v.data, 0o644); err != nil {
			t.Fatal(err)
		}
		// Both read through the owner's signature, as every reader does:
		// natively with the vault's trust, in the module through the reader.
		nv := openVault(t, f.e)
		trust, terr := nv.LoadTrust("")
		if terr != nil {
			t.Fatal(terr)
		}
		_, nerr := nv.WithIdentity(owner).WithTrust(trust).Get("app/s0000")
		if err := accept(v, nerr); err != nil {
			t.Errorf("native: %v", err)
		}
		_, werr := wv.Get(ctx, "app/s0000")
		if err := accept(v, werr); err != nil {
			t.Errorf("wasm: %v", err)
		}
		if core.CodeOf(nerr) != core.CodeOf(werr) {
			t.Errorf("%s: native says %s, wasm says %s", v.name, core.CodeOf(nerr), core.CodeOf(werr))
		}
	}
	// The CLI maps the same failure to the README's exit code.
	os.WriteFile(file, variants[len(orig)-3].data, 0o644)
	r := run(t, f.e, "get", "app/s0000")
	noCrashOutput(t, "get", r)
	if r.Code != exitCodes[core.CodeCorruptVault] || bytes.Contains([]byte(r.Stdout), f.values["app/s0000"][:20]) {
		t.Errorf("get of a damaged file: exit %d, stdout %d bytes", r.Code, len(r.Stdout))
	}
}
