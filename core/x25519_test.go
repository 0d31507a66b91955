package core

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
)

// x25519Pair is one throwaway key generated for the test, as age's types and
// as ours.
type x25519Pair struct {
	ageID  *age.X25519Identity
	ageRcp *age.X25519Recipient
	ours   *x25519Identity
	ourRcp *x25519Recipient
}

func newPair(t testing.TB) x25519Pair {
	t.Helper()
	k, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	id, err := ParseIdentity([]byte(k.String()))
	if err != nil {
		t.Fatal(err)
	}
	ours, ok := id.id.(*x25519Identity)
	if !ok {
		t.Fatalf("ParseIdentity gave %T, want *x25519Identity", id.id)
	}
	r, err := ParseRecipient(k.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	ourRcp, ok := r.(*x25519Recipient)
	if !ok {
		t.Fatalf("ParseRecipient gave %T, want *x25519Recipient", r)
	}
	return x25519Pair{ageID: k, ageRcp: k.Recipient(), ours: ours, ourRcp: ourRcp}
}

var (
	pairsOnce sync.Once
	pairs     [2]x25519Pair
)

// fuzzPairs are generated once per process: the properties below hold for
// any key, so a failing input reproduces with fresh ones.
func fuzzPairs(t testing.TB) [2]x25519Pair {
	pairsOnce.Do(func() { pairs = [2]x25519Pair{newPair(t), newPair(t)} })
	return pairs
}

// The scalar and point read back from age's encodings are the ones age
// holds: for many keys, each side opens what the other wraps.
func TestX25519KeysMatchAge(t *testing.T) {
	fileKey := []byte("0123456789abcdef")
	for range 64 {
		p := newPair(t)
		if !bytes.Equal(p.ourRcp.theirPublicKey, p.ours.ourPublicKey) {
			t.Fatal("recipient point differs from the identity's public key")
		}
		mine, err := p.ourRcp.Wrap(fileKey)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := p.ageRcp.Wrap(fileKey)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := p.ageID.Unwrap(mine); err != nil || !bytes.Equal(got, fileKey) {
			t.Fatalf("age cannot open our stanza: %v", err)
		}
		if got, err := p.ours.Unwrap(theirs); err != nil || !bytes.Equal(got, fileKey) {
			t.Fatalf("we cannot open age's stanza: %v", err)
		}
	}
}

func TestBech32PayloadRefusesOddInput(t *testing.T) {
	for _, s := range []string{"", "age1", "age1qqqqqq", "AGE-SECRET-KEY-1qqqqqq", "age1" + strings.Repeat("b", 58)} {
		if _, err := bech32Payload(s, "age1"); err == nil {
			t.Errorf("bech32Payload(%q) succeeded", s)
		}
	}
}

// unwrapBoth runs age's identity and ours on the same stanzas and fails
// unless both give the same file key, or the same error.
func unwrapBoth(t *testing.T, p x25519Pair, stanzas []*age.Stanza) {
	t.Helper()
	// Each side gets its own copy, so neither can see the other's edits.
	clone := func() []*age.Stanza {
		out := make([]*age.Stanza, len(stanzas))
		for i, s := range stanzas {
			out[i] = &age.Stanza{Type: s.Type, Args: append([]string(nil), s.Args...), Body: bytes.Clone(s.Body)}
		}
		return out
	}
	wantKey, wantErr := p.ageID.Unwrap(clone())
	gotKey, gotErr := p.ours.Unwrap(clone())
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("age: %v; ours: %v", wantErr, gotErr)
	}
	if wantErr != nil {
		if errors.Is(wantErr, age.ErrIncorrectIdentity) != errors.Is(gotErr, age.ErrIncorrectIdentity) || wantErr.Error() != gotErr.Error() {
			t.Fatalf("age: %v; ours: %v", wantErr, gotErr)
		}
		return
	}
	if !bytes.Equal(wantKey, gotKey) {
		t.Fatal("file keys differ")
	}
}

// roundTrip encrypts a whole age file to w and decrypts it with id.
func roundTrip(t *testing.T, plaintext []byte, w age.Recipient, id age.Identity) {
	t.Helper()
	var buf bytes.Buffer
	enc, err := age.Encrypt(&buf, w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(&buf, id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, plaintext) {
		t.Fatalf("round trip: %d bytes back of %d, %v", len(got), len(plaintext), err)
	}
}

// Modes of FuzzX25519MatchesAge, bits of its mode argument.
const (
	fuzzType     = 1 << iota // the stanza's type is typ
	fuzzArgs                 // its arguments are args split on spaces
	fuzzNoArgs               // it has no arguments
	fuzzBody                 // its body is body
	fuzzFlipBody             // body is XORed into the valid body
	fuzzOtherKey             // the valid stanza is for another key
)

// FuzzX25519MatchesAge is the differential test of x25519.go against age's
// own X25519Identity and X25519Recipient: each opens the files the other
// writes, and on any stanza, valid or damaged, both return the same file
// key or the same error (so a stanza age skips as not addressed to it is
// skipped here too, and one age refuses is refused). Its seeds run with
// `go test`; `go test -run='^$' -fuzz=FuzzX25519MatchesAge ./core/`
// explores further.
func FuzzX25519MatchesAge(f *testing.F) {
	valid := func(m uint8) uint8 { return m }
	zeroPoint := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	for _, lowOrder := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bc3bcc8fe1bcc8ae6aad2a5c8b1c73a2cc4a4de74dde0ba7a25b58e91e",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	} {
		b, _ := hex.DecodeString(lowOrder)
		f.Add("", base64.RawStdEncoding.EncodeToString(b), []byte(nil), valid(fuzzArgs))
	}
	f.Add("", "", []byte("plaintext"), valid(0))
	f.Add("", "", []byte(nil), valid(fuzzOtherKey))
	f.Add("scrypt", "", []byte(nil), valid(fuzzType))
	f.Add("x25519", "", []byte(nil), valid(fuzzType))
	f.Add("", "", []byte(nil), valid(fuzzNoArgs))
	f.Add("", zeroPoint+" extra", []byte(nil), valid(fuzzArgs))
	f.Add("", zeroPoint+"=", []byte(nil), valid(fuzzArgs))
	f.Add("", zeroPoint[:42], []byte(nil), valid(fuzzArgs))
	f.Add("", zeroPoint+"AA", []byte(nil), valid(fuzzArgs))
	// Non-zero trailing bits: strict base64 refuses what lax decoding
	// would read as the zero point.
	f.Add("", zeroPoint[:42]+"B", []byte(nil), valid(fuzzArgs))
	f.Add("", zeroPoint[:20]+"\n"+zeroPoint[20:], []byte(nil), valid(fuzzArgs))
	f.Add("", "!!!!", []byte(nil), valid(fuzzArgs))
	f.Add("", "", []byte{}, valid(fuzzBody))
	f.Add("", "", make([]byte, 31), valid(fuzzBody))
	f.Add("", "", make([]byte, 32), valid(fuzzBody))
	f.Add("", "", make([]byte, 33), valid(fuzzBody))
	f.Add("", "", []byte{1}, valid(fuzzFlipBody))
	f.Add("", "", append(make([]byte, 31), 0x80), valid(fuzzFlipBody))
	f.Fuzz(func(t *testing.T, typ, args string, body []byte, mode uint8) {
		ps := fuzzPairs(t)
		p := ps[0]
		if len(body) > 4096 {
			body = body[:4096] // the payload stream is age's, not ours
		}
		// Each writes what the other reads.
		roundTrip(t, body, p.ourRcp, p.ageID)
		roundTrip(t, body, p.ageRcp, p.ours)

		fileKey := make([]byte, fileKeySize)
		copy(fileKey, body)
		to := p.ageRcp
		if mode&fuzzOtherKey != 0 {
			to = ps[1].ageRcp
		}
		wrapped, err := to.Wrap(fileKey)
		if err != nil {
			t.Fatal(err)
		}
		st := wrapped[0]
		if mode&fuzzType != 0 {
			st.Type = typ
		}
		if mode&fuzzArgs != 0 {
			st.Args = strings.Split(args, " ")
		}
		if mode&fuzzNoArgs != 0 {
			st.Args = nil
		}
		if mode&fuzzBody != 0 {
			st.Body = body
		}
		if mode&fuzzFlipBody != 0 {
			for i := range min(len(body), len(st.Body)) {
				st.Body[i] ^= body[i]
			}
		}
		good, err := p.ageRcp.Wrap(fileKey)
		if err != nil {
			t.Fatal(err)
		}
		unwrapBoth(t, p, []*age.Stanza{st})
		// After the stanza, a valid one: reached only if the first is
		// skipped, on both sides alike.
		unwrapBoth(t, p, []*age.Stanza{st, good[0]})
		// And ours wraps a stanza that age opens, for the same file key.
		mine, err := p.ourRcp.Wrap(fileKey)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := p.ageID.Unwrap(mine); err != nil || !bytes.Equal(got, fileKey) {
			t.Fatalf("age cannot open our stanza: %v", err)
		}
	})
}

// withBadHybrid wraps for an X25519 recipient and adds a malformed hybrid
// stanza after it.
type withBadHybrid struct{ age.Recipient }

func (w withBadHybrid) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	s, err := w.Recipient.Wrap(fileKey)
	return append(s, &age.Stanza{Type: "mlkem768x25519"}), err
}

// DecryptFile keeps the order the keys were given in, as it did with age's
// own key types. Here the X25519 key, given first, opens the file; a hybrid
// key tried first would stop at the malformed hybrid stanza.
func TestDecryptFileTriesKeysInOrder(t *testing.T) {
	p := newPair(t)
	hybrid, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, withBadHybrid{p.ourRcp})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("value"))
	w.Close()
	got, err := DecryptFile(buf.Bytes(), []string{p.ageID.String(), hybrid.String()}, nil)
	if err != nil || string(got) != "value" {
		t.Fatalf("X25519 key first: %q, %v", got, err)
	}
	if _, err := DecryptFile(buf.Bytes(), []string{hybrid.String(), p.ageID.String()}, nil); CodeOf(err) != CodeCorruptVault {
		t.Fatalf("hybrid key first: %v, want corrupt_vault", err)
	}
	if _, err := DecryptFile(buf.Bytes(), []string{newPair(t).ageID.String()}, nil); CodeOf(err) != CodeNotAuthorized {
		t.Fatalf("another key: %v, want not_authorized", err)
	}
}
