package hardening

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// Each test here is a way a private key once got past the pre-commit hook,
// committed for real in a repository with the hook init installed.

// hookRepo is a repository with a vault, so the hook is installed, and a
// throwaway age key file's content.
func hookRepo(t *testing.T) (*clitest.Env, string) {
	t.Helper()
	e := clitest.New(t)
	must(t, e, "init")
	key, _, err := core.NewKey() // a throwaway key for this test
	if err != nil {
		t.Fatal(err)
	}
	return e, string(key)
}

// requireBlocked stages file with data and requires the commit to be
// refused, naming the file and not printing the key; it then unstages it.
func requireBlocked(t *testing.T, e *clitest.Env, file string, data []byte, key string) {
	t.Helper()
	p := filepath.Join(e.Repo, file)
	write(t, p, data)
	// "--" and a literal pathspec, so the test itself stages exactly file.
	e.Git(e.Repo, "--literal-pathspecs", "add", "--force", "--", file)
	out, err := gitCommit(e, "-m", "add "+file)
	if err == nil || !strings.Contains(out, "commit blocked") || !strings.Contains(out, core.SafeText(file)) {
		t.Errorf("%q: commit not blocked (%v)\n%s", file, err, out)
	}
	if line := keyRE.FindString(key); line != "" && strings.Contains(strings.ToUpper(out), line[15:]) {
		t.Errorf("%q: the hook printed the key:\n%s", file, out)
	}
	e.Git(e.Repo, "--literal-pathspecs", "rm", "--cached", "--quiet", "--", file)
	os.Remove(p)
}

// utf16File encodes s as UTF-16 with CRLF line ends, as PowerShell's
// "age-keygen > key.txt" writes it (Windows PowerShell 5: little-endian
// with a byte order mark).
func utf16File(s string, bigEndian, bom bool) []byte {
	units := utf16.Encode([]rune(strings.ReplaceAll(s, "\n", "\r\n")))
	if bom {
		units = append([]uint16{0xfeff}, units...)
	}
	out := make([]byte, 0, 2*len(units))
	for _, u := range units {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

func TestHookBlocksUTF16KeyFiles(t *testing.T) {
	e, key := hookRepo(t)
	for _, v := range []struct {
		name           string
		bigEndian, bom bool
	}{{"le-bom", false, true}, {"le", false, false}, {"be-bom", true, true}, {"be", true, false}} {
		requireBlocked(t, e, "agent-key-"+v.name+".txt", utf16File(key, v.bigEndian, v.bom), key)
	}
}

// Git reads a leading ':' as pathspec magic (":agent-key.txt" is the file
// "agent-key.txt" from the top), and '*', '?' and '[' as globs, so a hook
// that hands staged names back to git as pathspecs checks the wrong files.
func TestHookBlocksNamesGitReadsAsPathspecs(t *testing.T) {
	e, key := hookRepo(t)
	for _, name := range []string{":agent-key.txt", ":!agent-key.txt", ":/agent-key.txt", ":(glob)*.txt",
		"sub/:(top)key", "*", "[ak]ey.txt", "key?.txt"} {
		requireBlocked(t, e, name, []byte(key), key)
	}
}

func TestHookBlocksBase64KeysInManifests(t *testing.T) {
	e, key := hookRepo(t)
	b64 := base64.StdEncoding.EncodeToString([]byte(key))
	var wrapped strings.Builder // base64(1) wraps at 76 columns
	for s := b64; s != ""; s = s[min(len(s), 76):] {
		wrapped.WriteString("    " + s[:min(len(s), 76)] + "\n")
	}
	manifests := map[string]string{
		// The form the finding was reported in.
		"k8s/flow.yaml": "apiVersion: v1\nkind: Secret\nmetadata: { name: agent }\ntype: Opaque\ndata: { key: " + b64 + " }\n",
		// What kubectl create secret generic --from-file=key=... -o yaml prints.
		"k8s/kubectl.yaml": "apiVersion: v1\ndata:\n  key: " + b64 + "\nkind: Secret\nmetadata:\n  creationTimestamp: null\n  name: agent\n",
		"k8s/folded.yaml":  "apiVersion: v1\nkind: Secret\ndata:\n  key: >-\n" + wrapped.String() + "type: Opaque\n",
		"k8s/secret.json":  `{"apiVersion":"v1","kind":"Secret","data":{"key":"` + b64 + `"}}`,
		"ci/.env":          "AGENT_VAULT_KEY_B64=" + base64.RawURLEncoding.EncodeToString([]byte(key)) + "\n",
		"k8s/sealed.yaml":  "data:\n  key: " + base64.StdEncoding.EncodeToString([]byte(b64)) + "\n", // encoded twice
	}
	for name, data := range manifests {
		requireBlocked(t, e, name, []byte(data), key)
	}
}

func TestHookBlocksPGPPrivateKeys(t *testing.T) {
	gpg := tool(t, "gpg", "gnupg")
	home := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command(gpg, append([]string{"--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %v: %v", args, err)
		}
		return string(out)
	}
	// A throwaway key in a throwaway keyring.
	run("--quick-gen-key", "Throwaway <throwaway@example.invalid>", "ed25519", "sign", "never")
	secret := run("--armor", "--export-secret-keys")
	public := run("--armor", "--export")
	if !strings.Contains(secret, "-----BEGIN PGP PRIVATE KEY BLOCK-----") || !strings.Contains(public, "PGP PUBLIC KEY BLOCK") {
		t.Fatalf("gpg exported no armored keys")
	}
	e, _ := hookRepo(t)
	requireBlocked(t, e, "keys/signing.asc", []byte(secret), "")
	requireBlocked(t, e, "keys/signing.asc.b64", []byte(base64.StdEncoding.EncodeToString([]byte(secret))), "")
	write(t, filepath.Join(e.Repo, "keys/public.asc"), []byte(public))
	e.Git(e.Repo, "add", "keys/public.asc")
	if out, err := gitCommit(e, "-m", "public key"); err != nil {
		t.Fatalf("the commit of a PGP public key was blocked: %v\n%s", err, out)
	}
}

// A file name is repository content: the hook prints it escaped.
func TestHookEscapesFileNames(t *testing.T) {
	e, key := hookRepo(t)
	name := "key\x1b[2J\x1b]0;owned\a\u202e.txt"
	write(t, filepath.Join(e.Repo, name), []byte(key))
	e.Git(e.Repo, "--literal-pathspecs", "add", "--", name)
	out, err := gitCommit(e, "-m", "escape")
	if err == nil || !strings.Contains(out, "commit blocked") || !strings.Contains(out, core.SafeText(name)) {
		t.Fatalf("commit not blocked (%v)\n%q", err, out)
	}
	noTerminalControls(t, "the hook", "its output", out)
}

// "git commit -a" and "git commit <path>" commit from an index of their
// own (GIT_INDEX_FILE); the hook checks that one.
func TestHookChecksTheIndexBeingCommitted(t *testing.T) {
	e, key := hookRepo(t)
	write(t, filepath.Join(e.Repo, "notes.txt"), []byte("clean\n"))
	e.Git(e.Repo, "add", "notes.txt")
	if out, err := gitCommit(e, "-m", "notes"); err != nil {
		t.Fatalf("clean commit blocked: %v\n%s", err, out)
	}
	write(t, filepath.Join(e.Repo, "notes.txt"), []byte("clean\n"+key))
	for _, args := range [][]string{{"-a", "-m", "all"}, {"-m", "only", "--", "notes.txt"}} {
		if out, err := gitCommit(e, args...); err == nil || !strings.Contains(out, "notes.txt") {
			t.Errorf("git commit %v: not blocked (%v)\n%s", args, err, out)
		}
	}
}

// Without agent-vault the hook cannot check, so it blocks the commit and
// says why instead of letting it through unchecked.
func TestHookWithoutTheProgramBlocks(t *testing.T) {
	e, _ := hookRepo(t)
	hook := filepath.Join(e.Repo, ".git", "hooks", "pre-commit")
	script, err := os.ReadFile(hook)
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(string(script), e.Bin, filepath.Join(t.TempDir(), "gone", "agent-vault"), 1)
	if moved == string(script) {
		t.Fatalf("the hook does not name %s:\n%s", e.Bin, script)
	}
	write(t, hook, []byte(moved))
	os.Chmod(hook, 0o755)
	write(t, filepath.Join(e.Repo, "harmless.txt"), []byte("hello\n"))
	e.Git(e.Repo, "add", "harmless.txt")
	commit := func(path string) ([]byte, error) {
		cmd := exec.Command("git", "commit", "--quiet", "-m", "unchecked")
		cmd.Dir = e.Repo
		cmd.Env = []string{"HOME=" + e.Home, "PATH=" + path, "GIT_CONFIG_NOSYSTEM=1"}
		return cmd.CombinedOutput()
	}
	// PATH has git and the shell tools but no agent-vault.
	out, err := commit("/usr/bin:/bin")
	if err == nil || !strings.Contains(string(out), "agent-vault is not installed") {
		t.Fatalf("commit without agent-vault: %v\n%s", err, out)
	}
	// With the program on PATH again the same hook finds it there.
	if out, err := commit(filepath.Dir(e.Bin) + ":/usr/bin:/bin"); err != nil {
		t.Fatalf("commit with agent-vault on PATH: %v\n%s", err, out)
	}
}

// "hook install" replaces a hook an older agent-vault wrote (the grep
// script these bypasses got past), keeps a chained hook, and is idempotent.
func TestHookInstallUpdatesAnOldHook(t *testing.T) {
	e, key := hookRepo(t)
	hooks := filepath.Join(e.Repo, ".git", "hooks")
	old := "#!/bin/sh\n# agent-vault pre-commit hook\nexit 0\n"
	write(t, filepath.Join(hooks, "pre-commit"), []byte(old))
	os.Chmod(filepath.Join(hooks, "pre-commit"), 0o755)
	chained := "#!/bin/sh\nexit 0\n"
	write(t, filepath.Join(hooks, "pre-commit.agent-vault-chained"), []byte(chained))
	os.Chmod(filepath.Join(hooks, "pre-commit.agent-vault-chained"), 0o755)
	for range 2 {
		if out := must(t, e, "hook", "install"); !strings.Contains(out, filepath.Join(hooks, "pre-commit")) {
			t.Errorf("hook install printed %q", out)
		}
	}
	data, _ := os.ReadFile(filepath.Join(hooks, "pre-commit"))
	if string(data) == old || !strings.Contains(string(data), "hook pre-commit") {
		t.Fatalf("the old hook was not replaced:\n%s", data)
	}
	if data, _ := os.ReadFile(filepath.Join(hooks, "pre-commit.agent-vault-chained")); string(data) != chained {
		t.Errorf("the chained hook changed:\n%s", data)
	}
	requireBlocked(t, e, "agent.key.txt", []byte(key), key)
}
