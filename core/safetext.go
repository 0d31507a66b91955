package core

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SafeText returns s with everything a terminal could act on written out
// as an escape: C0 and C1 control characters (ESC starts the sequences that
// clear a screen, move the cursor or set a window title), DEL, newlines
// (which could fake a line of output), bidirectional overrides and other
// invisible format characters (which reorder or hide text), and bytes that
// are not UTF-8. Printable text, backslashes included, is kept as it is, so
// SafeText(SafeText(s)) == SafeText(s) and a message may pass through it at
// every layer. Every message that quotes repository content goes through it.
func SafeText(s string) string {
	if isSafe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			const hex = "0123456789abcdef"
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&0xf])
		case unicode.IsPrint(r):
			// unicode.IsPrint excludes every control (Cc), format (Cf: bidi
			// overrides, zero-width characters), separator other than the
			// ASCII space, private-use and unassigned code point.
			b.WriteString(s[i : i+n])
		default:
			// QuoteRuneToASCII gives the Go escape: \n, \x1b, \u202e.
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// isSafe is the fast path: printable ASCII needs no escaping.
func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// SafeLines is SafeText for a message that may span lines, such as one
// that folds in Git's stderr: each line is made safe, and every line after
// the first is indented, so no line of it can pass for a line of the
// program's own ("agent-vault: error: ...", "hint: ..."). The CLI and the
// MCP server print every error and warning through it.
func SafeLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		l = SafeText(strings.TrimSuffix(l, "\r"))
		if i > 0 {
			l = "  " + l
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}
