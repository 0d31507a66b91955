package core

// Why this file exists: filippo.io/age's X25519Identity and X25519Recipient
// call golang.org/x/crypto/curve25519.X25519 for every stanza, which builds a
// crypto/ecdh private key each time, and since Go 1.26 crypto/ecdh computes
// the public key of every private key it builds. So each unwrap costs two
// scalar multiplications and each wrap four, where the format needs one and
// two. The types below are age's X25519 stanza (age-encryption.org/v1,
// "X25519"), mirrored step by step from age v1.3.2's x25519.go, over a
// crypto/ecdh key parsed once; the key text is still parsed and validated by
// age. Remove this file, and hand age's own types to age again (ParseIdentity
// and ParseRecipient in keys.go, DecryptFile in crypto.go), once filippo.io/age
// keeps an *ecdh.PrivateKey itself.

import (
	"bytes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

const (
	x25519Label = "age-encryption.org/v1/X25519"
	// fileKeySize is age's file key length; the wrapped key must be exactly
	// this long, as age's aeadDecrypt requires.
	fileKeySize = 16
)

// stanzaB64 is the stanza argument encoding of age's internal/format.
var stanzaB64 = base64.RawStdEncoding.Strict()

// x25519Identity unwraps X25519 stanzas with one scalar multiplication.
type x25519Identity struct {
	key          *ecdh.PrivateKey
	ourPublicKey []byte
	// age is the parsed key, for its text form (key files and escrows).
	age *age.X25519Identity
}

// String is the key in age's encoding, AGE-SECRET-KEY-1...
func (i *x25519Identity) String() string { return i.age.String() }

// newX25519Identity takes the scalar of a key age has parsed.
func newX25519Identity(k *age.X25519Identity) (*x25519Identity, error) {
	scalar, err := bech32Payload(k.String(), "AGE-SECRET-KEY-1")
	if err != nil {
		return nil, wrap(CodeInternal, err, "failed to read X25519 key")
	}
	defer zero(scalar)
	key, err := ecdh.X25519().NewPrivateKey(scalar)
	if err != nil {
		return nil, wrap(CodeInternal, err, "failed to read X25519 key")
	}
	// age derived the same public key from the same scalar: a mismatch
	// means the scalar was read wrongly.
	pub, err := bech32Payload(k.Recipient().String(), "age1")
	if err != nil || !bytes.Equal(pub, key.PublicKey().Bytes()) {
		return nil, errorf(CodeInternal, "failed to read X25519 key: public key mismatch")
	}
	return &x25519Identity{key: key, ourPublicKey: pub, age: k}, nil
}

// Unwrap is age's multiUnwrap: stanzas not for this key are skipped, any
// other error stops.
func (i *x25519Identity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		fileKey, err := i.unwrap(s)
		if errors.Is(err, age.ErrIncorrectIdentity) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return fileKey, nil
	}
	return nil, age.ErrIncorrectIdentity
}

func (i *x25519Identity) unwrap(block *age.Stanza) ([]byte, error) {
	if block.Type != "X25519" {
		return nil, age.ErrIncorrectIdentity
	}
	if len(block.Args) != 1 {
		return nil, errors.New("invalid X25519 recipient block")
	}
	publicKey, err := decodeStanzaArg(block.Args[0])
	if err != nil {
		return nil, fmt.Errorf("failed to parse X25519 recipient: %v", err)
	}
	if len(publicKey) != 32 {
		return nil, errors.New("invalid X25519 recipient block")
	}
	peer, err := ecdh.X25519().NewPublicKey(publicKey)
	if err != nil {
		return nil, fmt.Errorf("invalid X25519 recipient: %v", err)
	}
	// ECDH refuses an all-zero shared secret (a low-order share), as
	// curve25519.X25519 does for age.
	sharedSecret, err := i.key.ECDH(peer)
	if err != nil {
		return nil, fmt.Errorf("invalid X25519 recipient: %v", err)
	}
	aead, err := wrapAEAD(sharedSecret, publicKey, i.ourPublicKey)
	if err != nil {
		return nil, err
	}
	// A fixed-size body limits multi-key attacks (age's aeadDecrypt).
	if len(block.Body) != fileKeySize+aead.Overhead() {
		return nil, errors.New("invalid X25519 recipient block: incorrect file key size")
	}
	// The zero nonce is safe: the wrapping key is derived from a fresh
	// ephemeral share and used once.
	fileKey, err := aead.Open(nil, make([]byte, chacha20poly1305.NonceSize), block.Body, nil)
	if err != nil {
		return nil, age.ErrIncorrectIdentity
	}
	return fileKey, nil
}

// x25519Recipient wraps a file key with two scalar multiplications: the
// ephemeral key's public share, computed once by GenerateKey, and the ECDH.
type x25519Recipient struct {
	theirKey       *ecdh.PublicKey
	theirPublicKey []byte
	text           string
}

// String is the recipient in age's encoding, age1...
func (r *x25519Recipient) String() string { return r.text }

// newX25519Recipient takes the point of a recipient age has parsed.
func newX25519Recipient(r *age.X25519Recipient) (*x25519Recipient, error) {
	pub, err := bech32Payload(r.String(), "age1")
	if err != nil {
		return nil, wrap(CodeInternal, err, "failed to read X25519 recipient")
	}
	key, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, wrap(CodeInternal, err, "failed to read X25519 recipient")
	}
	return &x25519Recipient{theirKey: key, theirPublicKey: pub, text: r.String()}, nil
}

// Wrap produces the same stanza as age's X25519Recipient.Wrap.
func (r *x25519Recipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	ephemeral, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	ourPublicKey := ephemeral.PublicKey().Bytes()
	sharedSecret, err := ephemeral.ECDH(r.theirKey)
	if err != nil {
		return nil, err
	}
	l := &age.Stanza{
		Type: "X25519",
		Args: []string{stanzaB64.EncodeToString(ourPublicKey)},
	}
	aead, err := wrapAEAD(sharedSecret, ourPublicKey, r.theirPublicKey)
	if err != nil {
		return nil, err
	}
	l.Body = aead.Seal(nil, make([]byte, chacha20poly1305.NonceSize), fileKey, nil)
	return []*age.Stanza{l}, nil
}

// fastRecipient swaps age's X25519 recipient for the one above and passes
// any other type through.
func fastRecipient(r age.Recipient) (age.Recipient, error) {
	if k, ok := r.(*age.X25519Recipient); ok {
		return newX25519Recipient(k)
	}
	return r, nil
}

// wrapAEAD is the stanza's key-wrapping cipher: ChaCha20-Poly1305 keyed
// by HKDF-SHA256 of the shared secret, salted with the ephemeral share and
// the recipient, exactly as age's X25519 stanza.
func wrapAEAD(sharedSecret, ephemeral, recipient []byte) (cipher.AEAD, error) {
	salt := make([]byte, 0, len(ephemeral)+len(recipient))
	salt = append(salt, ephemeral...)
	salt = append(salt, recipient...)
	wrappingKey, err := hkdf.Key(sha256.New, sharedSecret, salt, x25519Label, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	return chacha20poly1305.New(wrappingKey)
}

// decodeStanzaArg is age's format.DecodeString: strict unpadded base64, and
// no CR or LF, which the decoder would otherwise skip.
func decodeStanzaArg(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\n\r") {
		return nil, errors.New(`unexpected newline character`)
	}
	return stanzaB64.DecodeString(s)
}

// bech32Charset is Bech32's alphabet (BIP 173), which age's keys use.
const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// bech32Payload returns the 32 bytes of an age key encoding that age itself
// has produced from a key it parsed (checksum, case and padding already
// verified): the data characters after prefix and before the six checksum
// characters, regrouped from 5 to 8 bits.
func bech32Payload(s, prefix string) ([]byte, error) {
	if len(s) < len(prefix)+6 || !strings.EqualFold(s[:len(prefix)], prefix) {
		return nil, errors.New("unexpected key encoding")
	}
	data := s[len(prefix) : len(s)-6]
	out := make([]byte, 0, 32)
	var acc uint32
	bits := 0
	for k := 0; k < len(data); k++ {
		c := data[k]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		d := strings.IndexByte(bech32Charset, c)
		if d < 0 {
			return nil, errors.New("unexpected key encoding")
		}
		acc = acc<<5 | uint32(d)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	if len(out) != 32 || bits >= 5 || acc&(1<<bits-1) != 0 {
		zero(out)
		return nil, errors.New("unexpected key length")
	}
	return out, nil
}

// inOrder tries identities in the order given, skipping those a stanza is
// not for. age tries its own key types first and any other after them, so
// without this an X25519 key above would be tried after scrypt or hybrid
// ones given later; with it the order is the caller's, as it was with age's
// own types.
type inOrder []age.Identity

func (ids inOrder) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, id := range ids {
		fileKey, err := id.Unwrap(stanzas)
		if errors.Is(err, age.ErrIncorrectIdentity) {
			continue
		}
		return fileKey, err
	}
	return nil, age.ErrIncorrectIdentity
}
