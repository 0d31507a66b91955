package core

import (
	"errors"
	"fmt"
)

// Code classifies every failure the vault can report. The same codes cross
// the WebAssembly boundary and become exception classes in each binding, so
// they are part of the public contract and never change meaning.
type Code string

// The error taxonomy shared by the CLI, the WebAssembly module and every
// binding (docs/architecture.md §6).
const (
	CodeInternal       Code = "internal"
	CodeInvalidInput   Code = "invalid_input"
	CodeVaultNotFound  Code = "vault_not_found"
	CodeSecretNotFound Code = "secret_not_found"
	CodeNotAuthorized  Code = "not_authorized"
	CodeInvalidKey     Code = "invalid_key"
	CodeCorruptVault   Code = "corrupt_vault"
	CodeConflict       Code = "conflict"
	// CodeUntrusted is state the owner's signature does not cover: an
	// unsigned or changed file, an older signed version than one already
	// seen, or a signature by another key than the pinned one.
	CodeUntrusted Code = "untrusted"
)

// codeNumbers is the stable numeric form of each code. The CLI uses it as
// its exit status and the WebAssembly envelope carries it, so a number is
// never reused or renumbered.
var codeNumbers = map[Code]int{
	CodeInternal:       1,
	CodeInvalidInput:   2,
	CodeVaultNotFound:  3,
	CodeSecretNotFound: 4,
	CodeNotAuthorized:  5,
	CodeInvalidKey:     6,
	CodeCorruptVault:   7,
	CodeConflict:       8,
	// 9 is the CLI's "check found errors" exit status, never an error code.
	CodeUntrusted: 10,
}

// Codes lists every code in numeric order, for documentation and tests.
func Codes() []Code {
	return []Code{CodeInternal, CodeInvalidInput, CodeVaultNotFound, CodeSecretNotFound,
		CodeNotAuthorized, CodeInvalidKey, CodeCorruptVault, CodeConflict, CodeUntrusted}
}

// Number returns the stable numeric value of c (1 for unknown codes).
func (c Code) Number() int {
	if n, ok := codeNumbers[c]; ok {
		return n
	}
	return 1
}

// Error is the one error type core returns for classified failures. Its
// message never contains secret material: callers build it from names and
// paths only.
type Error struct {
	Code Code
	// Msg is a lowercase, human-readable description.
	Msg string
	// Hint optionally tells the user how to fix the problem.
	Hint string
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// errorf builds a classified error without an underlying cause.
func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// wrap classifies err under code with a context message.
func wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}

// withHint attaches a hint to a classified error.
func (e *Error) withHint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// CodeOf returns the code of the first *Error in err's chain, or
// CodeInternal when err is not classified.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// HintOf returns the hint of the first *Error in err's chain that has one.
func HintOf(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Hint != "" {
			return e.Hint
		}
		err = e.Err
	}
	return ""
}
