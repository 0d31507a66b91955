package core

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestResolveKeyPrecedence(t *testing.T) {
	const raw = "AGE-SECRET-KEY-1XYZ"
	tests := []struct {
		name string
		spec KeySpec
		want KeyChoice
		code Code
	}{
		{"explicit path wins", KeySpec{Path: "/k", Env: raw, Home: "/h"}, KeyChoice{Source: SourceExplicit, Path: "/k"}, ""},
		{"explicit text wins", KeySpec{Text: raw, Path: "/k", Home: "/h"}, KeyChoice{Source: SourceExplicit, Text: raw}, ""},
		{"tilde expands", KeySpec{Path: "~/a.key", Home: "/h"}, KeyChoice{Source: SourceExplicit, Path: "/h/a.key"}, ""},
		{"env raw key", KeySpec{Env: raw, Home: "/h"}, KeyChoice{Source: SourceEnv, Text: raw}, ""},
		{"env path", KeySpec{Env: "/e.key", Home: "/h"}, KeyChoice{Source: SourceEnv, Path: "/e.key"}, ""},
		{"default owner key", KeySpec{Home: "/h"}, KeyChoice{Source: SourceDefault, Path: "/h/.agent-vault/owner.key"}, ""},
		{"nothing configured", KeySpec{}, KeyChoice{}, CodeVaultNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveKey(tt.spec)
			if tt.code != "" {
				if CodeOf(err) != tt.code {
					t.Fatalf("error %v, want code %s", err, tt.code)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseIdentityFormats(t *testing.T) {
	key, recipient, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	bare := strings.TrimSpace(string(key[strings.Index(string(key), "AGE-SECRET-KEY"):]))
	for name, data := range map[string]string{
		"age-keygen format": "# created: 2026-01-01T00:00:00Z\n" + string(key),
		"bare line":         bare,
		"crlf-free padding": "\n\n" + bare + "\n",
	} {
		id, err := ParseIdentity([]byte(data))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if id.Recipient() != recipient {
			t.Errorf("%s: recipient %s, want %s", name, id.Recipient(), recipient)
		}
	}
	for name, data := range map[string]string{
		"garbage":  "hello",
		"two keys": bare + "\n" + bare + "\n",
		"public":   recipient,
		"empty":    "",
	} {
		_, err := ParseIdentity([]byte(data))
		if CodeOf(err) != CodeInvalidKey {
			t.Errorf("%s: got %v, want invalid_key", name, err)
		}
		if err != nil && strings.Contains(err.Error(), bare[20:40]) {
			t.Errorf("%s: error echoes key material", name)
		}
	}
}

func TestLoadIdentityClassifiesMissingFiles(t *testing.T) {
	missing := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	_, err := LoadIdentity(KeySpec{Home: "/h"}, missing)
	if CodeOf(err) != CodeVaultNotFound {
		t.Errorf("missing default key: %v, want vault_not_found", err)
	}
	_, err = LoadIdentity(KeySpec{Path: "/nope"}, missing)
	if CodeOf(err) != CodeInvalidKey || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing explicit key: %v, want invalid_key", err)
	}
}
