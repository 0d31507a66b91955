// Package keyfile reads private key files for core.LoadIdentity natively,
// refusing, as ssh does, one that group or others may access.
package keyfile

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/agent-vault/agent-vault/core"
)

// ErrTooOpen is the cause of the error for a key file that group or others
// may access.
var ErrTooOpen = errors.New("a private key must be accessible to its owner only")

// maxRead bounds how much of a key file is read. A key file is a few
// hundred bytes and core refuses anything over 64 KiB, so reading more only
// lets a path such as /dev/zero exhaust memory.
const maxRead = 1 << 20

// Read reads a private key file. Unless insecure is set, it refuses a
// regular file that group or others may read, write or execute
// (invalid_key, wrapping ErrTooOpen, with the chmod that fixes it): such a
// key may already have been copied, and using it silently hides that. The
// mode is that of the opened file, so a symlink or a rename cannot swap it
// after the check. A pipe, as in --key <(pass show agent), is the user's
// own and is not checked. At most maxRead+1 bytes are read; core refuses
// what is too large. Windows has no such mode bits: there the check is
// skipped.
func Read(path string, insecure bool) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !insecure && fi.Mode().IsRegular() && tooOpen(fi.Mode()) {
		return nil, &core.Error{Code: core.CodeInvalidKey,
			Msg:  fmt.Sprintf("permissions %04o for '%s' are too open", fi.Mode().Perm(), path),
			Err:  ErrTooOpen,
			Hint: fmt.Sprintf("run: chmod 600 '%s' (or pass --insecure-key-permissions to use it anyway)", path)}
	}
	return io.ReadAll(io.LimitReader(f, maxRead+1))
}

// Reader is Read with insecure fixed, in the form core.LoadIdentity takes.
func Reader(insecure bool) func(path string) ([]byte, error) {
	return func(path string) ([]byte, error) { return Read(path, insecure) }
}
