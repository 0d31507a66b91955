package core

import (
	"errors"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://deploy:TOKEN@127.0.0.1:9/x.git":            "http://***@127.0.0.1:9/x.git",
		"fatal: unable to access 'https://u:p@h/x/': nope": "fatal: unable to access 'https://***@h/x/': nope",
		"https://host/x.git":                               "https://host/x.git",
		"a https://t@h/ b ssh://me:pw@h2/p":                "a https://***@h/ b ssh://***@h2/p",
		"git@github.com:o/r.git":                           "git@github.com:o/r.git",
		"//@x":                                             "//@x",
		"":                                                 "",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactErrorKeepsCode(t *testing.T) {
	err := RedactError(&Error{Code: CodeVaultNotFound, Msg: "failed to clone http://a:SECRET@h/x", Hint: "see http://a:SECRET@h/x",
		Err: errors.New("git clone: fatal: http://a:SECRET@h/x")})
	if CodeOf(err) != CodeVaultNotFound {
		t.Fatalf("code = %s", CodeOf(err))
	}
	for _, s := range []string{err.Error(), HintOf(err)} {
		if strings.Contains(s, "SECRET") {
			t.Fatalf("credential left in %q", s)
		}
	}
}
