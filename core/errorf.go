package core

// Errorf builds a classified error, for layers above core (the reader, the
// CLI, the MCP server) that report failures in the same taxonomy.
func Errorf(code Code, format string, args ...any) *Error { return errorf(code, format, args...) }

// Wrap classifies err under code with a context message.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return wrap(code, err, format, args...)
}

// WithHint attaches a hint telling the user what to do next.
func (e *Error) WithHint(format string, args ...any) *Error { return e.withHint(format, args...) }
