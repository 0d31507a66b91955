package mcpserver

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/agent-vault/agent-vault/internal/clitest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAuditLogRecordsCallsWithoutValues(t *testing.T) {
	tab := loadTable(t)
	logPath := filepath.Join(t.TempDir(), "audit.jsonl")
	// An existing line must survive: the log is appended to, not replaced.
	if err := os.WriteFile(logPath, []byte(`{"earlier":true}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &options{repo: tab.VaultDir(), key: fixtureKey(tab, "billing"), noPull: true, auditLog: logPath, allow: []string{"stripe/*", "postgres/*", "certs/*"}}
	cs, _, _ := connect(t, o, nil)

	call(t, cs, toolGet, map[string]any{"secret": "stripe/api-key"})
	call(t, cs, toolGet, map[string]any{"secret": "certs/tls-chain"})
	call(t, cs, toolGet, map[string]any{"secret": "blobs/binary"})
	call(t, cs, toolList, map[string]any{"group": "stripe"})
	// A model pasting a value where a path belongs must not get it logged.
	call(t, cs, toolGet, map[string]any{"secret": "sk live value with spaces"})
	call(t, cs, toolGet, map[string]any{"secret": "postgres/conn"})

	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range fixtureValues(t, tab) {
		for _, form := range [][]byte{v, []byte(base64.StdEncoding.EncodeToString(v))} {
			if bytes.Contains(data, form) {
				t.Fatalf("audit log contains a secret value")
			}
		}
	}
	if bytes.Contains(data, []byte("sk live value")) {
		t.Fatalf("audit log contains a malformed argument")
	}

	var got []auditEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Scan()
	if sc.Text() != `{"earlier":true}` {
		t.Fatalf("the existing first line was lost: %q", sc.Text())
	}
	for sc.Scan() {
		var e auditEntry
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("bad audit line %q: %v", sc.Text(), err)
		}
		if ts, err := time.Parse(time.RFC3339Nano, e.Time); err != nil || time.Since(ts) > time.Hour {
			t.Errorf("bad time %q", e.Time)
		}
		if e.Identity != "billing" {
			t.Errorf("identity %q, want billing", e.Identity)
		}
		e.Time, e.Identity = "", ""
		got = append(got, e)
	}
	want := []auditEntry{
		{Tool: toolGet, Secret: "stripe/api-key", Outcome: "ok"},
		{Tool: toolGet, Secret: "certs/tls-chain", Outcome: "not_authorized"},
		{Tool: toolGet, Secret: "blobs/binary", Outcome: "not_authorized"},
		{Tool: toolList, Group: "stripe", Outcome: "ok"},
		{Tool: toolGet, Outcome: "invalid_input"},
		{Tool: toolGet, Secret: "postgres/conn", Outcome: "ok"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d:\n%s", len(got), len(want), data)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	fi, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestAuditLogCreatedPrivate(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "new.jsonl")
	l, err := openAuditLog(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.record(auditEntry{Tool: toolList, Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new audit log mode %v, want 0600", fi.Mode().Perm())
	}
}

// failingWriter stands in for a full disk.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }
func (failingWriter) Close() error              { return nil }

// TestAuditFailureWithholdsValue checks the fail-closed rule: a read that
// cannot be audited returns an error, not the value.
func TestAuditFailureWithholdsValue(t *testing.T) {
	tab := loadTable(t)
	_, s, _ := connect(t, &options{repo: tab.VaultDir(), key: fixtureKey(tab, "billing"), noPull: true}, nil)
	s.audit = &auditLog{w: failingWriter{}, now: time.Now}
	cs := connectServer(t, s)
	res := call(t, cs, toolGet, map[string]any{"secret": "stripe/api-key"})
	if !res.IsError || !strings.HasPrefix(clitest.ResultText(res), "internal: ") || !strings.Contains(clitest.ResultText(res), "--audit-log") {
		t.Fatalf("want an internal error naming the audit log, got %q", clitest.ResultText(res))
	}
	for _, v := range fixtureValues(t, tab) {
		if strings.Contains(clitest.ResultText(res), string(v)) {
			t.Fatal("the value was returned although auditing failed")
		}
	}
}
