package hardening

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// tool returns the path of a command-line tool, installing its Debian
// package if it is missing. A missing tool fails the test.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, args := range [][]string{{"apt-get", "install", "-y", pkg}, {"apt-get", "update"}, {"apt-get", "install", "-y", pkg}} {
		exec.Command(args[0], args[1:]...).Run()
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("%s is required (apt-get install -y %s) and could not be installed", name, pkg)
	return ""
}

// gen runs a key generator and returns what it wrote to out (or stdout).
func gen(t *testing.T, out string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	if out != "" {
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	return string(stdout)
}

// gitCommit commits in the repository and returns git's output and error,
// with the hooks of the repository in force.
func gitCommit(e *clitest.Env, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"commit", "--quiet"}, args...)...)
	cmd.Dir = e.Repo
	cmd.Env = []string{"HOME=" + e.Home, "PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPreCommitHookBlocksEveryKeyType commits real throwaway private keys of
// every kind the hook knows (docs/architecture.md §7.2) and requires each commit to be
// refused, while ciphertext, escrow, armored age files and public keys go
// through, and a hook that was there before keeps running.
func TestPreCommitHookBlocksEveryKeyType(t *testing.T) {
	openssl := tool(t, "openssl", "openssl")
	sshKeygen := tool(t, "ssh-keygen", "openssh-client")
	e := clitest.New(t)
	hooks := filepath.Join(e.Repo, ".git", "hooks")
	ran := filepath.Join(t.TempDir(), "previous-hook-ran")
	os.MkdirAll(hooks, 0o755)
	previous := "#!/bin/sh\necho run >> " + ran + "\n[ -e \"$(git rev-parse --show-toplevel)/veto\" ] && exit 3\nexit 0\n"
	if err := os.WriteFile(filepath.Join(hooks, "pre-commit"), []byte(previous), 0o755); err != nil {
		t.Fatal(err)
	}
	must(t, e, "init")
	must(t, e, "add-agent", "bot")
	must(t, e, "set", "app/key", "value")
	must(t, e, "grant", "bot", "app")
	if data, _ := os.ReadFile(ran); bytes.Count(data, []byte("run")) < 4 {
		t.Fatalf("the previous pre-commit hook ran %d times for 4 commits", bytes.Count(data, []byte("run")))
	}

	dir := t.TempDir()
	ageKey, _, _ := core.NewKey()
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	dsaParams := filepath.Join(dir, "dsa.params")
	gen(t, "", openssl, "genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:1024", "-out", dsaParams)
	dsaKey := filepath.Join(dir, "dsa.pem")
	gen(t, "", openssl, "genpkey", "-paramfile", dsaParams, "-out", dsaKey)
	sshKey := filepath.Join(dir, "id_ed25519")
	rsaPEM := filepath.Join(dir, "id_rsa_pem")
	keys := map[string]string{
		"age X25519":       string(ageKey),
		"age post-quantum": "# public key: " + pq.Recipient().String() + "\n" + pq.String() + "\n",
		"RSA PKCS#1":       gen(t, "", openssl, "genrsa", "-traditional", "1024"),
		"EC":               gen(t, "", openssl, "ecparam", "-name", "prime256v1", "-genkey", "-noout"),
		"DSA":              gen(t, "", openssl, "pkey", "-in", dsaKey, "-traditional"),
		"OpenSSH":          gen(t, sshKey, sshKeygen, "-q", "-t", "ed25519", "-N", "", "-C", "throwaway", "-f", sshKey),
		"RSA PEM (ssh)":    gen(t, rsaPEM, sshKeygen, "-q", "-t", "rsa", "-b", "1024", "-m", "PEM", "-N", "", "-f", rsaPEM),
		"encrypted PKCS#8": gen(t, "", openssl, "genpkey", "-algorithm", "ed25519", "-aes-256-cbc", "-pass", "pass:throwaway"),
		"plain PKCS#8":     gen(t, "", openssl, "genpkey", "-algorithm", "ed25519"),
	}
	for name, key := range keys {
		t.Run("blocks "+name, func(t *testing.T) {
			for _, file := range []string{"config/leak.txt", "dir with space/k", core.DirName + "/owner.key"} {
				p := filepath.Join(e.Repo, file)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte("settings\n"+key+"more\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				e.Git(e.Repo, "add", "--force", "--", file)
				// The hook checks what is staged, not the work tree.
				os.WriteFile(p, []byte("clean\n"), 0o644)
				out, err := gitCommit(e, "-m", "leak "+name)
				if err == nil || !strings.Contains(out, "commit blocked") || !strings.Contains(out, filepath.Base(file)) {
					t.Errorf("%s in %s: commit not blocked (%v)\n%s", name, file, err, out)
				}
				if keyRE.MatchString(out) || strings.Contains(out, "PRIVATE KEY-----\n") {
					t.Errorf("the hook printed the key:\n%s", out)
				}
				e.Git(e.Repo, "reset", "--quiet", "--", file)
				os.Remove(p)
			}
		})
	}

	t.Run("lets ciphertext, escrow and public keys through", func(t *testing.T) {
		vault := filepath.Join(e.Repo, core.DirName)
		escrow, _ := os.ReadFile(filepath.Join(vault, "agents", "bot", "private.key.escrow"))
		enc, _ := os.ReadFile(filepath.Join(vault, "secrets", "app", "key.enc"))
		var armored bytes.Buffer
		aw := armor.NewWriter(&armored)
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		w, err := age.Encrypt(aw, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("armored payload"))
		w.Close()
		aw.Close()
		pub, _ := os.ReadFile(sshKey + ".pub")
		files := map[string][]byte{
			"copies/bot.escrow": escrow, "copies/key.enc": enc, "copies/armored.age": armored.Bytes(),
			"copies/id.pub": pub, "copies/recipient.txt": []byte(pq.Recipient().String() + "\n"),
			"copies/pubkey.pem": []byte(gen(t, "", openssl, "pkey", "-in", dsaKey, "-pubout")),
		}
		for name, data := range files {
			write(t, filepath.Join(e.Repo, name), data)
		}
		e.Git(e.Repo, "add", "copies")
		if out, err := gitCommit(e, "-m", "public material"); err != nil {
			t.Fatalf("commit of ciphertext and public keys was blocked: %v\n%s", err, out)
		}
	})

	t.Run("the previous hook still decides", func(t *testing.T) {
		write(t, filepath.Join(e.Repo, "veto"), []byte("x"))
		e.Git(e.Repo, "add", "veto")
		if out, err := gitCommit(e, "-m", "vetoed"); err == nil {
			t.Fatalf("the chained hook's failure did not stop the commit\n%s", out)
		}
	})
}
