package core

import (
	"bytes"
	"errors"
	"io"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// preferredIdentity tries one stanza first. Each stanza costs an X25519
// scalar multiplication to try, so starting with the stanza that policy says
// belongs to this identity makes a get cost one unwrap however many agents
// share the secret. If policy and file disagree it falls back to all.
type preferredIdentity struct {
	inner age.Identity
	first int
}

func (p preferredIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if p.first < 0 || p.first >= len(stanzas) {
		return p.inner.Unwrap(stanzas)
	}
	if key, err := p.inner.Unwrap(stanzas[p.first : p.first+1]); err == nil {
		return key, nil
	} else if !errors.Is(err, age.ErrIncorrectIdentity) {
		return nil, err
	}
	rest := make([]*age.Stanza, 0, len(stanzas)-1)
	rest = append(rest, stanzas[:p.first]...)
	rest = append(rest, stanzas[p.first+1:]...)
	return p.inner.Unwrap(rest)
}

// decrypt opens an age file with id, trying stanza first before the others
// (-1 for no preference). The plaintext is shorter than what follows the
// header, so it is decrypted into one buffer of that size: no
// grown-and-dropped copies of the secret are left behind for the garbage
// collector. (age's DecryptReaderAt would give the exact size, but it
// encodes the whole header once more, a cost that grows with the number of
// recipients.)
func decrypt(data []byte, id age.Identity, first int, limit int64) ([]byte, error) {
	return decryptAs(data, preferredIdentity{inner: id, first: first}, limit)
}

// decryptAs is decrypt with the identity already composed.
func decryptAs(data []byte, id age.Identity, limit int64) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		return nil, classifyDecrypt(err)
	}
	// The header ends with the first line that starts with "---"; a
	// header age accepts has no earlier one.
	size := len(data)
	if i := bytes.Index(data, []byte("\n---")); i >= 0 {
		size -= i
	}
	out := make([]byte, size)
	n := 0
	for {
		// Only io.EOF ends a complete file: a truncated one reports
		// io.ErrUnexpectedEOF, which io.ReadFull would not tell apart.
		k, err := r.Read(out[n:])
		n += k
		if err == io.EOF {
			break
		}
		if err == nil && n == len(out) {
			err = errors.New("plaintext longer than its ciphertext")
		}
		if err != nil {
			zero(out)
			return nil, wrap(CodeCorruptVault, err, "failed to decrypt")
		}
	}
	if int64(n) > limit {
		zero(out)
		return nil, errorf(CodeCorruptVault, "plaintext exceeds %d bytes", limit)
	}
	return out[:n:n], nil
}

// classifyDecrypt tells a key that is not a recipient from a damaged file.
func classifyDecrypt(err error) error {
	var nm *age.NoIdentityMatchError
	if errors.As(err, &nm) {
		return errorf(CodeNotAuthorized, "this key is not a recipient")
	}
	return wrap(CodeCorruptVault, err, "failed to decrypt")
}

// decryptFrom decrypts src and classifies failures: not a recipient, or a
// damaged file. Plaintext over limit is refused and wiped.
func decryptFrom(src io.Reader, limit int64, ids ...age.Identity) ([]byte, error) {
	r, err := age.Decrypt(src, ids...)
	if err != nil {
		return nil, classifyDecrypt(err)
	}
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		zero(out)
		return nil, wrap(CodeCorruptVault, err, "failed to decrypt")
	}
	if int64(len(out)) > limit {
		zero(out)
		return nil, errorf(CodeCorruptVault, "plaintext exceeds %d bytes", limit)
	}
	return out, nil
}

// MaxAgentsPerGroup is how many agents may share a group. age refuses to
// decrypt a file with more than 1024 recipient stanzas, and the owner
// takes one.
const MaxAgentsPerGroup = 1023

// encrypt produces a binary age file for recipients, in the given order.
func encrypt(plaintext []byte, recipients []age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		return nil, wrap(CodeInternal, err, "failed to encrypt")
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, wrap(CodeInternal, err, "failed to encrypt")
	}
	if err := w.Close(); err != nil {
		return nil, wrap(CodeInternal, err, "failed to encrypt")
	}
	return buf.Bytes(), nil
}

// stanzaCounter records how many recipient stanzas a header holds (grease
// stanzas aside, see recipientStanzas), then
// hands them to inner. With no inner identity it matches none, so age
// parses the header and stops: a count costs no key and no re-encoding of
// the header.
type stanzaCounter struct {
	inner age.Identity
	n     *int
}

func (s stanzaCounter) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	*s.n = recipientStanzas(stanzas)
	if s.inner == nil {
		return nil, age.ErrIncorrectIdentity
	}
	return s.inner.Unwrap(stanzas)
}

// stanzaCount returns how many recipient stanzas an age file has, read from
// its header without any key.
func stanzaCount(data []byte) (int, error) {
	n := -1
	_, err := age.Decrypt(bytes.NewReader(data), stanzaCounter{n: &n})
	if n < 0 {
		return 0, wrap(CodeCorruptVault, err, "failed to read age header")
	}
	return n, nil
}

// DecryptFile decrypts a standalone age file, binary or ASCII-armored, with
// the given X25519/hybrid keys and scrypt passphrases. It serves the raw
// conformance vectors, so the same code path decrypts everywhere.
func DecryptFile(data []byte, keys, passphrases []string) ([]byte, error) {
	var ids []age.Identity
	for _, k := range keys {
		id, err := ParseIdentity([]byte(k))
		if err != nil {
			return nil, err
		}
		ids = append(ids, id.id)
	}
	for _, p := range passphrases {
		id, err := age.NewScryptIdentity(p)
		if err != nil {
			return nil, wrap(CodeInvalidKey, err, "invalid passphrase")
		}
		ids = append(ids, id)
	}
	var src io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(armor.Header)) {
		src = armor.NewReader(bytes.NewReader(data))
	}
	if len(ids) == 0 {
		// A damaged file is reported as such even when no key was given.
		if _, err := age.ExtractHeader(src); err != nil {
			return nil, wrap(CodeCorruptVault, err, "failed to decrypt")
		}
		return nil, errorf(CodeInvalidKey, "no identities given")
	}
	return decryptFrom(src, maxSecretSize, inOrder(ids))
}

// zero overwrites b, so plaintext does not linger in memory we control.
func zero(b []byte) {
	clear(b)
}
