// Package keyscan finds private key material in file content, for the
// pre-commit hook. Besides plain text it looks through the encodings a key
// is most often committed in by accident: UTF-16 (PowerShell's default for
// redirected output), and base64 (Kubernetes Secret manifests, CI
// variables, .env files), also nested.
package keyscan

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"strings"
)

// The first line of every private key format the hook blocks: age X25519
// and post-quantum identities (in either case, as Bech32 allows), and
// PEM-style blocks: PKCS#1 RSA, SEC 1 EC, DSA, PKCS#8 plain and encrypted,
// OpenSSH, PGP ("PRIVATE KEY BLOCK") and any other "... PRIVATE KEY" label.
// Public keys and age ciphertext never match. Both are anchored: match
// finds candidates with a byte search first, which is what keeps scanning
// large binary files fast.
var (
	agePattern = regexp.MustCompile(`^(?i:AGE-SECRET-KEY-(?:PQ-)?1[0-9a-z])`)
	pemPattern = regexp.MustCompile(`^-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----`)
)

// match returns the first key marker in data.
func match(data []byte) ([]byte, bool) {
	for i := 0; i < len(data); i++ {
		j := bytes.IndexByte(data[i:], '-')
		if j < 0 {
			break
		}
		i += j
		// Every marker has a '-' at a fixed place: after "AGE", or first.
		if i >= 3 && bytes.EqualFold(data[i-3:i], []byte("AGE")) {
			if m := agePattern.Find(data[i-3 : min(len(data), i+22)]); m != nil {
				return m, true
			}
		}
		if bytes.HasPrefix(data[i:], []byte("-----BEGIN ")) {
			if m := pemPattern.Find(data[i:min(len(data), i+80)]); m != nil {
				return m, true
			}
		}
	}
	return nil, false
}

// Finding describes key material found in a file, never the key itself.
type Finding struct {
	// Kind names the key format, such as "age secret key" or "PEM RSA
	// PRIVATE KEY".
	Kind string
	// Encoding says how the key was hidden, outermost first, such as
	// "base64 in UTF-16LE"; empty for plain text.
	Encoding string
}

// String describes the finding for a message.
func (f Finding) String() string {
	if f.Encoding == "" {
		return f.Kind
	}
	return f.Kind + ", " + f.Encoding
}

const (
	// maxBase64Depth is how many base64 layers are undone: base64 of a
	// key file, and base64 of that (a manifest of an encoded value).
	maxBase64Depth = 2
	// minBase64Run is the shortest base64 text worth decoding: 24
	// characters decode to 18 bytes, as long as the shortest marker.
	minBase64Run = 24
)

// Find reports the first private key in data.
func Find(data []byte) (Finding, bool) {
	return find(data, 0, true, nil)
}

// find searches data, then its UTF-16 readings (once per chain), then what
// its base64 runs decode to. layers lists the encodings undone so far,
// innermost last.
func find(data []byte, depth int, utf16 bool, layers []string) (Finding, bool) {
	if m, ok := match(data); ok {
		return Finding{Kind: kind(m), Encoding: describe(layers)}, true
	}
	// ASCII text in UTF-16 is every other byte, the rest NUL: reading the
	// even bytes (little-endian) or the odd ones (big-endian) recovers it,
	// with or without a byte order mark.
	if utf16 && bytes.IndexByte(data, 0) >= 0 {
		for off, name := range []string{"UTF-16LE", "UTF-16BE"} {
			if f, ok := find(everyOther(data, off), depth, false, append(layers, name)); ok {
				return f, true
			}
		}
	}
	if depth >= maxBase64Depth {
		return Finding{}, false
	}
	var found Finding
	ok := false
	base64Runs(data, func(run []byte) bool {
		// The run may start with text glued to the encoding ("x" + b64):
		// one of the four alignments decodes it.
		std := toStdAlphabet(run)
		for off := 0; off < 4 && off < len(std); off++ {
			if found, ok = find(decode(std[off:]), depth+1, true, append(layers, "base64")); ok {
				return false
			}
		}
		return true
	})
	return found, ok
}

func kind(match []byte) string {
	s := strings.ToUpper(string(match))
	switch {
	case strings.HasPrefix(s, "AGE-SECRET-KEY-PQ-"):
		return "age post-quantum secret key"
	case strings.HasPrefix(s, "AGE-"):
		return "age secret key"
	}
	return "PEM " + strings.Trim(s, "- ")[len("BEGIN "):]
}

// describe lists the encodings outermost first: "base64 in UTF-16LE" is a
// UTF-16 file holding base64 text.
func describe(layers []string) string {
	out := make([]string, len(layers))
	for i, l := range layers {
		out[len(layers)-1-i] = l
	}
	return strings.Join(out, " in ")
}

func everyOther(data []byte, off int) []byte {
	out := make([]byte, 0, len(data)/2+1)
	for i := off; i < len(data); i += 2 {
		out = append(out, data[i])
	}
	return out
}

// base64Chars marks the characters of both base64 alphabets: a table,
// because the hook tests every byte of every staged file against it.
var base64Chars = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_") {
		t[c] = true
	}
	return t
}()

func isBase64(c byte) bool { return base64Chars[c] }

// base64Runs calls fn with every run of base64 text (standard or URL
// alphabet) of at least minBase64Run characters, until fn returns false. A
// run continues over a line break onto an indented or unindented next line,
// as base64 wrapped at 64 or 76 columns and YAML block scalars are; "="
// padding ends a run.
func base64Runs(data []byte, fn func(run []byte) bool) {
	var run []byte
	flush := func() bool {
		ok := true
		if len(run) >= minBase64Run {
			ok = fn(run)
		}
		run = run[:0]
		return ok
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case isBase64(c):
			run = append(run, c)
			continue
		case c == '=':
			for i+1 < len(data) && data[i+1] == '=' {
				i++
			}
		case (c == '\n' || c == '\r') && len(run) > 0:
			j := i + 1
			for j < len(data) && (data[j] == '\n' || data[j] == '\r' || data[j] == ' ' || data[j] == '\t') {
				j++
			}
			if j < len(data) && isBase64(data[j]) {
				i = j - 1
				continue
			}
		}
		if !flush() {
			return
		}
	}
	flush()
}

// toStdAlphabet returns run in the standard alphabet ('-' and '_' of the
// URL alphabet become '+' and '/'), once for the four alignments decoded.
func toStdAlphabet(run []byte) []byte {
	out := make([]byte, len(run))
	for i, c := range run {
		switch c {
		case '-':
			c = '+'
		case '_':
			c = '/'
		}
		out[i] = c
	}
	return out
}

// decode decodes standard base64 leniently: no padding, and as much as
// decodes when the run ends in text that is not base64.
func decode(src []byte) []byte {
	src = src[:len(src)/4*4]
	dst := make([]byte, base64.RawStdEncoding.DecodedLen(len(src)))
	n, _ := base64.RawStdEncoding.Decode(dst, src)
	return dst[:n]
}
