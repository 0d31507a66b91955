package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// commitCount counts the commits on HEAD.
func commitCount(t *testing.T, e interface {
	Git(string, ...string) string
}, repo string) int {
	t.Helper()
	return strings.Count(e.Git(repo, "log", "--format=%H"), "\n")
}

func TestImportDotenv(t *testing.T) {
	e := initVault(t)
	// Throwaway look-alike values.
	file := filepath.Join(t.TempDir(), "prod.env")
	content := `# production settings
export STRIPE_KEY=sk_test_import_123
DB_URL="postgres://u:p@h/db"   # a trailing comment
SINGLE='literal $HOME and "quotes" # not a comment'
ESCAPED="line1\nline2 \"quoted\" \$5"
CERT="-----BEGIN CERTIFICATE-----
MIIBimport
-----END CERTIFICATE-----"
REF="${STRIPE_KEY}-suffix"

EMPTY=
`
	os.WriteFile(file, []byte(content), 0o600)
	before := commitCount(t, e, e.Repo)
	out := e.OK("import", file, "--group", "prod")
	if !strings.Contains(out, "Imported 7 secrets") {
		t.Errorf("import said %q", out)
	}
	if n := commitCount(t, e, e.Repo); n != before+1 {
		t.Fatalf("import made %d commits, want 1", n-before)
	}
	if subject, _ := lastCommit(e); subject != "agent-vault: import 7 secrets into prod" {
		t.Errorf("commit %q", subject)
	}
	want := map[string]string{
		"STRIPE_KEY": "sk_test_import_123",
		"DB_URL":     "postgres://u:p@h/db",
		"SINGLE":     `literal $HOME and "quotes" # not a comment`,
		"ESCAPED":    "line1\nline2 \"quoted\" $5",
		"CERT":       "-----BEGIN CERTIFICATE-----\nMIIBimport\n-----END CERTIFICATE-----",
		"REF":        "sk_test_import_123-suffix",
		"EMPTY":      "",
	}
	for k, v := range want {
		if got := e.OK("get", "prod/"+k); got != v {
			t.Errorf("prod/%s = %q, want %q", k, got, v)
		}
	}
	var listed []struct{ Name, Group string }
	json.Unmarshal([]byte(e.OK("list", "--group", "prod", "--json")), &listed)
	if len(listed) != 7 || listed[0].Group != "prod" {
		t.Errorf("list: %+v", listed)
	}

	// From standard input, without a group.
	if r := e.Run([]byte("TOKEN=from-stdin\n"), nil, "import", "-", "--json"); r.Code != 0 || !strings.Contains(r.Stdout, `"TOKEN"`) {
		t.Fatalf("import -: %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
	if got := e.OK("get", "TOKEN"); got != "from-stdin" {
		t.Errorf("TOKEN = %q", got)
	}
}

func TestImportRefusesBadInput(t *testing.T) {
	e := initVault(t)
	before := commitCount(t, e, e.Repo)
	dir := t.TempDir()
	cases := map[string]string{
		"unterminated": "GOOD=1\nBAD=\"sk_test_never_echoed\n",
		"bad name":     "GOOD=1\nBAD-NAME!=x\n",
		"no variables": "# nothing here\n",
	}
	for name, content := range cases {
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(f, []byte(content), 0o600)
		r := e.Fail(2, "import", f, "--group", "g")
		if strings.Contains(r.Stderr, "sk_test_never_echoed") {
			t.Errorf("%s: the error quotes the file: %s", name, r.Stderr)
		}
	}
	// A name the vault cannot hold.
	f := filepath.Join(dir, "dots.env")
	os.WriteFile(f, []byte("A..B=x\n"), 0o600)
	e.Fail(2, "import", f)
	// Bounded input.
	big := filepath.Join(dir, "big.env")
	os.WriteFile(big, []byte("BIG="+strings.Repeat("x", 16<<20)+"\n"), 0o600)
	if r := e.Fail(2, "import", big); !strings.Contains(r.Stderr, "more than") {
		t.Errorf("big file: %s", r.Stderr)
	}
	if n := commitCount(t, e, e.Repo); n != before {
		t.Fatalf("a refused import committed")
	}
	if r := e.Fail(2, "import", f, "--group", "../x"); !strings.Contains(r.Stderr, "group") {
		t.Errorf("bad group: %s", r.Stderr)
	}
}

// TestExportRoundTrip stores awkward values, exports them, imports the
// export into another group and compares every value.
func TestExportRoundTrip(t *testing.T) {
	e := initVault(t)
	values := map[string]string{
		"plain":      "sk_test_export_123",
		"multi-line": "-----BEGIN KEY-----\nAAAA\nBBBB\n-----END KEY-----\n",
		"quotes":     `it's "quoted"`,
		"dollar":     "pa$$word ${HOME} $USER",
		"backslash":  `C:\new\path\`,
		"ends-quote": `say "hi"`,
		"both":       `it's "x"`,
		"hash":       "value # not a comment",
		"spaces":     "  padded  ",
		"cr":         "a\r\nb",
		"empty":      "",
		"unicode":    "päss wörd ✓",
	}
	for k, v := range values {
		if r := e.Run([]byte(v), nil, "set", "src/"+k, "-"); r.Code != 0 {
			t.Fatal(r.Stderr)
		}
	}
	dump := e.OK("export", "--group", "src")
	if !strings.Contains(dump, "multi_line=") || !strings.Contains(dump, "ends_quote=") {
		t.Fatalf("names are not variable names: %s", dump)
	}
	if r := e.Run([]byte(dump), nil, "import", "-", "--group", "dst"); r.Code != 0 {
		t.Fatalf("re-import: %s", r.Stderr)
	}
	for k, v := range values {
		name := strings.ReplaceAll(k, "-", "_")
		if got := e.OK("get", "dst/"+name); got != v {
			t.Errorf("%s: round trip gave %q, want %q", k, got, v)
		}
	}
	// JSON carries the same names and values.
	var got map[string]string
	if err := json.Unmarshal([]byte(e.OK("export", "--group", "src", "--format", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(values) || got["multi_line"] != values["multi-line"] {
		t.Errorf("json export: %v", got)
	}
	e.Fail(2, "export", "--format", "yaml")
	e.Fail(2, "export", "--group", "nothing-here")
}

func TestExportAsAgent(t *testing.T) {
	e := initVault(t)
	e.OK("add-agent", "billing")
	e.OK("set", "stripe/api-key", "sk_test_agent_export")
	e.OK("set", "postgres/conn", "postgres://agent-export")
	e.OK("set", "blobs/bin", "--from-file", writeTemp(t, []byte{0, 1, 2, 0xff}))
	e.OK("grant", "billing", "stripe")
	agent := []string{"AGENT_VAULT_KEY=" + e.AgentKey("billing")}
	r := e.Run(nil, agent, "export")
	if r.Code != 0 || r.Stdout != "stripe_api_key='sk_test_agent_export'\n" {
		t.Fatalf("agent export: %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
	if r := e.Run(nil, agent, "export", "--group", "postgres"); r.Code != 5 || r.Stdout != "" {
		t.Fatalf("ungranted group: %d %q", r.Code, r.Stdout)
	}
	// A binary value cannot be a dotenv or JSON value; nothing is written.
	for _, format := range []string{"dotenv", "json"} {
		if r := e.Fail(2, "export", "--format", format); r.Stdout != "" {
			t.Errorf("%s: partial output %q", format, r.Stdout)
		}
	}
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
