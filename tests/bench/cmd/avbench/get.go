//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/wasmhost"
	"github.com/agent-vault/agent-vault/tests/bench"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

// agentCounts are the recipients of the get benchmarks: n agents plus the
// owner on one secret, read by the last agent (the worst case for trying
// stanzas in order).
var agentCounts = []int{1, 10, 100}

// getVault is one vault of the get and cold-start sections.
type getVault struct {
	n      int
	v      *bench.Vault
	home   string
	key    string // the last agent's key file
	secret string
	value  []byte
}

func (g *getVault) label() string { return fmt.Sprintf("agents=%d", g.n) }

var getVaults []*getVault

// vaults builds (once) the vaults with 1, 10 and 100 agents.
func (c *config) vaults() ([]*getVault, error) {
	if getVaults != nil {
		return getVaults, nil
	}
	for _, n := range agentCounts {
		dir := filepath.Join(c.tmp, fmt.Sprintf("get-%d", n))
		v, err := bench.Make(filepath.Join(dir, "repo"), bench.Spec{Agents: n, Secrets: 1, Size: 32, Git: true})
		if err != nil {
			return nil, err
		}
		home := filepath.Join(dir, "home")
		if err := v.WriteKeys(home); err != nil {
			return nil, err
		}
		value, err := core.Open(os.DirFS(v.Repo))
		if err != nil {
			return nil, err
		}
		owner, _ := core.ParseIdentity(v.OwnerKey)
		pt, err := value.WithIdentity(owner).Get(v.Secrets[0])
		if err != nil {
			return nil, err
		}
		last := v.Agents[n-1]
		getVaults = append(getVaults, &getVault{n: n, v: v, home: home, key: core.AgentKeyPath(home, last), secret: v.Secrets[0], value: pt})
	}
	return getVaults, nil
}

func sectionGet(c *config, r *report) error {
	vs, err := c.vaults()
	if err != nil {
		return err
	}
	ctx := context.Background()
	wasm, err := wasmhost.ReadModule(filepath.Join(c.root, "build", "agent_vault.wasm"))
	if err != nil {
		return err
	}
	rt, err := wasmhost.NewRuntime(ctx, wasm, wasmhost.Config{})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)

	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	cases := []bench.Case{{Name: "floor", Run: func() error { _, err := priv.ECDH(peer.PublicKey()); return err }}}
	for _, g := range vs {
		key, err := os.ReadFile(g.key)
		if err != nil {
			return err
		}
		id, err := core.ParseIdentity(key)
		if err != nil {
			return err
		}
		vault, err := core.Open(os.DirFS(g.v.Repo))
		if err != nil {
			return err
		}
		s := vault.WithIdentity(id)
		wv, err := rt.OpenVault(ctx, abi.Request{Repo: g.v.Repo, Key: core.KeySpec{Path: g.key}})
		if err != nil {
			return err
		}
		defer wv.Close(ctx)
		ids, err := age.ParseIdentities(bytes.NewReader(key))
		if err != nil {
			return err
		}
		enc := filepath.Join(g.v.Repo, core.DirName, "secrets", g.secret+".enc")
		want := g.value
		check := func(pt []byte, err error) error {
			if err == nil && !bytes.Equal(pt, want) {
				err = fmt.Errorf("wrong value")
			}
			return err
		}
		cases = append(cases,
			bench.Case{Name: "native/" + g.label(), Run: func() error { return check(s.Get(g.secret)) }},
			bench.Case{Name: "wazero/" + g.label(), Run: func() error { return check(wv.Get(ctx, g.secret)) }},
			// What age.Decrypt does per stanza besides the unwrap: parse the
			// header and encode it again (for the MAC). ExtractHeader does
			// just that.
			bench.Case{Name: "header/" + g.label(), Run: func() error {
				ct, err := os.ReadFile(enc)
				if err == nil {
					_, err = age.ExtractHeader(bytes.NewReader(ct))
				}
				return err
			}},
			bench.Case{Name: "age-all/" + g.label(), Run: func() error {
				ct, err := os.ReadFile(enc)
				if err != nil {
					return err
				}
				rd, err := age.Decrypt(bytes.NewReader(ct), ids...)
				if err != nil {
					return err
				}
				var out bytes.Buffer
				_, err = out.ReadFrom(rd)
				return check(out.Bytes(), err)
			}},
		)
	}
	rounds, per := 9, 150*time.Millisecond
	if c.quick {
		rounds, per = 3, 30*time.Millisecond
	}
	progress("in-process gets: %d rounds", rounds)
	res, err := bench.Interleave(cases, rounds, per)
	if err != nil {
		return err
	}
	times := map[string]time.Duration{}
	for k, v := range res {
		times[k] = v.Median
	}
	floor := times["floor"]

	r.printf("\n## 1. Get latency against the number of recipients\n\n")
	r.printf("One secret shared by n agents plus the owner, read by the last agent. In-process figures are medians of %d interleaved rounds; "+
		"\"try every stanza\" is plain age (Go), pyrage (Python) or age-encryption (Node) given the same key, the original SDKs' approach. "+
		"The floor is one native X25519 scalar multiplication: %s in this run.\n", rounds, dur(floor))
	rows := [][]string{}
	addRow := func(path, ours, naive string, t map[string]time.Duration, floor time.Duration) {
		mine := naive != "" // the try-every-stanza baselines have no target
		one, ten, hundred := t[ours+"/agents=1"], t[ours+"/agents=10"], t[ours+"/agents=100"]
		row := []string{path, dur(one), dur(ten), dur(hundred), ratio(bench.Ratio(hundred, one))}
		if naive != "" {
			row = append(row, ratio(bench.Ratio(t[naive+"/agents=100"], hundred)))
		} else {
			row = append(row, "-")
		}
		if floor > 0 {
			row = append(row, fmt.Sprintf("%.1f", bench.Ratio(one, floor)))
		} else {
			row = append(row, "-")
		}
		rows = append(rows, row)
		if !mine {
			return
		}
		r.target(bench.Ratio(hundred, one) <= 1.5, "%s: a 100-agent get costs %s a 1-agent get (target ≤ 1.5×)", path, ratio(bench.Ratio(hundred, one)))
	}
	addRow("Go native (core)", "native", "age-all", times, floor)
	addRow("Go via wazero (the .wasm)", "wazero", "age-all", times, 0)
	addRow("Go plain age, try every stanza", "age-all", "", times, floor)
	for _, lang := range []struct{ name, ours, naive string }{
		{"python", "agent_vault", "pyrage"}, {"node", "agent-vault", "age-encryption"},
	} {
		t, err := c.warm(lang.name, vs)
		if err != nil {
			return err
		}
		if t == nil {
			rows = append(rows, []string{lang.name + ": not measured (no interpreter given)", "", "", "", "", "", ""})
			continue
		}
		addRow(fmt.Sprintf("%s %s (wasm)", lang.name, lang.ours), lang.ours, lang.naive, t, 0)
		addRow(fmt.Sprintf("%s %s, try every stanza", lang.name, lang.naive), lang.naive, "", t, 0)
	}
	r.table([]string{"path", "1 agent", "10 agents", "100 agents", "100 / 1", "try-every-stanza / ours at 100", "1-agent get in floors"}, rows)
	h1, h100 := times["header/agents=1"], times["header/agents=100"]
	g1, g100 := times["native/agents=1"], times["native/agents=100"]
	r.printf("What grows with the agents is age's header work: parsing the header and encoding it again for the MAC "+
		"(`age.ExtractHeader`) costs %s for the 1-agent file and %s for the 100-agent one in this run; that difference is %.0f%% "+
		"of the difference between the native 100-agent and 1-agent gets.\n\n", dur(h1), dur(h100), 100*bench.Ratio(h100-h1, g100-g1))
	r.printf("The CLI, one process per get, is in section 2.\n")
	return nil
}

// warm runs the Python or Node warm-get script over the get vaults and
// returns its medians, or nil when that language was not configured.
func (c *config) warm(lang string, vs []*getVault) (map[string]time.Duration, error) {
	type wcase struct {
		Name   string `json:"name"`
		Repo   string `json:"repo"`
		Key    string `json:"key"`
		Secret string `json:"secret"`
	}
	spec := struct {
		Rounds   int     `json:"rounds"`
		PerRound float64 `json:"per_round"`
		Cases    []wcase `json:"cases"`
	}{Rounds: 9, PerRound: 0.3}
	if c.quick {
		spec.Rounds, spec.PerRound = 3, 0.05
	}
	for _, g := range vs {
		spec.Cases = append(spec.Cases, wcase{g.label(), g.v.Repo, g.key, g.secret})
	}
	js, _ := json.Marshal(spec)
	var cmd *exec.Cmd
	script := filepath.Join(c.root, "tests", "bench", "scripts")
	switch {
	case lang == "python" && c.python != "":
		cmd = exec.Command(c.python, filepath.Join(script, "warm.py"))
	case lang == "node" && c.nodeDir != "":
		code, err := os.ReadFile(filepath.Join(script, "warm.mjs"))
		if err != nil {
			return nil, err
		}
		cmd = exec.Command("node", "--input-type=module", "-e", string(code))
		cmd.Dir = c.nodeDir
	default:
		return nil, nil
	}
	progress("%s warm gets ...", lang)
	cmd.Env = append(cleanEnv(vs[0].home), "BENCH_SPEC="+string(js))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s warm gets: %v\n%s", lang, err, stderr.String())
	}
	var secs map[string]float64
	if err := json.Unmarshal(out, &secs); err != nil {
		return nil, fmt.Errorf("%s warm gets: %v: %q", lang, err, out)
	}
	t := map[string]time.Duration{}
	for k, s := range secs {
		t[k] = time.Duration(s * 1e9)
	}
	return t, nil
}

// cleanEnv is the environment for benchmark processes: this one's, with
// home as HOME and no key from the caller's environment.
func cleanEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !bytes.HasPrefix([]byte(kv), []byte("HOME=")) && !bytes.HasPrefix([]byte(kv), []byte(core.KeyEnv+"=")) {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+home)
}
