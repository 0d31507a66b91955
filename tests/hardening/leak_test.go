package hardening

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/core"
)

// TestNoSecretsInMessages drives every error path it can reach with a
// secret present, and with secret material placed where a careless message
// would echo it (as a key path, in a key file, in the environment, as a
// value that looks like a flag). docs/architecture.md §6: no output of a failing
// command contains a secret value or a private key.
func TestNoSecretsInMessages(t *testing.T) {
	f := buildVault(t, layout{agents: []string{"bot", "bot2"},
		grants: map[string][]string{"bot": {"app"}, "bot2": {"misc"}},
		groups: []string{"app", "misc"}, perGroup: 2, valueSize: 24})
	e := f.e
	var values [][]byte
	for _, v := range f.values {
		values = append(values, v)
	}
	secret := string(f.values["app/s0000"])
	dashValue := "-" + token("dash-secret") // a password that starts with '-'
	values = append(values, []byte(dashValue), []byte(strings.TrimLeft(dashValue, "-")))

	ownerKey, err := os.ReadFile(e.OwnerKey())
	if err != nil {
		t.Fatal(err)
	}
	ownerLine := keyRE.FindString(string(ownerKey))
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	valueAsKey := file("value-as-key", secret+"\n")
	twoKeys := file("two.key", string(ownerKey)+string(ownerKey))
	damagedKey := file("damaged.key", ownerLine[:len(ownerLine)-3]+"QQQ\n")
	keyWithJunk := file("junk.key", ownerLine+" trailing "+secret+"\n")
	valueFile := file("value.txt", secret)
	stranger, _, _ := core.NewKey()
	strangerKey := file("stranger.key", string(stranger))
	existing := file("existing", "x")
	corrupt := filepath.Join(e.Repo, core.DirName, "secrets", "misc", "s0001.enc")

	cases := []struct {
		name string
		code int
		args []string
		env  []string
	}{
		{"value file given as --key", 6, []string{"get", "--key", valueAsKey, "app/s0000"}, nil},
		{"raw key given as --key path", 6, []string{"get", "--key", ownerLine, "app/s0000"}, nil},
		{"damaged raw key in AGENT_VAULT_KEY", 6, []string{"get", "app/s0000"}, []string{"AGENT_VAULT_KEY=" + damagedKey}},
		{"damaged raw key text in AGENT_VAULT_KEY", 6, []string{"get", "app/s0000"}, []string{"AGENT_VAULT_KEY=" + ownerLine[:len(ownerLine)-3] + "QQQ"}},
		{"two keys in one file", 6, []string{"get", "--key", twoKeys, "app/s0000"}, nil},
		{"key file with junk holding a value", 6, []string{"get", "--key", keyWithJunk, "app/s0000"}, nil},
		{"agent not granted", 5, []string{"get", "--key", e.AgentKey("bot2"), "app/s0000"}, nil},
		{"unknown key", 5, []string{"get", "--key", strangerKey, "app/s0000"}, nil},
		{"agent key for grant", 6, []string{"grant", "bot2", "app", "--key", e.AgentKey("bot")}, nil},
		{"agent key for revoke", 6, []string{"revoke", "bot", "app", "--key", e.AgentKey("bot")}, nil},
		{"agent key for restore", 6, []string{"restore-agent", "bot", "--to", filepath.Join(dir, "r1"), "--key", e.AgentKey("bot")}, nil},
		{"agent key for check with damage", exitCheckFailed, []string{"check", "--key", e.AgentKey("bot")}, nil},
		{"restore over an existing file", 8, []string{"restore-agent", "bot", "--to", existing}, nil},
		{"bad path with a value", 2, []string{"set", "app/../x", secret}, nil},
		{"bad group with a value", 2, []string{"set", "app/new", secret, "--group", "a/b"}, nil},
		{"unknown grantee with a value", 2, []string{"set", "app/new", secret, "--agents", "ghost"}, nil},
		{"bad expiry with a value", 2, []string{"set", "app/new", secret, "--expires", "soon"}, nil},
		{"bad expiry with a value file", 2, []string{"set", "app/new", "--from-file", valueFile, "--expires", "soon"}, nil},
		{"value twice", 2, []string{"set", "app/new", secret, "--from-file", valueFile}, nil},
		{"value given as the path", 2, []string{"set", secret}, nil},
		{"value starting with a dash", 2, []string{"set", "app/new", dashValue}, nil},
		{"value starting with a dash after --", 0, []string{"set", "app/dash", "--", dashValue}, nil},
		{"too many arguments with a value", 2, []string{"set", "app/new", secret, secret}, nil},
		{"corrupt ciphertext", 7, []string{"get", "misc/s0001"}, nil},
	}
	if err := os.WriteFile(corrupt, []byte("age-encryption.org/v1\n-> X25519 "+secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := result(t, command(e, nil, c.env, c.args...))
			noCrashOutput(t, c.name, r)
			if r.Code != c.code {
				t.Errorf("exit %d, want %d\n%s", r.Code, c.code, r.Stderr)
			}
			if c.code != 0 && c.code != exitCheckFailed && !strings.HasPrefix(r.Stderr, "agent-vault: error: ") {
				t.Errorf("stderr %q is not a clear error", r.Stderr)
			}
			out := []byte(r.Stdout + r.Stderr)
			if containsAny(out, values) {
				t.Errorf("a secret value appeared in the output:\n%s", out)
			}
			if keyRE.Match(out) || strings.Contains(string(out), ownerLine[16:40]) {
				t.Errorf("a private key appeared in the output:\n%s", out)
			}
		})
	}
}
