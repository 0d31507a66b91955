package core

import (
	"strings"
	"unicode/utf8"
)

const (
	maxNameLen = 64
	maxPathLen = 256
)

// ValidateName checks an agent, group or owner name. Names become directory
// names and YAML scalars, so they are restricted to a portable ASCII set:
// a letter or digit, then letters, digits, '.', '_' or '-'.
func ValidateName(kind, name string) error {
	if name == "" {
		return errorf(CodeInvalidInput, "%s name is empty", kind)
	}
	if len(name) > maxNameLen {
		return errorf(CodeInvalidInput, "%s name %q is longer than %d characters", kind, clip(name), maxNameLen)
	}
	if !isSegment(name) {
		return errorf(CodeInvalidInput, "invalid %s name %q", kind, clip(name)).
			withHint("use letters, digits, '.', '_' and '-', starting with a letter or digit")
	}
	return nil
}

// ValidateSecretPath checks a secret path such as "stripe/api-key". Each
// '/'-separated segment must be a valid name, which rules out "..", ".",
// empty segments, absolute paths, backslashes, NUL, control characters and
// non-ASCII look-alikes in one rule.
func ValidateSecretPath(p string) error {
	if p == "" {
		return errorf(CodeInvalidInput, "secret path is empty")
	}
	if len(p) > maxPathLen {
		return errorf(CodeInvalidInput, "secret path is longer than %d characters", maxPathLen)
	}
	for _, seg := range strings.Split(p, "/") {
		if !isSegment(seg) || len(seg) > maxNameLen {
			return errorf(CodeInvalidInput, "invalid secret path %q", clip(p)).
				withHint("use '/'-separated segments of letters, digits, '.', '_' and '-', each starting with a letter or digit")
		}
	}
	return nil
}

// DefaultGroup is the group a secret joins when none is given: its first
// path segment, or "default" for a path without '/'.
func DefaultGroup(secretPath string) string {
	if i := strings.IndexByte(secretPath, '/'); i > 0 {
		return secretPath[:i]
	}
	return "default"
}

func isSegment(s string) bool {
	// ".." anywhere is refused, not only as a whole segment: no legitimate
	// name needs it, and it keeps every consumer's traversal checks simple.
	if s == "" || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return false
		}
		if !alnum && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// clip shortens user input before it is echoed in an error and escapes
// what a terminal would act on (SafeText), so a hostile name cannot flood or
// garble a terminal.
func clip(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return SafeText(s)
}
