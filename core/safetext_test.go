package core

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// terminalSafe reports the first character of s a terminal could act on.
func terminalSafe(s string) (bad string, ok bool) {
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") || !unicode.IsPrint(r) {
			return s[i:min(len(s), i+4)], false
		}
	}
	return "", true
}

func TestSafeText(t *testing.T) {
	hostile := map[string]string{
		"CSI clear screen":  "a\x1b[2J\x1b[Hb",
		"OSC window title":  "\x1b]0;pwned\x07",
		"OSC 52 clipboard":  "\x1b]52;c;ZWNobyBoaQ==\x1b\\",
		"C1 CSI":            "x\u009b31mred",
		"C1 as a raw byte":  "x\x9b31m",
		"NEL":               "line\u0085next",
		"newline":           "one\ntwo",
		"carriage return":   "hidden\rshown",
		"backspace":         "abc\b\b\bxyz",
		"DEL":               "a\x7fb",
		"NUL":               "a\x00b",
		"bidi override":     "evil\u202egnp.exe",
		"bidi isolate":      "\u2066x\u2069",
		"zero width joiner": "a\u200db",
		"line separator":    "a\u2028b",
		"byte order mark":   "\ufeffx",
		"invalid UTF-8":     "\xff\xfe",
		"truncated UTF-8":   "caf\xc3",
		"private use":       "\ue000",
	}
	for name, in := range hostile {
		out := SafeText(in)
		if bad, ok := terminalSafe(out); !ok {
			t.Errorf("%s: %q left %q in %q", name, in, bad, out)
		}
		if again := SafeText(out); again != out {
			t.Errorf("%s: not idempotent: %q then %q", name, out, again)
		}
		if out == in {
			t.Errorf("%s: %q unchanged", name, in)
		}
	}
	for _, in := range []string{"", "plain text", `back\slash`, "café ünïcödé 日本語", "tab-free, 100% printable: ~!@#$^&*()"} {
		if out := SafeText(in); out != in {
			t.Errorf("printable %q became %q", in, out)
		}
	}
	if got := SafeText("a\x1b[2Jb\nc\u202e"); got != `a\x1b[2Jb\nc\u202e` {
		t.Errorf("escapes are %q", got)
	}
}

func TestSafeLines(t *testing.T) {
	got := SafeLines("git pull: fatal: no\r\nagent-vault: error: fake\x1b[2J\n")
	if want := "git pull: fatal: no\n  agent-vault: error: fake\\x1b[2J"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, l := range strings.Split(got, "\n") {
		if bad, ok := terminalSafe(l); !ok {
			t.Errorf("line %q holds %q", l, bad)
		}
	}
}

// clip keeps messages short without splitting a character, and escapes.
func TestClip(t *testing.T) {
	long := strings.Repeat("é", 60) // 120 bytes
	if got := clip(long); !utf8.ValidString(got) || !strings.HasSuffix(got, "...") || len(got) > 84 {
		t.Errorf("clip(%d bytes) = %q", len(long), got)
	}
	if got := clip("a\x1b[2J"); got != `a\x1b[2J` {
		t.Errorf("clip escapes to %q", got)
	}
}
