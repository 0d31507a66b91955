package hardening

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/clitest"
)

// keyRE matches an age private key, the only private key type agent-vault
// writes.
var keyRE = regexp.MustCompile(`AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]{20,}`)

// ensureStrace finds strace, installing it from Debian if needed. A missing
// tool fails the test; it never skips it.
func ensureStrace(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("strace"); err == nil {
		return p
	}
	for _, args := range [][]string{{"apt-get", "install", "-y", "strace"}, {"apt-get", "update"}, {"apt-get", "install", "-y", "strace"}} {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err == nil {
			if p, err := exec.LookPath("strace"); err == nil {
				return p
			}
		} else {
			t.Logf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Fatal("strace is required (apt-get install -y strace) and could not be installed")
	return ""
}

// encodings lists the forms a leaked value could take on disk.
func encodings(v []byte) [][]byte {
	return [][]byte{v, []byte(base64.StdEncoding.EncodeToString(v)), []byte(base64.RawURLEncoding.EncodeToString(v)),
		[]byte(hex.EncodeToString(v))}
}

func containsAny(data []byte, values [][]byte) bool {
	for _, v := range values {
		for _, enc := range encodings(v) {
			if bytes.Contains(data, enc) {
				return true
			}
		}
	}
	return false
}

// TestPlaintextNeverOnDisk runs the whole owner and agent workflow under
// strace and proves docs/architecture.md §7.1: no secret value is written to any
// descriptor except the CLI's own standard output (get), no private key is
// written anywhere but the key files the command is meant to create (mode
// 0600), no file is created outside the repository and the key directory,
// and afterwards neither the files nor the Git objects hold a value.
func TestPlaintextNeverOnDisk(t *testing.T) {
	straceBin := ensureStrace(t)
	e := clitest.New(t)
	base := filepath.Dir(e.Repo)
	input := filepath.Join(t.TempDir(), "value.txt")
	v := map[string][]byte{
		"arg": []byte(token("arg-plaintext")), "stdin": []byte(token("stdin-plaintext")),
		"file": []byte(token("file-plaintext")), "rotated": []byte(token("rotated-plaintext")),
		"cert": []byte("-----BEGIN CERTIFICATE-----\n" + token("cert") + "\n" + token("chain") + "\n-----END CERTIFICATE-----\n"),
	}
	if err := os.WriteFile(input, v["file"], 0o600); err != nil {
		t.Fatal(err)
	}
	var values [][]byte
	for _, x := range v {
		values = append(values, x)
	}
	restored := filepath.Join(base, "restored.key")
	keyDir := filepath.Join(e.Home, ".agent-vault")
	steps := []struct {
		args   []string
		stdin  []byte
		stdout []byte // the exact value get must print
	}{
		{args: []string{"init"}},
		{args: []string{"add-agent", "bot"}},
		{args: []string{"set", "app/arg", string(v["arg"])}},
		{args: []string{"set", "app/stdin", "-"}, stdin: v["stdin"]},
		{args: []string{"set", "app/file", "--from-file", input}},
		{args: []string{"set", "certs/chain", "-", "--expires", "2099-01-01"}, stdin: v["cert"]},
		{args: []string{"grant", "bot", "app"}},
		{args: []string{"get", "app/arg"}, stdout: v["arg"]},
		{args: []string{"get", "--key", e.AgentKey("bot"), "app/stdin"}, stdout: v["stdin"]},
		{args: []string{"set", "app/arg", string(v["rotated"]), "--agents", "bot"}},
		{args: []string{"revoke", "bot", "app"}},
		{args: []string{"grant", "bot", "app"}},
		{args: []string{"recover-agent", "bot"}},
		{args: []string{"get", "--key", e.AgentKey("bot"), "app/file"}, stdout: v["file"]},
		{args: []string{"restore-agent", "bot", "--to", restored}},
		{args: []string{"add-agent", "bot2"}},
		{args: []string{"grant", "bot2", "certs"}},
		{args: []string{"get", "--key", e.AgentKey("bot2"), "certs/chain"}, stdout: v["cert"]},
		{args: []string{"get", "app/arg"}, stdout: v["rotated"]},
		{args: []string{"remove-agent", "bot"}},
		{args: []string{"check"}},
		{args: []string{"list"}},
	}
	for i, s := range steps {
		log := filepath.Join(t.TempDir(), "trace-"+strconv.Itoa(i))
		cmd := command(e, s.stdin, nil, s.args...)
		cmd.Args = append([]string{straceBin, "-o", log}, append(straceArgs, cmd.Args...)...)
		cmd.Path = straceBin
		r := result(t, cmd)
		what := strings.Join(s.args[:min(len(s.args), 2)], " ")
		if r.Code != 0 {
			t.Fatalf("%s under strace: exit %d\n%s", what, r.Code, r.Stderr)
		}
		if s.stdout != nil && r.Stdout != string(s.stdout) {
			t.Fatalf("%s printed the wrong value", what)
		}
		if s.stdout == nil && containsAny([]byte(r.Stdout), values) || containsAny([]byte(r.Stderr), values) {
			t.Fatalf("%s printed a secret value in a message", what)
		}
		tr, err := parseTrace(log, e.Repo)
		if err != nil {
			t.Fatal(err)
		}
		allowedKeys := map[string]bool{restored: s.args[0] == "restore-agent"}
		if s.args[0] == "init" {
			allowedKeys[filepath.Join(keyDir, "owner.key")] = true
		}
		if s.args[0] == "add-agent" || s.args[0] == "recover-agent" {
			allowedKeys[e.AgentKey(s.args[1])] = true
		}
		checkTrace(t, what, tr, values, allowedKeys, []string{e.Repo, keyDir, restored}, []string{input})
		if len(tr.writes) == 0 {
			t.Fatalf("%s: the trace holds no writes; strace did not work", what)
		}
	}
	scanDisk(t, e, values, map[string]bool{input: true, restored: true})
}

// checkTrace applies the plaintext rules to one traced command.
func checkTrace(t *testing.T, what string, tr *parsedTrace, values [][]byte, allowedKeys map[string]bool, writable, sources []string) {
	t.Helper()
	sawValue := false
	for _, w := range tr.writes {
		if w.dstOnly {
			// strace cannot show data moved between descriptors; plaintext
			// sources may only be copied to standard output.
			if (w.srcDesc.kind == "stdin" || slices.Contains(sources, w.srcDesc.path)) && w.desc.kind != "stdout" {
				t.Errorf("%s: %s copies plaintext from %s %s", what, w, w.srcDesc.kind, w.srcDesc.path)
			}
			continue
		}
		if containsAny(w.data, values) {
			sawValue = true
			if w.desc.kind != "stdout" {
				t.Errorf("%s: a secret value was written by %s", what, w)
			}
		}
		if keyRE.Match(w.data) && !(w.desc.kind == "file" && allowedKeys[w.desc.path]) {
			t.Errorf("%s: a private key was written by %s", what, w)
		}
		if w.truncated && w.desc.kind != "stdout" && w.desc.kind != "pipe" {
			t.Errorf("%s: strace truncated %s; raise its -s limit", what, w)
		}
	}
	if !sawValue && strings.HasPrefix(what, "get") {
		t.Errorf("%s: the value never appeared in the trace; the parser missed the stdout write", what)
	}
	for _, o := range tr.opens {
		if allowedKeys[o.path] && o.mode != "0600" {
			t.Errorf("%s: key file %s created with mode %q, want 0600", what, o.path, o.mode)
		}
		inside := o.path == "/dev/null"
		for _, dir := range writable {
			inside = inside || o.path == dir || strings.HasPrefix(o.path, dir+"/")
		}
		if !inside {
			t.Errorf("%s: opened %s for writing (%s), outside the repository and key directory", what, o.path, o.flags)
		}
	}
}

// scanDisk reads every file the workflow left (HOME, work tree, remote)
// and every Git object, decompressed: none may hold a value, and private
// keys may sit only in key files.
func scanDisk(t *testing.T, e *clitest.Env, values [][]byte, skip map[string]bool) {
	t.Helper()
	keyDir := filepath.Join(e.Home, ".agent-vault")
	filepath.WalkDir(filepath.Dir(e.Repo), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || skip[p] {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("read %s: %v", p, err)
			return nil
		}
		if containsAny(data, values) {
			t.Errorf("%s holds a secret value", p)
		}
		if keyRE.Match(data) && !(strings.HasPrefix(p, keyDir+"/") && strings.HasSuffix(p, ".key") ||
			strings.Contains(p, ".key.replaced-")) {
			t.Errorf("%s holds a private key", p)
		}
		return nil
	})
	cmd := exec.Command("git", "cat-file", "--batch-all-objects", "--batch")
	cmd.Dir = e.Repo
	objects, err := cmd.Output()
	if err != nil || len(objects) == 0 {
		t.Fatalf("git cat-file: %v", err)
	}
	if containsAny(objects, values) || keyRE.Match(objects) {
		t.Error("a Git object holds a secret value or a private key")
	}
}
