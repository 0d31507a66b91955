package core

// Fuzz targets for the signed records, which come from the repository.
// Their seed corpora (testdata/fuzz/FuzzParseState, FuzzParseBucket, plus
// the f.Add calls) run in the ordinary test suite.

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
)

// seedSigner is a throwaway signing key for seeds, derived from a fixed
// seed so the corpus files stay valid records.
func seedSigner() *signer {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	return &signer{priv: priv, pub: priv.Public().(ed25519.PublicKey)}
}

func seedState() *state {
	k := seedSigner()
	return &state{
		vaultID: "00112233445566778899aabbccddeeff", version: 42, signer: k.pub,
		// A look-alike recipient: the public half of a throwaway key.
		owner:  "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj",
		config: digestOf([]byte("c")), ownerPub: digestOf([]byte("o")), manifest: digestOf([]byte("m")),
		agents: map[string]agentDigests{
			"billing": {pub: digestOf([]byte("p")), escrow: digestOf([]byte("e")), hasEscrow: true},
			"deploy":  {pub: digestOf([]byte("q"))},
		},
		buckets: map[byte]bucketRef{0x00: {digest: digestOf([]byte("b0")), count: 1}, 0xa7: {digest: digestOf([]byte("b1")), count: 3}},
	}
}

// FuzzParseState: a hostile top record never panics, fails only as
// untrusted, and anything accepted is canonical (re-encodes to the very
// bytes read) with a valid signature by the key it names.
func FuzzParseState(f *testing.F) {
	valid := seedState().sign(seedSigner())
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(bytes.Replace(valid, []byte("version 42"), []byte("version 042"), 1))
	f.Add(bytes.Replace(valid, []byte("version 42"), []byte("version 43"), 1))
	f.Add([]byte("agent-vault-state v1\nsig AAAA\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseState(data)
		if err != nil {
			if CodeOf(err) != CodeUntrusted {
				t.Fatalf("error %v has code %s", err, CodeOf(err))
			}
			return
		}
		body := st.marshalBody()
		rest, ok := bytes.CutPrefix(data, body)
		if !ok {
			t.Fatalf("accepted a record that is not canonical")
		}
		sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(string(rest), "sig "), "\n"))
		if err != nil || !ed25519.Verify(st.signer, body, sig) {
			t.Fatalf("accepted a record whose signature does not verify")
		}
	})
}

// FuzzParseBucket: a hostile bucket never panics, fails only as
// untrusted, and anything accepted re-encodes to the same bytes.
func FuzzParseBucket(f *testing.F) {
	b := bucket{}
	for _, s := range []string{"stripe/api-key", "postgres/conn", "plain-token", "a/b/c"} {
		b[s] = entry{enc: digestOf([]byte(s + ".enc")), meta: digestOf([]byte(s + ".meta"))}
	}
	for s := range b {
		id := bucketOf(s)
		f.Add(id, marshalBucket(id, bucket{s: b[s]}))
	}
	f.Add(byte(0), []byte("agent-vault-bucket v1 00\n"))
	f.Add(byte(1), []byte("agent-vault-bucket v1 01\n../x 00 00\n"))
	f.Fuzz(func(t *testing.T, id byte, data []byte) {
		got, err := parseBucket(id, data)
		if err != nil {
			if CodeOf(err) != CodeUntrusted {
				t.Fatalf("error %v has code %s", err, CodeOf(err))
			}
			return
		}
		for s := range got {
			if ValidateSecretPath(s) != nil || bucketOf(s) != id {
				t.Fatalf("accepted entry %q in bucket %02x", s, id)
			}
		}
		if !bytes.Equal(marshalBucket(id, got), data) {
			t.Fatalf("accepted a bucket that is not canonical")
		}
	})
}

// Every single-byte change of a signed record is refused: the record is
// canonical and the signature covers all of it.
func TestStateRefusesEveryByteFlip(t *testing.T) {
	valid := seedState().sign(seedSigner())
	if _, err := parseState(valid); err != nil {
		t.Fatal(err)
	}
	for i := range valid {
		for _, x := range []byte{0x01, 0x20} {
			bad := bytes.Clone(valid)
			bad[i] ^= x
			if _, err := parseState(bad); err == nil {
				t.Fatalf("byte %d ^ %#x accepted", i, x)
			} else if CodeOf(err) != CodeUntrusted {
				t.Fatalf("byte %d: code %s", i, CodeOf(err))
			}
		}
	}
}
