package hardening

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// hostileEnv is one copy of the hostile-content fixture: a vault, and
// beside it an "outside" directory holding a second vault whose secrets
// decrypt (with the same owner key) to a marker. If any command ever
// follows a link out of the vault, the marker shows up in its output.
type hostileEnv struct {
	e       *clitest.Env
	vault   string // repo/.agent-vault
	outside string // a directory outside the vault
	ov      string // outside/ov/.agent-vault, the decoy vault
}

// probe is one command against a hostile vault and its expected outcome.
type probe struct {
	args []string
	// code is the expected error; "" means the command succeeds.
	code core.Code
	// finding, for check, is an error kind that must be reported ("*"
	// for any error). check then exits 9.
	finding string
	// wasmCode overrides code for the WebAssembly module, which opens the
	// directory it is given instead of searching upwards for a vault.
	wasmCode core.Code
	// cliOnly marks probes the module cannot run the same way (check with
	// the owner key verifies ciphertext natively only).
	cliOnly bool
}

type hostileCase struct {
	name   string
	setup  func(t *testing.T, h *hostileEnv)
	probes []probe
}

// Reads and writes used by many cases. app/s0000 and app/s0001 exist in
// both the vault and the decoy.
var (
	getApp    = []string{"get", "app/s0000"}
	setApp    = []string{"set", "app/s0000", "overwrite-attempt"}
	setNew    = []string{"set", "app/brand-new", "new-value"}
	listAll   = []string{"list"}
	listAgent = []string{"list-agents"}
	checkAll  = []string{"check"}
)

// openAll is a probe set for damage that stops the vault from opening.
func openAll(code core.Code) []probe {
	return []probe{{args: getApp, code: code}, {args: listAll, code: code}, {args: listAgent, code: code},
		{args: checkAll, code: code}, {args: setNew, code: code}}
}

// policyDamage probes a damaged manifest: a get reads no policy and
// succeeds, everything that reads policy fails with code.
func policyDamage(code core.Code) []probe {
	return []probe{{args: getApp}, {args: listAll, code: code}, {args: listAgent, code: code},
		{args: checkAll, code: code}, {args: setNew, code: code}}
}

func link(t *testing.T, target, name string) {
	t.Helper()
	os.RemoveAll(name)
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, name string, data []byte) {
	t.Helper()
	os.RemoveAll(name)
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// editFile rewrites a vault file in place.
func editFile(t *testing.T, name string, fn func(string) string) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	write(t, name, []byte(fn(string(data))))
}

// laughs is a "billion laughs" YAML document: nine levels of nine aliases.
func laughs(key string) []byte {
	var b strings.Builder
	b.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		b.WriteString(n + ": &" + n + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n")
		prev = n
	}
	b.WriteString(key + ": [" + strings.Repeat("*i,", 8) + "*i]\n")
	return []byte(b.String())
}

func hostileCases() []hostileCase {
	enc := func(h *hostileEnv, s string) string { return filepath.Join(h.vault, "secrets", s+".enc") }
	meta := func(h *hostileEnv, s string) string { return filepath.Join(h.vault, "secrets", s+".meta") }
	manifest := func(h *hostileEnv) string { return filepath.Join(h.vault, "manifest.yaml") }
	mutateEnc := func(fn func([]byte) []byte) func(t *testing.T, h *hostileEnv) {
		return func(t *testing.T, h *hostileEnv) {
			data, err := os.ReadFile(enc(h, "app/s0000"))
			if err != nil {
				t.Fatal(err)
			}
			write(t, enc(h, "app/s0000"), fn(data))
		}
	}
	headerEnd := func(ct []byte) int { return bytes.Index(ct, []byte("\n--- ")) + 1 }
	// journal commits a hostile journal where agent-vault once kept it, as
	// someone who can push would: it must never be applied.
	journal := func(body string) func(t *testing.T, h *hostileEnv) {
		return func(t *testing.T, h *hostileEnv) {
			write(t, filepath.Join(h.outside, "victim"), []byte("must survive"))
			write(t, filepath.Join(h.vault, ".pending.yaml"), []byte("op: grant\nargs: [bot, app]\nstarted: 2026-01-01T00:00:00Z\nmanifest: |\n  version: 1\n"+body))
			h.e.Git(h.e.Repo, "add", "--force", core.DirName+"/.pending.yaml")
			h.e.Git(h.e.Repo, "commit", "--quiet", "-m", "planted journal")
		}
	}
	corruptOpen := openAll(core.CodeCorruptVault)
	return append([]hostileCase{
		{"enc symlink to a decoy ciphertext", func(t *testing.T, h *hostileEnv) {
			link(t, filepath.Join(h.ov, "secrets/app/s0000.enc"), enc(h, "app/s0000"))
		}, []probe{{args: getApp, code: core.CodeCorruptVault}, {args: listAll}, {args: checkAll, finding: "symlink"},
			{args: setApp, code: core.CodeCorruptVault}, {args: []string{"revoke", "bot", "app"}, code: core.CodeCorruptVault}}},
		{"enc symlink to /etc/hostname", func(t *testing.T, h *hostileEnv) {
			link(t, "/etc/hostname", enc(h, "app/s0000"))
		}, []probe{{args: getApp, code: core.CodeCorruptVault}, {args: checkAll, finding: "symlink"}}},
		{"secret directory symlink to the decoy", func(t *testing.T, h *hostileEnv) {
			link(t, filepath.Join(h.ov, "secrets/app"), filepath.Join(h.vault, "secrets/app"))
		}, []probe{{args: getApp, code: core.CodeCorruptVault}, {args: listAll, code: core.CodeCorruptVault},
			{args: checkAll, finding: "symlink"}, {args: setApp, code: core.CodeCorruptVault},
			{args: setNew, code: core.CodeCorruptVault}, {args: []string{"grant", "bot2", "app"}, code: core.CodeCorruptVault}}},
		{"secret directory symlink to /etc", func(t *testing.T, h *hostileEnv) {
			link(t, "/etc", filepath.Join(h.vault, "secrets/app"))
		}, []probe{{args: getApp, code: core.CodeCorruptVault}, {args: listAll, code: core.CodeCorruptVault},
			{args: checkAll, finding: "symlink"}, {args: setNew, code: core.CodeCorruptVault}}},
		{"secrets/ symlink to the decoy", func(t *testing.T, h *hostileEnv) {
			link(t, filepath.Join(h.ov, "secrets"), filepath.Join(h.vault, "secrets"))
		}, []probe{{args: getApp, code: core.CodeCorruptVault}, {args: listAll, code: core.CodeCorruptVault},
			{args: checkAll, finding: "*"}, {args: setNew, code: core.CodeCorruptVault}}},
		{"manifest symlink to the decoy's", func(t *testing.T, h *hostileEnv) {
			link(t, filepath.Join(h.ov, "manifest.yaml"), manifest(h))
		}, corruptOpen},
		{"owner.pub symlink", func(t *testing.T, h *hostileEnv) {
			link(t, filepath.Join(h.ov, "owner.pub"), filepath.Join(h.vault, "owner.pub"))
		}, corruptOpen},
		{"config.yaml symlink", func(t *testing.T, h *hostileEnv) {
			link(t, filepath.Join(h.ov, "config.yaml"), filepath.Join(h.vault, "config.yaml"))
		}, corruptOpen},
		{"agent public key symlink", func(t *testing.T, h *hostileEnv) {
			link(t, filepath.Join(h.ov, "agents", h.decoyAgent(t), "public.key"), filepath.Join(h.vault, "agents/bot/public.key"))
		}, []probe{{args: listAgent, code: core.CodeCorruptVault}, {args: checkAll, finding: "missing_public_key"},
			{args: []string{"grant", "bot", "misc"}, code: core.CodeCorruptVault}}},
		{"escrow symlink", func(t *testing.T, h *hostileEnv) {
			link(t, filepath.Join(h.ov, "agents", h.decoyAgent(t), "private.key.escrow"), filepath.Join(h.vault, "agents/bot/private.key.escrow"))
		}, []probe{{args: []string{"restore-agent", "bot", "--to", "@outside/restored.key"}, code: core.CodeCorruptVault}}},
		{".agent-vault itself a symlink", func(t *testing.T, h *hostileEnv) {
			os.RemoveAll(h.vault)
			link(t, h.ov, h.vault)
		}, []probe{{args: getApp, code: core.CodeVaultNotFound, wasmCode: core.CodeCorruptVault},
			{args: listAll, code: core.CodeVaultNotFound, wasmCode: core.CodeCorruptVault},
			{args: setNew, code: core.CodeVaultNotFound}}},
		{"lock file symlink out of the vault", func(t *testing.T, h *hostileEnv) {
			link(t, filepath.Join(h.outside, "created-by-lock"), filepath.Join(h.vault, ".lock"))
		}, []probe{{args: setNew}, {args: getApp}}}, // the lock lives in .git/agent-vault
		{"journal symlink", func(t *testing.T, h *hostileEnv) {
			write(t, filepath.Join(h.outside, "journal.yaml"), []byte("op: grant\nargs: [bot, app]\n"))
			link(t, filepath.Join(h.outside, "journal.yaml"), filepath.Join(h.vault, ".pending.yaml"))
			// A journal in the working tree is never read at all.
		}, []probe{{args: setNew}, {args: []string{"check", "--repair"}}}},
		{"journal writing outside the vault", journal("files:\n  ../../outside/pwned: " + base64.StdEncoding.EncodeToString([]byte("pwned")) + "\n"),
			// Whether Git tracks the journal is the CLI's to find out.
			[]probe{{args: checkAll, finding: "tracked_journal", cliOnly: true}, {args: []string{"check", "--repair"}, finding: "tracked_journal"},
				{args: setNew}}},
		{"journal removing outside the vault", journal("remove: [../../outside/victim, /etc/hostname]\n"),
			[]probe{{args: []string{"check", "--repair"}, finding: "tracked_journal"}, {args: setNew}}},
		{"journal re-encrypting a traversal path", journal("secrets: [\"../../../etc/passwd\"]\n"),
			[]probe{{args: []string{"check", "--repair"}, finding: "tracked_journal"}}},
		{"manifest billion laughs", func(t *testing.T, h *hostileEnv) {
			write(t, manifest(h), append([]byte("version: 1\n"), laughs("groups")...))
		}, policyDamage(core.CodeCorruptVault)},
		{"metadata billion laughs", func(t *testing.T, h *hostileEnv) {
			write(t, meta(h, "app/s0000"), laughs("authorized_agents"))
			// The CLI's get verifies the owner's signature over the
			// metadata too; the module does not verify yet.
		}, []probe{{args: listAll, code: core.CodeCorruptVault}, {args: getApp, code: core.CodeCorruptVault, cliOnly: true},
			{args: checkAll, finding: "bad_metadata"}}},
		{"manifest of 20 MB", func(t *testing.T, h *hostileEnv) {
			write(t, manifest(h), append([]byte("version: 1\nowners: []\n# "), bytes.Repeat([]byte("x"), 20<<20)...))
		}, policyDamage(core.CodeCorruptVault)},
		{"metadata of 20 MB", func(t *testing.T, h *hostileEnv) {
			write(t, meta(h, "app/s0000"), append([]byte("name: app/s0000\n# "), bytes.Repeat([]byte("x"), 20<<20)...))
		}, []probe{{args: listAll, code: core.CodeCorruptVault}, {args: checkAll, finding: "bad_metadata"}}},
		{"ciphertext of 65 MB", mutateEnc(func(ct []byte) []byte { return append(ct, make([]byte, 65<<20)...) }),
			[]probe{{args: getApp, code: core.CodeCorruptVault}, {args: checkAll, finding: "unreadable"}}},
		{"deeply nested manifest", func(t *testing.T, h *hostileEnv) {
			write(t, manifest(h), []byte("version: 1\ngroups: "+strings.Repeat("[", 200000)+strings.Repeat("]", 200000)+"\n"))
		}, policyDamage(core.CodeCorruptVault)},
		{"deeply nested metadata", func(t *testing.T, h *hostileEnv) {
			write(t, meta(h, "app/s0000"), []byte("name: app/s0000\ngroup: app\nauthorized_agents:\n"+strings.Repeat("- [", 50000)))
		}, []probe{{args: listAll, code: core.CodeCorruptVault}, {args: checkAll, finding: "bad_metadata"}}},
		{"ciphertext truncated to nothing", mutateEnc(func(ct []byte) []byte { return nil }),
			[]probe{{args: getApp, code: core.CodeCorruptVault}, {args: checkAll, finding: "corrupt_ciphertext"}}},
		{"ciphertext truncated in the header", mutateEnc(func(ct []byte) []byte { return ct[:headerEnd(ct)/2] }),
			[]probe{{args: getApp, code: core.CodeCorruptVault}, {args: checkAll, finding: "corrupt_ciphertext"}}},
		{"ciphertext truncated after the header", mutateEnc(func(ct []byte) []byte { return ct[:headerEnd(ct)+60] }),
			[]probe{{args: getApp, code: core.CodeCorruptVault}, {args: checkAll, finding: "owner_cannot_decrypt", cliOnly: true}}},
		{"ciphertext missing its last byte", mutateEnc(func(ct []byte) []byte { return ct[:len(ct)-1] }),
			[]probe{{args: getApp, code: core.CodeCorruptVault}, {args: checkAll, finding: "owner_cannot_decrypt", cliOnly: true}}},
		{"ciphertext with a flipped payload bit", mutateEnc(func(ct []byte) []byte { ct[len(ct)-5] ^= 0x10; return ct }),
			[]probe{{args: getApp, code: core.CodeCorruptVault}, {args: checkAll, finding: "owner_cannot_decrypt", cliOnly: true}}},
		{"ciphertext with a flipped header MAC bit", mutateEnc(func(ct []byte) []byte { ct[headerEnd(ct)+6] ^= 0x01; return ct }),
			[]probe{{args: getApp, code: core.CodeCorruptVault}}},
		{"escrow of another agent", func(t *testing.T, h *hostileEnv) {
			data, err := os.ReadFile(filepath.Join(h.vault, "agents/bot2/private.key.escrow"))
			if err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(h.vault, "agents/bot/private.key.escrow"), data)
			// A well-formed file the owner did not sign: refused as untrusted.
		}, []probe{{args: []string{"restore-agent", "bot", "--to", "@outside/restored.key"}, code: core.CodeUntrusted}}},
		{"manifest naming missing files", func(t *testing.T, h *hostileEnv) {
			editFile(t, manifest(h), func(s string) string {
				return strings.Replace(s, "app/s0000", "app/s0000, app/ghost", 1)
			})
		}, []probe{{args: []string{"get", "app/ghost"}, code: core.CodeSecretNotFound}, {args: checkAll, finding: "missing_file"}}},
		{"traversal in a manifest secret path", func(t *testing.T, h *hostileEnv) {
			editFile(t, manifest(h), func(s string) string { return strings.Replace(s, "app/s0001", `"../../etc/passwd"`, 1) })
		}, policyDamage(core.CodeCorruptVault)},
		{"traversal in a manifest agent name", func(t *testing.T, h *hostileEnv) {
			editFile(t, manifest(h), func(s string) string { return strings.Replace(s, "name: bot2", `name: "../x"`, 1) })
		}, policyDamage(core.CodeCorruptVault)},
		{"look-alike Unicode agent name", func(t *testing.T, h *hostileEnv) {
			editFile(t, manifest(h), func(s string) string { return strings.Replace(s, "name: bot2", "name: b\u043et2", 1) })
		}, policyDamage(core.CodeCorruptVault)},
		{"metadata naming another secret", func(t *testing.T, h *hostileEnv) {
			editFile(t, meta(h, "app/s0000"), func(s string) string { return strings.Replace(s, "app/s0000", "app/s0001", 1) })
		}, []probe{{args: listAll, code: core.CodeCorruptVault}, {args: checkAll, finding: "bad_metadata"}}},
		{"directory in place of a ciphertext", func(t *testing.T, h *hostileEnv) {
			os.Remove(enc(h, "app/s0000"))
			os.MkdirAll(enc(h, "app/s0000"), 0o755)
		}, []probe{{args: getApp, code: core.CodeCorruptVault}, {args: setApp, code: core.CodeCorruptVault}}},
		{"FIFO in place of a ciphertext", func(t *testing.T, h *hostileEnv) {
			os.Remove(enc(h, "app/s0000"))
			if err := syscall.Mkfifo(enc(h, "app/s0000"), 0o644); err != nil {
				t.Fatal(err)
			}
			// WASI reports a FIFO as filetype "unknown"; the guest's file
			// system maps that to an irregular file so core refuses it there too.
		}, []probe{{args: getApp, code: core.CodeCorruptVault}, {args: checkAll, finding: "*", cliOnly: true}}},
		{"unsupported config version", func(t *testing.T, h *hostileEnv) {
			write(t, filepath.Join(h.vault, "config.yaml"), []byte("version: 2\nencryption:\n  format: age\n"))
		}, corruptOpen},
	}, terminalCases()...)
}
