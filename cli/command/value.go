package command

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/agent-vault/agent-vault/core"
)

// readBounded reads r to the end, stopping one byte past max: that byte
// says the input is too large, and an endless stream (a runaway pipe,
// /dev/zero) is never taken in whole. It reads in
// chunks and joins them once at the end, so a value costs at most twice
// its size while it is read (a refused one, its size), and every chunk is
// cleared, since it holds part of the value.
func readBounded(r io.Reader, max int64, source string) ([]byte, error) {
	const chunkSize = 1 << 20
	limit := int(max + 1)
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
			return nil, tooLarge(source, max)
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
	data, err := readBounded(r, core.MaxValueSize, "standard input")
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
		return nil, tooLarge("--from-file", core.MaxValueSize)
	}
	data, err := readBounded(f, core.MaxValueSize, "--from-file")
	if err != nil && core.CodeOf(err) == core.CodeInternal {
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "failed to read --from-file", Err: err}
	}
	return data, err
}

// readFileBounded reads a file the user named (an --env-file, a dotenv
// file to import) of at most max bytes.
func readFileBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f, max, path)
}

// tooLarge refuses an input over max bytes.
func tooLarge(source string, max int64) error {
	e := core.Errorf(core.CodeInvalidInput, "%s holds more than %d bytes", source, max)
	if max == core.MaxValueSize {
		e.Msg += " (64 MiB), the largest value a secret can hold"
		e.Hint = "keep a large file outside the vault and store the key that opens it"
	}
	return e
}
