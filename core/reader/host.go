package reader

import (
	"context"
	"fmt"
	"io/fs"
)

// Host is everything the reader needs from the world around it. The reader
// itself does no I/O: natively the CLI and the MCP server give it the
// operating system (internal/oshost); inside the WebAssembly module the
// same interface is a pair of host imports that Python, Node and the
// browser implement (docs/wasm-abi.md). A host holds no vault rules: which
// file to read, which git command to run and what its answer means are all
// decided here.
type Host interface {
	// FS returns a read-only view of the directory dir, an absolute path.
	// It must report symlinks as symlinks (fs.ReadLinkFS): core refuses
	// them inside a vault.
	FS(dir string) fs.FS
	// ReadFile reads a file the user named (a key or a pin file), refusing
	// one larger than limit bytes.
	ReadFile(name string, limit int64) ([]byte, error)
	// Git runs the user's git with args in dir and returns its standard
	// output. A git that ran and failed is a *GitError. The host gives git
	// no terminal to prompt on and an environment without key material.
	Git(ctx context.Context, dir string, args ...string) ([]byte, error)
	// MkdirAll creates dir and its missing parents, private to the user.
	MkdirAll(dir string) error
	// Rename moves from to to, atomically where the platform allows.
	Rename(from, to string) error
	// RemoveAll removes a directory tree the reader itself created.
	RemoveAll(dir string) error
	// WriteFile atomically replaces name with data, private to the user.
	// The reader writes only its own state under ~/.agent-vault.
	WriteFile(name string, data []byte) error
	// CreateExclusive creates the file name holding data, private to the
	// user, and fails with an error matching fs.ErrExist when anything,
	// a symlink included, is at name already (O_CREAT|O_EXCL). It is the
	// one atomic step the clone's read lock needs (lock.go).
	CreateExclusive(name string, data []byte) error
}

// GitError is a git command that ran and exited non-zero.
type GitError struct {
	// Args are the git arguments, for the message.
	Args []string
	// Exit is git's exit status.
	Exit int
	// Stderr is what git printed, trimmed. It may quote a URL with
	// credentials; the reader redacts it before showing it.
	Stderr string
}

func (e *GitError) Error() string {
	op := "git"
	if len(e.Args) > 0 {
		op += " " + e.Args[0]
	}
	if e.Stderr == "" {
		return fmt.Sprintf("%s exited with status %d", op, e.Exit)
	}
	return fmt.Sprintf("%s: %s", op, e.Stderr)
}
