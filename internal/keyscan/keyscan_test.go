package keyscan

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf16"

	"filippo.io/age"
	"filippo.io/age/armor"
)

func utf16Bytes(s string, bigEndian, bom bool) []byte {
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xfeff}, units...)
	}
	var out []byte
	for _, u := range units {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

// wrap breaks s into lines of n characters, as base64(1) does.
func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	return b.String() + s + "\n"
}

func TestFindsKeysInEveryEncoding(t *testing.T) {
	id, err := age.GenerateX25519Identity() // a throwaway key
	if err != nil {
		t.Fatal(err)
	}
	key := "# created: 2026-01-01T00:00:00Z\n# public key: " + id.Recipient().String() + "\n" + id.String() + "\n"
	// A look-alike PGP block: the hook matches the armor header line.
	pgp := "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGZ0looklikeonly\n-----END PGP PRIVATE KEY BLOCK-----\n"
	b64 := base64.StdEncoding.EncodeToString
	cases := []struct {
		name, kind, encoding string
		data                 []byte
	}{
		{"plain", "age secret key", "", []byte("settings\n" + key)},
		{"lower case", "age secret key", "", []byte(strings.ToLower(id.String()))},
		{"UTF-16LE with BOM", "age secret key", "UTF-16LE", utf16Bytes(key, false, true)},
		{"UTF-16LE without BOM", "age secret key", "UTF-16LE", utf16Bytes(key, false, false)},
		{"UTF-16BE with BOM", "age secret key", "UTF-16BE", utf16Bytes(key, true, true)},
		{"UTF-16BE without BOM", "age secret key", "UTF-16BE", utf16Bytes(key, true, false)},
		{"UTF-16 at an odd offset", "age secret key", "UTF-16BE", append([]byte("x"), utf16Bytes(key, false, false)...)},
		{"UTF-16 with non-ASCII text", "age secret key", "UTF-16LE", utf16Bytes("clé: ключ 鍵\n"+key, false, true)},
		{"PGP private key block", "PEM PGP PRIVATE KEY BLOCK", "", []byte(pgp)},
		{"base64 on one line", "age secret key", "base64", []byte("KEY=" + b64([]byte(key)) + "\n")},
		{"base64 wrapped at 76", "age secret key", "base64", []byte(wrap(b64([]byte(key)), 76))},
		{"base64 URL alphabet, unpadded", "age secret key", "base64", []byte(base64.RawURLEncoding.EncodeToString([]byte("\xff\xfe" + key)))},
		{"base64 glued to text", "age secret key", "base64", []byte("tokenx" + b64([]byte(key)))},
		{"Kubernetes Secret, flow style", "age secret key", "base64",
			[]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: agent}\ndata: { key: " + b64([]byte(key)) + " }\n")},
		{"Kubernetes Secret, block style", "age secret key", "base64",
			[]byte("apiVersion: v1\nkind: Secret\ndata:\n  key: " + b64([]byte(key)) + "\n  other: c2VjcmV0\n")},
		{"Kubernetes Secret, folded", "age secret key", "base64",
			[]byte("kind: Secret\ndata:\n  key: >-\n" + strings.ReplaceAll(wrap(b64([]byte(key)), 64), "\n", "\n    ") + "type: Opaque\n")},
		{"JSON", "age secret key", "base64", []byte(`{"data":{"key":"` + b64([]byte(key)) + `"}}`)},
		{"base64 of base64", "age secret key", "base64 in base64", []byte(b64([]byte(b64([]byte(key)))))},
		{"base64 in UTF-16", "age secret key", "base64 in UTF-16LE", utf16Bytes("data:\n  key: "+b64([]byte(key))+"\n", false, true)},
		{"UTF-16 in base64", "age secret key", "UTF-16LE in base64", []byte(b64(utf16Bytes(key, false, true)))},
		{"PGP in base64", "PEM PGP PRIVATE KEY BLOCK", "base64", []byte("gpg: " + b64([]byte(pgp)))},
	}
	for _, c := range cases {
		f, ok := Find(c.data)
		if !ok {
			t.Errorf("%s: not found", c.name)
			continue
		}
		if f.Kind != c.kind || f.Encoding != c.encoding {
			t.Errorf("%s: found %q / %q, want %q / %q", c.name, f.Kind, f.Encoding, c.kind, c.encoding)
		}
		if strings.Contains(f.String(), id.String()[20:]) {
			t.Errorf("%s: the finding repeats the key", c.name)
		}
	}
}

func TestLetsPublicMaterialThrough(t *testing.T) {
	id, err := age.GenerateX25519Identity() // a throwaway key
	if err != nil {
		t.Fatal(err)
	}
	var ct, armored bytes.Buffer
	w, _ := age.Encrypt(&ct, id.Recipient())
	w.Write([]byte(id.String())) // ciphertext of a key, as an escrow file holds
	w.Close()
	aw := armor.NewWriter(&armored)
	w, _ = age.Encrypt(aw, id.Recipient())
	w.Write([]byte(id.String()))
	w.Close()
	aw.Close()
	random := make([]byte, 1<<20)
	rand.Read(random)
	for name, data := range map[string][]byte{
		"age ciphertext":          ct.Bytes(),
		"armored age ciphertext":  armored.Bytes(),
		"base64 of ciphertext":    []byte(base64.StdEncoding.EncodeToString(ct.Bytes())),
		"public key":              []byte(id.Recipient().String() + "\n"),
		"public key in base64":    []byte(base64.StdEncoding.EncodeToString([]byte(id.Recipient().String()))),
		"PEM public key":          []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"),
		"PGP public key":          []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\nmDMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n"),
		"documentation":           []byte("keys start with AGE-SECRET-KEY-1... and look like AGE-SECRET-KEY-1<58 characters>\n"),
		"random bytes":            random,
		"base64 of random bytes":  []byte(base64.StdEncoding.EncodeToString(random)),
		"UTF-16 of ordinary text": utf16Bytes("Write-Host 'hello'\r\n", false, true),
	} {
		if f, ok := Find(data); ok {
			t.Errorf("%s: reported as %s", name, f)
		}
	}
}

// BenchmarkFindCiphertext scans what a bulk grant stages most of: an age
// file for 22 recipients (keys made for the run), which must pass.
func BenchmarkFindCiphertext(b *testing.B) {
	var rcps []age.Recipient
	for range 22 {
		k, err := age.GenerateX25519Identity()
		if err != nil {
			b.Fatal(err)
		}
		rcps = append(rcps, k.Recipient())
	}
	var ct bytes.Buffer
	w, err := age.Encrypt(&ct, rcps...)
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 48)
	rand.Read(value)
	w.Write(value)
	w.Close()
	b.SetBytes(int64(ct.Len()))
	for b.Loop() {
		if f, ok := Find(ct.Bytes()); ok {
			b.Fatalf("ciphertext flagged: %s", f)
		}
	}
}
