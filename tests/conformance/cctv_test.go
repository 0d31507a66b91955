package conformance

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"strings"
	"testing"

	agetest "c2sp.org/CCTV/age"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/wasmtest"
)

// cctvVector is one file of the C2SP CCTV age test vectors.
type cctvVector struct {
	expect      string
	payload     string
	identities  []string
	passphrases []string
	body        []byte
}

func parseVector(t *testing.T, data []byte) cctvVector {
	var v cctvVector
	r := bufio.NewReader(bytes.NewReader(data))
	compressed := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("truncated vector header: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			break
		}
		k, val, _ := strings.Cut(line, ": ")
		switch k {
		case "expect":
			v.expect = val
		case "payload":
			v.payload = val
		case "identity":
			v.identities = append(v.identities, val)
		case "passphrase":
			v.passphrases = append(v.passphrases, val)
		case "compressed":
			compressed = val == "zlib"
		}
	}
	body, _ := io.ReadAll(r)
	if compressed {
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	v.body = body
	return v
}

// expectedCode maps a vector's expected outcome to our error taxonomy.
func expectedCode(expect string) core.Code {
	if expect == "no match" {
		return core.CodeNotAuthorized
	}
	return core.CodeCorruptVault
}

func TestCCTVAgeVectors(t *testing.T) {
	ctx := context.Background()
	rt, err := wasmtest.Runtime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	in, err := rt.Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	entries, err := fs.ReadDir(agetest.Vectors, ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 100 {
		t.Fatalf("only %d CCTV vectors found", len(entries))
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			data, err := fs.ReadFile(agetest.Vectors, e.Name())
			if err != nil {
				t.Fatal(err)
			}
			v := parseVector(t, data)
			native, nerr := core.DecryptFile(v.body, v.identities, v.passphrases)
			wasm, werr := in.Decrypt(ctx, v.body, v.identities, v.passphrases)
			if v.expect == "success" {
				for name, got := range map[string][]byte{"native": native, "wasm": wasm} {
					sum := sha256.Sum256(got)
					if hex.EncodeToString(sum[:]) != v.payload {
						t.Errorf("%s: payload hash mismatch (errors: native %v, wasm %v)", name, nerr, werr)
					}
				}
				return
			}
			want := expectedCode(v.expect)
			if core.CodeOf(nerr) != want || nerr == nil {
				t.Errorf("native: expected %s (%s), got %v", want, v.expect, nerr)
			}
			if core.CodeOf(werr) != want || werr == nil {
				t.Errorf("wasm: expected %s (%s), got %v", want, v.expect, werr)
			}
		})
	}
}
