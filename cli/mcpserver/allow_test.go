package mcpserver

import (
	"github.com/agent-vault/agent-vault/internal/clitest"
	"strings"
	"testing"
)

func TestAllowListMatching(t *testing.T) {
	tests := []struct {
		patterns []string
		secret   string
		want     bool
	}{
		{nil, "stripe/api-key", true},
		{[]string{"stripe/*"}, "stripe/api-key", true},
		// '*' stays within one segment.
		{[]string{"stripe/*"}, "stripe/live/api-key", false},
		{[]string{"stripe/*/*"}, "stripe/live/api-key", true},
		{[]string{"stripe/*"}, "postgres/conn", false},
		{[]string{"*"}, "plain-token", true},
		{[]string{"*"}, "stripe/api-key", false},
		{[]string{"stripe/api-?ey"}, "stripe/api-key", true},
		{[]string{"[ps]*/conn"}, "postgres/conn", true},
		{[]string{"postgres/conn", "stripe/*"}, "stripe/webhook-secret", true},
		{[]string{"postgres/conn", "stripe/*"}, "certs/tls-chain", false},
		{[]string{"stripe"}, "stripe/api-key", false},
	}
	for _, tt := range tests {
		a, err := newAllowList(tt.patterns)
		if err != nil {
			t.Fatalf("%v: %v", tt.patterns, err)
		}
		if got := a.allows(tt.secret); got != tt.want {
			t.Errorf("allow %v, secret %s: got %v, want %v", tt.patterns, tt.secret, got, tt.want)
		}
	}
}

func TestAllowListRejectsBadPatterns(t *testing.T) {
	for _, p := range []string{"", "[", "stripe/[a-", "/stripe/*", `stripe\*`, "a\x00b"} {
		if _, err := newAllowList([]string{"ok/*", p}); err == nil {
			t.Errorf("pattern %q was accepted", p)
		} else if !strings.Contains(err.Error(), "--allow") {
			t.Errorf("pattern %q: error does not name the flag: %v", p, err)
		}
	}
}

// TestAllowGateBeforeVault checks that a path outside --allow is refused
// with the same answer whether or not the secret exists, and that listing
// hides it too.
func TestAllowGateBeforeVault(t *testing.T) {
	tab := loadTable(t)
	o := &options{repo: tab.VaultDir(), key: fixtureKey(tab, "billing"), noPull: true, allow: []string{"stripe/*"}}
	cs, _, _ := connect(t, o, nil)

	if v, err := resultValue(call(t, cs, toolGet, map[string]any{"secret": "stripe/api-key"})); err != nil || len(v) == 0 {
		t.Fatalf("allowed secret: %v", err)
	}
	for _, secret := range []string{"stripe/live/api-key", "postgres/conn", "nowhere/missing"} {
		res := call(t, cs, toolGet, map[string]any{"secret": secret})
		text := clitest.ResultText(res)
		if !res.IsError || !strings.HasPrefix(text, "not_authorized: ") || !strings.Contains(text, "--allow") {
			t.Errorf("%s: want a not_authorized --allow refusal, got %q (isError %v)", secret, text, res.IsError)
		}
	}
	res := call(t, cs, toolList, nil)
	for _, hidden := range []string{"stripe/live/api-key", "postgres/conn"} {
		if strings.Contains(clitest.ResultText(res), hidden) {
			t.Errorf("list shows %s, which --allow excludes", hidden)
		}
	}
	if !strings.Contains(clitest.ResultText(res), `"stripe/api-key"`) {
		t.Errorf("list lacks stripe/api-key: %s", clitest.ResultText(res))
	}
}
