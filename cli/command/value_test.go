package command

import (
	"bytes"
	"io"
	"testing"

	"github.com/agent-vault/agent-vault/core"
)

// endless is an infinite stream that counts what was read from it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += int64(len(p))
	return len(p), nil
}

// readBounded takes a value of exactly the limit, and refuses anything
// longer having read one byte past the limit and not one more.
func TestReadBounded(t *testing.T) {
	exact := bytes.Repeat([]byte{'v'}, core.MaxValueSize)
	got, err := readBounded(bytes.NewReader(exact), core.MaxValueSize, "standard input")
	if err != nil || !bytes.Equal(got, exact) {
		t.Fatalf("a value of exactly %d bytes: %d bytes, %v", core.MaxValueSize, len(got), err)
	}
	src := &endless{}
	got, err = readBounded(src, core.MaxValueSize, "standard input")
	if got != nil || core.CodeOf(err) != core.CodeInvalidInput {
		t.Fatalf("endless stream: %d bytes, %v; want invalid_input", len(got), err)
	}
	if src.n != core.MaxValueSize+1 {
		t.Errorf("read %d bytes of an endless stream, want %d", src.n, core.MaxValueSize+1)
	}
	if got, err := readBounded(io.MultiReader(bytes.NewReader(exact), bytes.NewReader([]byte("!"))), core.MaxValueSize, "x"); got != nil || err == nil {
		t.Errorf("one byte over the limit: %d bytes, %v", len(got), err)
	}
	if got, err := readBounded(bytes.NewReader(nil), core.MaxValueSize, "x"); err != nil || len(got) != 0 {
		t.Errorf("empty value: %q, %v", got, err)
	}
}
