package command

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/agent-vault/agent-vault/core"
)

// readBounded reads a secret value from r, stopping one byte past
// core.MaxValueSize: that byte says the value is too large, and an endless
// stream (a runaway pipe, /dev/zero) is never taken in whole. It reads in
// chunks and joins them once at the end, so a value costs at most twice
// its size while it is read (a refused one, its size), and every chunk is
// cleared, since it holds part of the value.
func readBounded(r io.Reader, source string) ([]byte, error) {
	const limit, chunkSize = core.MaxValueSize + 1, 1 << 20
	var chunks [][]byte
	defer func() {
		for _, c := range chunks {
			clear(c)
		}
	}()
	total := 0
	for {
		chunk := make([]byte, min(chunkSize, limit-total))
		n, err := io.ReadFull(r, chunk)
		chunks = append(chunks, chunk)
		total += n
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if total == limit {
			return nil, tooLarge(source)
		}
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c[:min(len(c), total-len(out))]...)
	}
	return out, nil
}

// readStdinValue reads a "set <path> -" value.
func readStdinValue(r io.Reader) ([]byte, error) {
	data, err := readBounded(r, "standard input")
	if err != nil && core.CodeOf(err) == core.CodeInternal {
		return nil, fmt.Errorf("failed to read standard input: %w", err)
	}
	return data, err
}

// readValueFile reads a --from-file value. A regular file's size is known
// up front, so one that is too large is refused before it is read.
func readValueFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "failed to read --from-file", Err: err}
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > core.MaxValueSize {
		return nil, tooLarge("--from-file")
	}
	data, err := readBounded(f, "--from-file")
	if err != nil && core.CodeOf(err) == core.CodeInternal {
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "failed to read --from-file", Err: err}
	}
	return data, err
}

func tooLarge(source string) error {
	return &core.Error{Code: core.CodeInvalidInput,
		Msg:  fmt.Sprintf("%s holds more than %d bytes (64 MiB), the largest value a secret can hold", source, core.MaxValueSize),
		Hint: "keep a large file outside the vault and store the key that opens it"}
}
