package core

import "testing"

func TestValidateSecretPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"stripe/api-key", true},
		{"a", true},
		{"a/b/c.d_e-f", true},
		{"A1/b2", true},
		{"", false},
		{"/abs", false},
		{"trailing/", false},
		{"a//b", false},
		{"../x", false},
		{"a/../b", false},
		{"a/./b", false},
		{".hidden", false},
		{"a\\b", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a b", false},
		{"strípe/key", false},
		{"ｓtripe", false},
		{"-flag", false},
		{string(make([]byte, 300)), false},
	}
	for _, tt := range tests {
		err := ValidateSecretPath(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateSecretPath(%q) = %v, want ok=%v", tt.path, err, tt.ok)
		}
		if err != nil && CodeOf(err) != CodeInvalidInput {
			t.Errorf("ValidateSecretPath(%q) code = %s", tt.path, CodeOf(err))
		}
	}
}

func TestValidateName(t *testing.T) {
	for name, ok := range map[string]bool{
		"billing-agent": true, "a.b_c": true, "x": true,
		"": false, "../x": false, "a/b": false, ".x": false, "é": false, "a b": false,
		"0123456789012345678901234567890123456789012345678901234567890123456789": false,
	} {
		if err := ValidateName("agent", name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestDefaultGroup(t *testing.T) {
	for p, want := range map[string]string{"stripe/api-key": "stripe", "a/b/c": "a", "token": "default"} {
		if got := DefaultGroup(p); got != want {
			t.Errorf("DefaultGroup(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestCheckYAMLDepth(t *testing.T) {
	deep := func(open string, n int) string {
		s := ""
		for range n {
			s += open
		}
		return s
	}
	for doc, ok := range map[string]bool{
		"version: 1\ngroups:\n  - name: g\n    secrets: [a/b, 'x]', \"y[\"]\n": true,
		"a: " + deep("[", 65):                 false,
		"a: " + deep("{", 65):                 false,
		"a: '" + deep("[", 100) + "'":         true, // quoted, not nesting
		deep("- ", 65) + "x\n":                false,
		deep(" ", 300) + "x: 1\n":             false,
		"a: " + deep("[", 64) + deep("]", 64): true,
	} {
		if err := checkYAMLDepth([]byte(doc)); (err == nil) != ok {
			t.Errorf("checkYAMLDepth(%.40q...) = %v, want ok=%v", doc, err, ok)
		}
	}
}
