package core

// The owner's signing key. age keys cannot sign (X25519 is a key agreement,
// not a signature scheme), so the owner signs the vault state with an
// Ed25519 key derived from the owner's age secret key: HKDF-SHA256 (RFC
// 5869) with no salt, the key's canonical text ("AGE-SECRET-KEY-1...") as
// input keying material and a fixed label as info, expanded to the 32-byte
// Ed25519 seed of RFC 8032. The derivation is one-way and deterministic, so
// owner.key stays the only thing to back up and a signature reveals nothing
// about the age key. Everything here is library primitives used as those
// RFCs define them; nothing is hand-written.

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base32"
	"strings"

	"filippo.io/edwards25519"
)

// signingLabel is the HKDF info string. Changing it changes every owner's
// verification key, so it is fixed for the life of the format.
const signingLabel = "agent-vault owner signing key v1"

// OwnerKeyPrefix starts the text form of an owner verification key (a pin).
const OwnerKeyPrefix = "avowner1"

// pinEncoding is lowercase base32 without padding: one word a terminal
// selects with a double click, safe in an environment variable.
var pinEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// signer is the owner's derived Ed25519 key pair.
type signer struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

// ownerSigner derives the owner's signing key from id.
func ownerSigner(id *Identity) (*signer, error) {
	seed, err := ownerSeed(id)
	if err != nil {
		return nil, err
	}
	defer zero(seed)
	priv := ed25519.NewKeyFromSeed(seed)
	return &signer{priv: priv, pub: priv.Public().(ed25519.PublicKey)}, nil
}

// ownerSeed is the Ed25519 seed derived from owner key id. The caller
// zeroes it.
func ownerSeed(id *Identity) ([]byte, error) {
	s, ok := id.id.(interface{ String() string })
	if !ok {
		return nil, errorf(CodeInvalidKey, "this kind of key cannot derive a signing key")
	}
	text := []byte(s.String())
	defer zero(text)
	seed, err := hkdf.Key(sha256.New, text, nil, signingLabel, ed25519.SeedSize)
	if err != nil {
		return nil, wrap(CodeInternal, err, "failed to derive the signing key")
	}
	return seed, nil
}

// OwnerVerificationKey returns the text form (avowner1...) of the key that
// verifies signatures made with owner key id: the pin a reader is given.
func OwnerVerificationKey(id *Identity) (string, error) {
	pub, err := ownerPublicKey(id)
	if err != nil {
		return "", err
	}
	return formatOwnerKey(pub), nil
}

// ownerPublicKey is the verification half of ownerSigner(id), derived
// without the private half.
func ownerPublicKey(id *Identity) (ed25519.PublicKey, error) {
	seed, err := ownerSeed(id)
	if err != nil {
		return nil, err
	}
	defer zero(seed)
	return publicKeyOf(seed), nil
}

// publicKeyOf is the Ed25519 public key of seed as RFC 8032 §5.1.5 derives
// it, the key ed25519.NewKeyFromSeed pairs with it. A reader only needs
// this half, and crypto/ed25519 gets it with a fixed-base multiplication
// whose 30 KiB table is computed on first use: in a WebAssembly module
// that one-off costs more than the rest of a get. The variable-base
// multiplication here is as constant-time and needs a table of 8 points.
func publicKeyOf(seed []byte) ed25519.PublicKey {
	h := sha512.Sum512(seed)
	defer zero(h[:])
	s, _ := edwards25519.NewScalar().SetBytesWithClamping(h[:32]) // fails only on a length other than 32
	return new(edwards25519.Point).ScalarMult(s, edwards25519.NewGeneratorPoint()).Bytes()
}

// formatOwnerKey encodes a verification key as avowner1 + base32.
func formatOwnerKey(pub ed25519.PublicKey) string {
	return OwnerKeyPrefix + pinEncoding.EncodeToString(pub)
}

// ParseOwnerKey decodes the text form of an owner verification key. Leading
// and trailing space is ignored, so a pin file may end with a newline.
func ParseOwnerKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, OwnerKeyPrefix)
	if !ok {
		return nil, errorf(CodeInvalidInput, "owner key must start with %s", OwnerKeyPrefix)
	}
	b, err := pinEncoding.DecodeString(rest)
	if err != nil || len(b) != ed25519.PublicKeySize {
		// Not echoed: a secret pasted into the wrong variable must not
		// reach a message.
		return nil, errorf(CodeInvalidInput, "malformed owner key (want %s followed by 52 base32 letters)", OwnerKeyPrefix)
	}
	return ed25519.PublicKey(b), nil
}

// Fingerprint is a short, human-comparable form of a verification key:
// the first 80 bits of its SHA-256, in four groups of base32.
func Fingerprint(ownerKey string) string {
	pub, err := ParseOwnerKey(ownerKey)
	if err != nil {
		return ""
	}
	return fingerprint(pub)
}

func fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	s := pinEncoding.EncodeToString(sum[:10])
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

// sameKey compares two verification keys in constant time.
func sameKey(a, b ed25519.PublicKey) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare(a, b) == 1
}

// PinPath returns where the owner's verification key is kept beside an
// agent key file: agents/<name>.key has its pin in agents/<name>.owner.
// Every reader finds the pin the same way from the key path.
func PinPath(keyPath string) string {
	if p, ok := strings.CutSuffix(keyPath, ".key"); ok {
		return p + ".owner"
	}
	return keyPath + ".owner"
}

// OwnerKeyEnv is the environment variable that may hold the pin. Core never
// reads it; callers pass its value to LoadTrust.
const OwnerKeyEnv = "AGENT_VAULT_OWNER"
