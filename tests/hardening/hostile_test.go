package hardening

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/internal/clitest"
	"github.com/agent-vault/agent-vault/internal/wasmtest"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

// hostileBase is the fixture every hostile case copies: a small vault
// (agents bot and bot2; groups app and misc) plus the decoy vault outside
// it, encrypted to the same owner so that a followed link would decrypt.
type hostileBase struct {
	e       *clitest.Env
	markers []string
}

func newHostileBase(t *testing.T) *hostileBase {
	f := buildVault(t, layout{agents: []string{"bot", "bot2"},
		grants: map[string][]string{"bot": {"app"}, "bot2": {"misc"}},
		groups: []string{"app", "misc"}, perGroup: 2, valueSize: 16})
	marker := token("OUTSIDE-MARKER")
	decoyAgent := token("decoy")
	ov := filepath.Join(filepath.Dir(f.e.Repo), "outside", "ov", core.DirName)
	if err := os.MkdirAll(ov, 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(ov)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	w := fastFS{root: root, FS: root.FS()}
	owner := ownerIdentity(t, f.e)
	if err := core.InitSigned(w, "decoy-owner", owner); err != nil {
		t.Fatal(err)
	}
	ed, err := core.Edit(w, core.EditOptions{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	key, pub, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := ed.AddAgent(decoyAgent, key); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"app/s0000", "app/s0001"} {
		if err := ed.Set(s, []byte(marker), core.SetOptions{Agents: []string{decoyAgent}}); err != nil {
			t.Fatal(err)
		}
	}
	hostname, _ := os.ReadFile("/etc/hostname")
	markers := []string{marker, decoyAgent, pub}
	if h := strings.TrimSpace(string(hostname)); len(h) >= 6 {
		markers = append(markers, h)
	}
	return &hostileBase{e: f.e, markers: markers}
}

// prepare copies the base and applies one case's damage.
func (b *hostileBase) prepare(t *testing.T, c hostileCase) *hostileEnv {
	e := copyEnv(t, b.e)
	base := filepath.Dir(e.Repo)
	h := &hostileEnv{e: e, vault: filepath.Join(e.Repo, core.DirName), outside: filepath.Join(base, "outside"),
		ov: filepath.Join(base, "outside", "ov", core.DirName)}
	c.setup(t, h)
	return h
}

// accepted is a setup after which the owner accepts what was planted with
// seal, so the case tests how that content itself is parsed and printed,
// not only that an unsigned change is refused (tests/cli/signed_test.go
// does that).
func accepted(setup func(t *testing.T, h *hostileEnv)) func(t *testing.T, h *hostileEnv) {
	return func(t *testing.T, h *hostileEnv) {
		setup(t, h)
		if r := result(t, command(h.e, nil, nil, "seal", "--yes")); r.Code != 0 {
			t.Fatalf("seal: exit %d\n%s", r.Code, r.Stderr)
		}
	}
}

// decoyAgent names the agent of the decoy vault.
func (h *hostileEnv) decoyAgent(t *testing.T) string {
	entries, err := os.ReadDir(filepath.Join(h.ov, "agents"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("decoy vault agents: %v", err)
	}
	return entries[0].Name()
}

// outsideSnapshot covers everything except the damaged vault itself (and
// Git's own bookkeeping): HOME, the decoy, the rest of the work tree.
func (h *hostileEnv) outsideSnapshot(t *testing.T) map[string]string {
	// The highest signed version seen is agent-vault's own record, kept in
	// the key directory on purpose.
	return snapshot(t, filepath.Dir(h.e.Repo), filepath.Join("repo", core.DirName), filepath.Join("repo", ".git"),
		filepath.Join("home", core.DirName, "seen"))
}

func (h *hostileEnv) expand(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if rest, ok := strings.CutPrefix(a, "@outside/"); ok {
			out[i] = filepath.Join(h.outside, rest)
		}
	}
	return out
}

// TestHostileContentCLI runs every hostile case through the CLI: each
// command gets a clear error with the README's exit code, never a panic or
// hang, never prints anything from outside the vault, and never changes
// anything outside it (docs/architecture.md §7.3 and §7.6).
func TestHostileContentCLI(t *testing.T) {
	base := newHostileBase(t)
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range c.probes {
				// A fresh copy per probe: a refused write may leave a
				// journal behind, which would colour the next probe.
				h := base.prepare(t, c)
				before := h.outsideSnapshot(t)
				args := h.expand(p.args)
				if p.finding != "" {
					args = append(args, "--json")
				}
				r := result(t, command(h.e, nil, nil, args...))
				what := strings.Join(p.args, " ")
				noCrashOutput(t, what, r)
				noControlOutput(t, what, r)
				for _, m := range base.markers {
					if strings.Contains(r.Stdout+r.Stderr, m) {
						t.Errorf("%s printed content from outside the vault", what)
					}
				}
				switch {
				case p.finding != "":
					var rep checkReport
					if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || r.Code != exitCheckFailed {
						t.Errorf("%s: exit %d, want %d with findings\n%s%s", what, r.Code, exitCheckFailed, r.Stdout, r.Stderr)
					} else if !hasFinding(rep.Findings, p.finding) {
						t.Errorf("%s: no %s error among %v", what, p.finding, rep.errorKinds())
					}
				case p.code == "":
					if r.Code != 0 {
						t.Errorf("%s: exit %d, want success\n%s", what, r.Code, r.Stderr)
					}
				default:
					if r.Code != exitCodes[p.code] {
						t.Errorf("%s: exit %d, want %d (%s)\n%s", what, r.Code, exitCodes[p.code], p.code, r.Stderr)
					}
					if !strings.HasPrefix(r.Stderr, "agent-vault: error: ") {
						t.Errorf("%s: stderr %q is not a clear error", what, r.Stderr)
					}
				}
				if err := sameSnapshot(before, h.outsideSnapshot(t)); err != nil {
					t.Fatalf("%s touched a file outside the vault: %v", what, err)
				}
			}
		})
	}
}

func hasFinding(fs []core.Finding, kind string) bool {
	return slices.ContainsFunc(fs, func(f core.Finding) bool {
		return f.Severity == core.SeverityError && (kind == "*" || f.Kind == kind)
	})
}

// TestHostileContentWasm runs the read probes of every hostile case through
// the WebAssembly module under wazero, which follows symlinks in its
// read-only mount: core must refuse them itself. Bindings (Python, Node,
// browser) must run the same cases against their own file access.
func TestHostileContentWasm(t *testing.T) {
	ctx := ctxTimeout(t)
	rt, err := wasmtest.Runtime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	base := newHostileBase(t)
	ran := 0
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			// Reads change nothing, so the probes share one copy.
			h := base.prepare(t, c)
			before := h.outsideSnapshot(t)
			for _, p := range c.probes {
				if p.cliOnly || !(p.args[0] == "get" && len(p.args) == 2 ||
					slices.Contains([]string{"list", "list-agents", "check"}, p.args[0]) && len(p.args) == 1) {
					continue // writes and flags exist in the CLI only
				}
				ran++
				want := p.code
				if p.wasmCode != "" {
					want = p.wasmCode
				}
				what := strings.Join(p.args, " ")
				var out []byte
				var findings []core.Finding
				v, err := rt.OpenVault(ctx, abi.Request{Repo: h.e.Repo, Key: core.KeySpec{Path: h.e.OwnerKey()}})
				if err == nil {
					switch p.args[0] {
					case "get":
						out, err = v.Get(ctx, p.args[1])
					case "list":
						var ms []*core.Metadata
						ms, err = v.List(ctx, "", true)
						out, _ = json.Marshal(ms)
					case "list-agents":
						var pol *reader.Policy
						if pol, err = v.Agents(ctx); err == nil {
							out, _ = json.Marshal(pol.Agents)
						}
					case "check":
						findings, err = v.Check(ctx, "")
						out, _ = json.Marshal(findings)
					}
					v.Close(ctx)
				}
				if err != nil {
					out = append(out, err.Error()...)
				}
				noTerminalControls(t, what, "the module's answer", string(out))
				for _, m := range base.markers {
					if strings.Contains(string(out), m) {
						t.Errorf("%s returned content from outside the vault", what)
					}
				}
				switch {
				case p.finding != "":
					if err != nil || !hasFinding(findings, p.finding) {
						t.Errorf("%s: error %v, findings %v; want a %s error", what, err, findings, p.finding)
					}
				case want == "":
					if err != nil {
						t.Errorf("%s: %v, want success", what, err)
					}
				case core.CodeOf(err) != want:
					t.Errorf("%s: got %v (%s), want %s", what, err, core.CodeOf(err), want)
				}
				if err := sameSnapshot(before, h.outsideSnapshot(t)); err != nil {
					t.Fatalf("%s touched a file outside the vault: %v", what, err)
				}
			}
		})
	}
	if ran < 30 {
		t.Errorf("only %d probes ran through the module", ran)
	}
}
