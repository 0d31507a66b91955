package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

func TestServerAdvertisesTools(t *testing.T) {
	tab := loadTable(t)
	cs, _, _ := connect(t, &options{repo: tab.VaultDir(), key: fixtureKey(tab, "billing"), noPull: true}, nil)
	info := cs.InitializeResult().ServerInfo
	if info.Name != "agent-vault" || info.Version != core.Version {
		t.Errorf("server info %+v, want agent-vault %s", info, core.Version)
	}
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*mcp.Tool{}
	for _, tool := range res.Tools {
		byName[tool.Name] = tool
	}
	if len(byName) != 2 || byName[toolGet] == nil || byName[toolList] == nil {
		t.Fatalf("tools: %v", byName)
	}
	for name, wantRequired := range map[string][]string{toolGet: {"secret"}, toolList: nil} {
		tool := byName[name]
		if tool.Description == "" || tool.Annotations == nil || !tool.Annotations.ReadOnlyHint {
			t.Errorf("%s: missing description or read-only annotation", name)
		}
		schema, _ := json.Marshal(tool.InputSchema)
		var s struct {
			Properties map[string]struct {
				Description string `json:"description"`
			} `json:"properties"`
			Required []string `json:"required"`
		}
		if err := json.Unmarshal(schema, &s); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.Required, wantRequired) {
			t.Errorf("%s: required %v, want %v", name, s.Required, wantRequired)
		}
		for prop, p := range s.Properties {
			if p.Description == "" {
				t.Errorf("%s: property %s has no description", name, prop)
			}
		}
	}
}

// readable returns, by trying every listed secret, the ones key decrypts:
// an oracle independent of the metadata the list tool filters on.
func readable(t *testing.T, dir, keyPath string) []string {
	t.Helper()
	v, err := core.Open(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	id, err := core.LoadIdentity(core.KeySpec{Path: keyPath}, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	metas, err := v.List("")
	if err != nil {
		t.Fatal(err)
	}
	sess := v.WithIdentity(id)
	out := []string{}
	for _, m := range metas {
		if _, err := sess.Get(m.Name); err == nil {
			out = append(out, m.Name)
		}
	}
	return out
}

func TestListShowsWhatTheKeyCanRead(t *testing.T) {
	tab := loadTable(t)
	for _, key := range []string{"owner", "billing", "deploy", "revoked", "lost", "reader", "removed"} {
		t.Run(key, func(t *testing.T) {
			cs, _, _ := connect(t, &options{repo: tab.VaultDir(), key: fixtureKey(tab, key), noPull: true}, nil)
			res := call(t, cs, toolList, nil)
			if res.IsError {
				t.Fatal(clitest.ResultText(res))
			}
			var out listOutput
			if err := json.Unmarshal([]byte(clitest.ResultText(res)), &out); err != nil {
				t.Fatal(err)
			}
			structured, _ := json.Marshal(res.StructuredContent)
			if !bytes.Equal(bytes.TrimSpace(structured), bytes.TrimSpace([]byte(clitest.ResultText(res)))) {
				t.Errorf("structured content differs from the text:\n%s\n%s", structured, clitest.ResultText(res))
			}
			var names []string
			for _, s := range out.Secrets {
				names = append(names, s.Name)
				if s.Group == "" || s.Rotated == "" {
					t.Errorf("%s: incomplete metadata %+v", s.Name, s)
				}
			}
			if want := readable(t, tab.VaultDir(), fixtureKey(tab, key)); !slices.Equal(append([]string{}, names...), want) {
				t.Errorf("listed %v, but the key reads %v", names, want)
			}
			if strings.Contains(clitest.ResultText(res), "authorized_agents") {
				t.Error("list exposes other agents' names")
			}
		})
	}
}

func TestListReportsExpiry(t *testing.T) {
	tab := loadTable(t)
	cs, _, _ := connect(t, &options{repo: tab.VaultDir(), key: fixtureKey(tab, "owner"), noPull: true}, nil)
	var out listOutput
	if err := json.Unmarshal([]byte(clitest.ResultText(call(t, cs, toolList, map[string]any{"group": "legacy"}))), &out); err != nil {
		t.Fatal(err)
	}
	v, err := core.Open(os.DirFS(tab.VaultDir()))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Secrets) == 0 {
		t.Fatal("no legacy secrets listed")
	}
	for _, s := range out.Secrets {
		m, err := v.Metadata(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if m.Expires == nil {
			if s.Expires != "" {
				t.Errorf("%s: expiry %q invented", s.Name, s.Expires)
			}
			continue
		}
		if s.Expires != m.Expires.UTC().Format("2006-01-02T15:04:05Z07:00") {
			t.Errorf("%s: expires %q, metadata says %v", s.Name, s.Expires, m.Expires)
		}
	}
}

func TestBinaryAndEmptyValues(t *testing.T) {
	tab := loadTable(t)
	dir := tab.VaultDir()
	cs, _, _ := connect(t, &options{repo: dir, key: fixtureKey(tab, "deploy"), noPull: true}, nil)
	want := map[string][]byte{}
	for _, c := range tab.Cases {
		if c.Op == "get" && c.Key == "deploy" && strings.HasPrefix(c.Secret, "blobs/") && c.Expect.ValueB64 != nil {
			want[c.Secret] = nil
		}
	}
	if len(want) < 2 {
		t.Fatal("the table lost its blob cases")
	}
	id, err := core.LoadIdentity(core.KeySpec{Path: fixtureKey(tab, "deploy")}, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	v, err := core.Open(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	for secret := range want {
		direct, err := v.WithIdentity(id).Get(secret)
		if err != nil {
			t.Fatal(err)
		}
		res := call(t, cs, toolGet, map[string]any{"secret": secret})
		got, err := resultValue(res)
		if err != nil {
			t.Fatalf("%s: %v", secret, err)
		}
		if !bytes.Equal(got, direct) {
			t.Errorf("%s: got %d bytes, want %d", secret, len(got), len(direct))
		}
		// Text that is not UTF-8 would be mangled by JSON, so it must come as a blob.
		if _, isBlob := res.Content[len(res.Content)-1].(*mcp.EmbeddedResource); isBlob != !utf8.Valid(direct) {
			t.Errorf("%s: blob %v for a value that is UTF-8 %v", secret, isBlob, utf8.Valid(direct))
		}
	}
}

func TestUnknownKeyReadsNothing(t *testing.T) {
	tab := loadTable(t)
	cs, _, stderr := connect(t, &options{repo: tab.VaultDir(), key: fixtureKey(tab, "removed"), noPull: true}, nil)
	if !strings.Contains(stderr.String(), "not an agent of the vault") {
		t.Errorf("no warning about the unknown key: %q", stderr.String())
	}
	res := call(t, cs, toolGet, map[string]any{"secret": "stripe/api-key"})
	if !res.IsError || !strings.HasPrefix(clitest.ResultText(res), "not_authorized: ") || !strings.Contains(clitest.ResultText(res), "hint: ") {
		t.Errorf("got %q", clitest.ResultText(res))
	}
}
