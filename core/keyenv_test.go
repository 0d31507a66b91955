package core

import (
	"strings"
	"testing"
)

// A key pasted into AGENT_VAULT_KEY often carries whitespace on either
// side; both ends are trimmed, for a raw key and for a path alike.
func TestKeyEnvTrimsSurroundingWhitespace(t *testing.T) {
	key, recipient, err := NewKey() // throwaway key for this test
	if err != nil {
		t.Fatal(err)
	}
	bare := strings.TrimSpace(string(key[strings.Index(string(key), "AGE-SECRET-KEY"):]))
	for name, env := range map[string]string{
		"leading space":      " " + bare,
		"leading tab and CR": "\t\r\n" + bare,
		"trailing newline":   bare + "\n",
		"both ends":          "  " + bare + " \n",
		"whole file, padded": " \n" + string(key) + "\n ",
	} {
		id, err := LoadIdentity(KeySpec{Env: env}, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if id.Recipient() != recipient {
			t.Errorf("%s: recipient %s, want %s", name, id.Recipient(), recipient)
		}
	}
	read := func(p string) ([]byte, error) {
		if p != "/keys/agent.key" {
			t.Errorf("read %q, want the trimmed path", p)
		}
		return key, nil
	}
	if _, err := LoadIdentity(KeySpec{Env: " /keys/agent.key\n"}, read); err != nil {
		t.Errorf("padded path: %v", err)
	}
}
