//go:build unix

package mcpserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// fixtureValue decrypts a fixture secret as the owner, to know what must
// never come back.
func fixtureValue(t *testing.T, tab interface{ VaultDir() string }, keyPath, secret string) string {
	t.Helper()
	v, err := core.Open(os.DirFS(tab.VaultDir()))
	if err != nil {
		t.Fatal(err)
	}
	id, err := core.LoadIdentity(core.KeySpec{Path: keyPath}, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.WithIdentity(id).Get(secret)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertNoValues fails if any fixture value, or its base64, is in data.
func assertNoValues(t *testing.T, what string, data []byte, values [][]byte) {
	t.Helper()
	for _, v := range values {
		if bytes.Contains(data, v) || bytes.Contains(data, []byte(base64.StdEncoding.EncodeToString(v))) {
			t.Fatalf("%s contains a secret value", what)
		}
	}
}

// resultJSON is everything a tool result carries, as the client sees it.
func resultJSON(t *testing.T, res *mcp.CallToolResult) []byte {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func toolsOf(t *testing.T, cs *mcp.ClientSession) map[string]*mcp.Tool {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*mcp.Tool{}
	for _, tool := range res.Tools {
		out[tool.Name] = tool
	}
	return out
}

func TestUseToolsAreOffOrOnByFlag(t *testing.T) {
	tab := loadTable(t)
	base := options{repo: tab.VaultDir(), key: fixtureKey(tab, "billing"), noPull: true}
	cases := []struct {
		name string
		edit func(o *options)
		want []string
	}{
		{"default", func(*options) {}, []string{toolGet, toolList}},
		{"no-reveal", func(o *options) { o.noReveal = true }, []string{toolList}},
		{"allow-exec", func(o *options) { o.allowExec = []string{"sh"} }, []string{toolGet, toolList, toolRun}},
		{"bind", func(o *options) { o.binds = []string{"stripe/*=api.stripe.com"}; o.noReveal = true }, []string{toolHTTP, toolList}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := base
			c.edit(&o)
			cs, _, _ := connect(t, &o, nil)
			tools := toolsOf(t, cs)
			var names []string
			for n := range tools {
				names = append(names, n)
			}
			slices.Sort(names)
			if want := slices.Sorted(slices.Values(c.want)); !slices.Equal(names, want) {
				t.Fatalf("tools %v, want %v", names, want)
			}
			for _, n := range []string{toolRun, toolHTTP} {
				tool := tools[n]
				if tool == nil {
					continue
				}
				a := tool.Annotations
				if a == nil || a.ReadOnlyHint || a.OpenWorldHint == nil || !*a.OpenWorldHint {
					t.Errorf("%s: annotations %+v claim a read-only or closed-world tool", n, a)
				}
			}
			instr := cs.InitializeResult().Instructions
			if strings.Contains(instr, toolGet) != !o.noReveal {
				t.Errorf("instructions %q do not match --no-reveal=%v", instr, o.noReveal)
			}
		})
	}
}

// readAudit returns the audit lines.
func readAudit(t *testing.T, path string) []auditEntry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditEntry
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var e auditEntry
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

func TestRunToolMasksAndAudits(t *testing.T) {
	tab := loadTable(t)
	logPath := filepath.Join(t.TempDir(), "audit.jsonl")
	o := &options{repo: tab.VaultDir(), key: fixtureKey(tab, "billing"), noPull: true, noReveal: true,
		allowExec: []string{"sh"}, auditLog: logPath}
	cs, _, stderr := connect(t, o, nil)
	script := `printf 'key=%s\n' "$K"; printf '%s' "$W" >&2; exit 3`
	res := call(t, cs, toolRun, map[string]any{"command": []string{"sh", "-c", script},
		"env": map[string]string{"K": "stripe/api-key", "W": "stripe/webhook-secret"}})
	if res.IsError {
		t.Fatal(clitest.ResultText(res))
	}
	var out runOutput
	if err := json.Unmarshal([]byte(clitest.ResultText(res)), &out); err != nil {
		t.Fatal(err)
	}
	if out.ExitCode != 3 || out.Stdout != "key=<agent-vault:stripe/api-key>\n" || out.Stderr != "<agent-vault:stripe/webhook-secret>" {
		t.Fatalf("got %+v", out)
	}
	values := fixtureValues(t, tab)
	assertNoValues(t, "the run result", resultJSON(t, res), values)
	data, _ := os.ReadFile(logPath)
	assertNoValues(t, "the audit log", data, values)
	assertNoValues(t, "stderr", []byte(stderr.String()), values)
	entries := readAudit(t, logPath)
	last := entries[len(entries)-1]
	if last.Tool != toolRun || last.Program != "sh" || last.Outcome != "ok" || last.ExitCode == nil || *last.ExitCode != 3 ||
		!slices.Equal(last.Secrets, []string{"stripe/api-key", "stripe/webhook-secret"}) || last.Identity != "billing" {
		t.Fatalf("audit entry %+v", last)
	}
}

func TestRunToolRefusesBeforeRunning(t *testing.T) {
	tab := loadTable(t)
	logPath := filepath.Join(t.TempDir(), "audit.jsonl")
	dir := t.TempDir()
	o := &options{repo: tab.VaultDir(), key: fixtureKey(tab, "billing"), noPull: true, allowExec: []string{"touch", "/bin/sh"},
		allow: []string{"stripe/*", "certs/*"}, auditLog: logPath}
	cs, _, _ := connect(t, o, nil)
	marker := filepath.Join(dir, "ran")
	cases := []struct {
		name string
		args map[string]any
		code string
	}{
		{"program not allowed", map[string]any{"command": []string{"rm", marker}}, "not_authorized"},
		{"path that ends in an allowed name", map[string]any{"command": []string{"/usr/bin/touch", marker}}, "not_authorized"},
		{"relative path", map[string]any{"command": []string{"./touch", marker}}, "not_authorized"},
		{"bare name of an allowed path", map[string]any{"command": []string{"sh", "-c", "touch " + marker}}, "not_authorized"},
		{"empty command", map[string]any{"command": []string{}}, "invalid_input"},
		{"refused name", map[string]any{"command": []string{"touch", marker}, "env": map[string]string{"LD_PRELOAD": "stripe/api-key"}}, "invalid_input"},
		{"key variable", map[string]any{"command": []string{"touch", marker}, "env": map[string]string{"AGENT_VAULT_KEY": "stripe/api-key"}}, "invalid_input"},
		{"ungranted secret", map[string]any{"command": []string{"touch", marker}, "env": map[string]string{"K": "stripe/api-key", "C": "certs/tls-chain"}}, "not_authorized"},
		{"outside --allow", map[string]any{"command": []string{"touch", marker}, "env": map[string]string{"P": "postgres/conn"}}, "not_authorized"},
		{"missing secret", map[string]any{"command": []string{"touch", marker}, "env": map[string]string{"M": "stripe/missing"}}, "secret_not_found"},
	}
	for _, c := range cases {
		res := call(t, cs, toolRun, c.args)
		if !res.IsError || !strings.HasPrefix(clitest.ResultText(res), c.code+": ") || !strings.Contains(clitest.ResultText(res), "hint: ") {
			t.Errorf("%s: got %q", c.name, clitest.ResultText(res))
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%s: the program ran", c.name)
		}
	}
	entries := readAudit(t, logPath)
	if len(entries) != len(cases) {
		t.Fatalf("%d audit lines for %d calls", len(entries), len(cases))
	}
	if entries[0].Program != "rm" || entries[0].Outcome != "not_authorized" {
		t.Errorf("refusal not audited: %+v", entries[0])
	}
	// The allowed absolute path runs.
	res := call(t, cs, toolRun, map[string]any{"command": []string{"/bin/sh", "-c", "touch " + marker}})
	if res.IsError {
		t.Fatal(clitest.ResultText(res))
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the allowed program did not run")
	}
}

func TestRunToolLimits(t *testing.T) {
	tab := loadTable(t)
	o := &options{repo: tab.VaultDir(), key: fixtureKey(tab, "billing"), noPull: true, allowExec: []string{"sh"}, timeout: 200 * time.Millisecond}
	cs, _, _ := connect(t, o, nil)
	var out runOutput
	res := call(t, cs, toolRun, map[string]any{"command": []string{"sh", "-c", "echo started; exec sleep 1000"}})
	if err := json.Unmarshal([]byte(clitest.ResultText(res)), &out); err != nil || res.IsError {
		t.Fatalf("%v %s", err, clitest.ResultText(res))
	}
	if !out.TimedOut || out.ExitCode != 137 || out.Stdout != "started\n" {
		t.Fatalf("time limit: %+v", out)
	}
	res = call(t, cs, toolRun, map[string]any{"command": []string{"sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x"}})
	if err := json.Unmarshal([]byte(clitest.ResultText(res)), &out); err != nil || res.IsError {
		t.Fatalf("%v %s", err, clitest.ResultText(res))
	}
	if !out.StdoutTruncated || len(out.Stdout) != maxOutput || out.ExitCode != 0 {
		t.Fatalf("cap: %d bytes, truncated %v", len(out.Stdout), out.StdoutTruncated)
	}
}

// recorder is an HTTP server that remembers what it was sent.
type recorder struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
	srv      *httptest.Server
}

func newRecorder(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) *recorder {
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		b.ReadFrom(r.Body)
		rec.mu.Lock()
		rec.requests = append(rec.requests, r)
		rec.bodies = append(rec.bodies, b.String())
		rec.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

func (r *recorder) host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

func TestHTTPToolSendsOnlyToBoundHosts(t *testing.T) {
	tab := loadTable(t)
	apiKey := fixtureValue(t, tab, fixtureKey(tab, "owner"), "stripe/api-key")
	// The bound host echoes the header back in a header and the body.
	other := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	bound := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, other.srv.URL+"/stolen", http.StatusFound)
			return
		}
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		w.WriteHeader(201)
		w.Write([]byte("you sent " + r.Header.Get("Authorization")))
	})
	logPath := filepath.Join(t.TempDir(), "audit.jsonl")
	o := &options{repo: tab.VaultDir(), key: fixtureKey(tab, "billing"), noPull: true, noReveal: true, auditLog: logPath,
		binds: []string{"stripe/api-key=http://" + bound.host()}}
	cs, _, stderr := connect(t, o, nil)
	values := fixtureValues(t, tab)

	res := call(t, cs, toolHTTP, map[string]any{"method": "POST", "url": bound.srv.URL + "/v1/charges",
		"headers": map[string]string{"Authorization": "Bearer {{stripe/api-key}}"}, "body": "key={{ stripe/api-key }}&amount=1"})
	if res.IsError {
		t.Fatal(clitest.ResultText(res))
	}
	if bound.count() != 1 || bound.requests[0].Header.Get("Authorization") != "Bearer "+apiKey || bound.bodies[0] != "key="+apiKey+"&amount=1" {
		t.Fatalf("the bound host did not get the secret: %v %q", bound.requests[0].Header, bound.bodies[0])
	}
	var out httpOutput
	if err := json.Unmarshal([]byte(clitest.ResultText(res)), &out); err != nil {
		t.Fatal(err)
	}
	if out.Status != 201 || out.Body != "you sent Bearer <agent-vault:stripe/api-key>" || out.Headers["X-Echo"] != "Bearer <agent-vault:stripe/api-key>" {
		t.Fatalf("result %+v", out)
	}
	assertNoValues(t, "the http result", resultJSON(t, res), values)

	refused := []struct {
		name string
		args map[string]any
		code string
	}{
		{"unbound host", map[string]any{"method": "GET", "url": other.srv.URL + "/x",
			"headers": map[string]string{"Authorization": "Bearer {{stripe/api-key}}"}}, "not_authorized"},
		{"unbound host without secrets", map[string]any{"method": "GET", "url": other.srv.URL + "/x"}, "not_authorized"},
		{"secret not bound to the host", map[string]any{"method": "POST", "url": bound.srv.URL + "/x",
			"body": "{{stripe/webhook-secret}}"}, "not_authorized"},
		{"https for an http bind", map[string]any{"method": "GET", "url": "https://" + bound.host() + "/x"}, "not_authorized"},
		{"placeholder in the url", map[string]any{"method": "GET", "url": bound.srv.URL + "/?k={{stripe/api-key}}"}, "invalid_input"},
		{"host header", map[string]any{"method": "GET", "url": bound.srv.URL + "/x", "headers": map[string]string{"Host": other.host()}}, "invalid_input"},
		{"bad method", map[string]any{"method": "TRACE", "url": bound.srv.URL + "/x"}, "invalid_input"},
		{"bad placeholder", map[string]any{"method": "GET", "url": bound.srv.URL + "/x", "body": "{{../x}}"}, "invalid_input"},
	}
	for _, c := range refused {
		res := call(t, cs, toolHTTP, c.args)
		if !res.IsError || !strings.HasPrefix(clitest.ResultText(res), c.code+": ") {
			t.Errorf("%s: got %q", c.name, clitest.ResultText(res))
		}
	}
	if other.count() != 0 || bound.count() != 1 {
		t.Fatalf("refused requests were sent: other %d, bound %d", other.count(), bound.count())
	}

	// A redirect to another host is returned, not followed.
	res = call(t, cs, toolHTTP, map[string]any{"method": "GET", "url": bound.srv.URL + "/redirect",
		"headers": map[string]string{"Authorization": "Bearer {{stripe/api-key}}"}})
	if err := json.Unmarshal([]byte(clitest.ResultText(res)), &out); err != nil || res.IsError {
		t.Fatalf("%v %s", err, clitest.ResultText(res))
	}
	if out.Status != http.StatusFound || !strings.HasSuffix(out.Headers["Location"], "/stolen") || other.count() != 0 {
		t.Fatalf("redirect: %+v, other host got %d requests", out, other.count())
	}

	data, _ := os.ReadFile(logPath)
	assertNoValues(t, "the audit log", data, values)
	assertNoValues(t, "stderr", []byte(stderr.String()), values)
	entries := readAudit(t, logPath)
	if len(entries) != 2+len(refused) {
		t.Fatalf("%d audit lines", len(entries))
	}
	first, unbound := entries[0], entries[1]
	if first.Tool != toolHTTP || first.Host != bound.host() || first.Status != 201 || first.Outcome != "ok" ||
		!slices.Equal(first.Secrets, []string{"stripe/api-key"}) {
		t.Errorf("audit entry %+v", first)
	}
	if unbound.Host != other.host() || unbound.Outcome != "not_authorized" {
		t.Errorf("refusal audit entry %+v", unbound)
	}
}

func TestBindFlags(t *testing.T) {
	good := map[string]bind{
		"stripe/*=api.stripe.com":           {"stripe/*", "https", "api.stripe.com", "443"},
		"stripe/*=API.Stripe.com:8443":      {"stripe/*", "https", "api.stripe.com", "8443"},
		"local/*=http://127.0.0.1:8080":     {"local/*", "http", "127.0.0.1", "8080"},
		"v6/*=https://[::1]:9":              {"v6/*", "https", "::1", "9"},
		"plain/key=http://internal.example": {"plain/key", "http", "internal.example", "80"},
	}
	for in, want := range good {
		l, err := newBindList([]string{in})
		if err != nil || len(l) != 1 || l[0] != want {
			t.Errorf("%s: %v %+v", in, err, l)
		}
	}
	for _, in := range []string{"stripe/*", "=host", "[=host", "stripe/*=ftp://host", "stripe/*=host/path", "stripe/*=user@host", "stripe/*="} {
		if _, err := newBindList([]string{in}); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
	for _, in := range []string{"./deploy", "bin/deploy", "/usr/bin/../bin/sh", ""} {
		if _, err := newExecList([]string{in}); err == nil {
			t.Errorf("--allow-exec %q accepted", in)
		}
	}
}
