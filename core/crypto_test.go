package core

import (
	"bytes"
	"testing"

	"filippo.io/age"
)

// A file cut at a chunk boundary makes age's reader report
// io.ErrUnexpectedEOF, not io.EOF: decrypt must refuse it rather than
// return the chunks it read.
func TestDecryptRefusesTruncation(t *testing.T) {
	key, _, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	id, err := ParseIdentity(key)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRecipient(id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	const chunk = 64 << 10
	value := bytes.Repeat([]byte("0123456789abcdef"), (chunk+1000)/16)
	ct, err := encrypt(value, []age.Recipient{r})
	if err != nil {
		t.Fatal(err)
	}
	got, err := decrypt(ct, id.id, 0, maxSecretSize)
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("intact file: %d bytes, %v", len(got), err)
	}
	last := len(value) - chunk + 16 // the final chunk and its tag
	for _, cut := range []int{last, last + 16, 1} {
		got, err := decrypt(ct[:len(ct)-cut], id.id, 0, maxSecretSize)
		if CodeOf(err) != CodeCorruptVault || got != nil {
			t.Errorf("file short by %d bytes: %d bytes, %v; want corrupt_vault", cut, len(got), err)
		}
	}
}
