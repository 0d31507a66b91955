//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"time"

	"github.com/agent-vault/agent-vault/tests/bench"
)

// Cold-start programs: each is a fresh process that prints one secret and
// exits. Arguments: repository, key file, secret.
const (
	pyOurs = `import sys
from agent_vault import Vault
sys.stdout.buffer.write(Vault(repo_path=sys.argv[1], key_path=sys.argv[2], auto_pull=False).get_bytes(sys.argv[3]))`
	pyNaive = `import sys, pyrage
from pyrage import x25519
key = next(w for w in open(sys.argv[2]).read().split() if w.startswith("AGE-SECRET-KEY-"))
data = open(sys.argv[1] + "/.agent-vault/secrets/" + sys.argv[3] + ".enc", "rb").read()
sys.stdout.buffer.write(pyrage.decrypt(data, [x25519.Identity.from_str(key)]))`
	nodeOurs = `import { Vault } from "agent-vault";
const [repo, key, secret] = process.argv.slice(1);
const v = new Vault({ repoPath: repo, keyPath: key, autoPull: false });
process.stdout.write(await v.getBytes(secret));`
	nodeNaive = `import fs from "node:fs";
import { Decrypter } from "age-encryption";
const [repo, key, secret] = process.argv.slice(1);
const id = fs.readFileSync(key, "utf8").split(/\s+/).find((w) => w.startsWith("AGE-SECRET-KEY-"));
const d = new Decrypter();
d.addIdentity(id);
process.stdout.write(await d.decrypt(fs.readFileSync(repo + "/.agent-vault/secrets/" + secret + ".enc")));`
)

// coldImpl is one way of getting a secret from a new process.
type coldImpl struct {
	name string
	ref  string // the reference it is held against, "" for references
	cmd  func(c *config, g *getVault) *exec.Cmd
}

func coldImpls(c *config) []coldImpl {
	impls := []coldImpl{
		{"agent-vault get (CLI)", "*", func(c *config, g *getVault) *exec.Cmd {
			return exec.Command(c.cli, "get", "--key", g.key, g.secret)
		}},
		{"agent-vault get --no-pull (CLI)", "*", func(c *config, g *getVault) *exec.Cmd {
			return exec.Command(c.cli, "get", "--no-pull", "--key", g.key, g.secret)
		}},
	}
	if c.python != "" {
		impls = append(impls,
			coldImpl{"python -c agent_vault", "python -c pyrage", func(c *config, g *getVault) *exec.Cmd {
				return exec.Command(c.python, "-c", pyOurs, g.v.Repo, g.key, g.secret)
			}},
			coldImpl{"python -c pyrage", "", func(c *config, g *getVault) *exec.Cmd {
				return exec.Command(c.python, "-c", pyNaive, g.v.Repo, g.key, g.secret)
			}})
	}
	if c.nodeDir != "" {
		node := func(code string) func(c *config, g *getVault) *exec.Cmd {
			return func(c *config, g *getVault) *exec.Cmd {
				cmd := exec.Command("node", "--input-type=module", "-e", code, g.v.Repo, g.key, g.secret)
				cmd.Dir = c.nodeDir
				return cmd
			}
		}
		impls = append(impls,
			coldImpl{"node -e agent-vault", "node -e age-encryption", node(nodeOurs)},
			coldImpl{"node -e age-encryption", "", node(nodeNaive)})
	}
	return impls
}

func sectionCold(c *config, r *report) error {
	vs, err := c.vaults()
	if err != nil {
		return err
	}
	impls := coldImpls(c)
	var cases []bench.Case
	for _, g := range vs {
		for _, im := range impls {
			cases = append(cases, bench.Case{Name: im.name + "/" + g.label(), Run: func() error {
				cmd := im.cmd(c, g)
				if cmd.Dir == "" {
					cmd.Dir = g.v.Repo
				}
				cmd.Env = cleanEnv(g.home)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					return fmt.Errorf("%v: %s", err, stderr.String())
				}
				if !bytes.Equal(out, g.value) {
					return fmt.Errorf("printed the wrong value")
				}
				return nil
			}})
		}
	}
	baselines := map[string][]string{}
	if c.python != "" {
		baselines["python -c pass (interpreter alone)"] = []string{c.python, "-c", "pass"}
	}
	if c.nodeDir != "" {
		baselines["node -e '' (interpreter alone)"] = []string{"node", "-e", ""}
	}
	for name, argv := range baselines {
		cases = append(cases, bench.Case{Name: name, Run: func() error { return exec.Command(argv[0], argv[1:]...).Run() }})
	}
	rounds := 15
	if c.quick {
		rounds = 3
	}
	progress("cold starts: %d rounds of %d processes", rounds, len(cases))
	res, err := bench.Interleave(cases, rounds, 0)
	if err != nil {
		return err
	}
	t := func(name string) time.Duration { return res[name].Median }

	r.printf("\n## 2. Cold start: process start to plaintext on stdout\n\n")
	r.printf("Medians of %d interleaved rounds, one fresh process per run, same vaults as section 1 (key given explicitly). "+
		"The bindings run with auto-pull off, as the references do not pull; plain `agent-vault get` also asks Git for an upstream "+
		"(the repository has none), `--no-pull` does not. References: pyrage and age-encryption trying every stanza.\n", rounds)
	refs := map[string]bool{}
	for _, im := range impls {
		if im.ref == "" {
			refs[im.name] = true
		}
	}
	var rows [][]string
	for _, im := range impls {
		row := []string{im.name}
		for _, g := range vs {
			row = append(row, dur(t(im.name+"/"+g.label())))
		}
		first, last := t(im.name+"/"+vs[0].label()), t(im.name+"/"+vs[len(vs)-1].label())
		row = append(row, ratio(bench.Ratio(last, first)))
		if im.ref != "" {
			r.target(bench.Ratio(last, first) <= 1.5, "%s: a cold get with %d agents costs %s one with %d (target ≤ 1.5×)",
				im.name, vs[len(vs)-1].n, ratio(bench.Ratio(last, first)), vs[0].n)
		}
		for _, g := range vs {
			row = append(row, coldRatios(im, refs, g, t))
		}
		rows = append(rows, row)
	}
	head := []string{"process"}
	for _, g := range vs {
		head = append(head, fmt.Sprintf("%d agent(s)", g.n))
	}
	head = append(head, fmt.Sprintf("%d / %d", vs[len(vs)-1].n, vs[0].n))
	for _, g := range vs {
		head = append(head, fmt.Sprintf("÷ reference, %d", g.n))
	}
	r.table(head, rows)
	for name := range baselines {
		r.printf("- %s: %s\n", name, dur(t(name)))
	}
	for _, im := range impls {
		if im.ref == "" {
			continue
		}
		for _, g := range vs {
			ref, x := bestRef(im, refs, g, t)
			if ref == "" {
				continue
			}
			limit := 1.0
			if g.n < 10 {
				limit = 3
			}
			r.target(x <= limit, "cold start, %s, %d agent(s): %s %s (target ≤ %.0f×)", im.name, g.n, ratio(x), ref, limit)
		}
	}
	return nil
}

// bestRef returns the reference im is held against and the ratio to it;
// the CLI ("*") is held against the fastest reference.
func bestRef(im coldImpl, refs map[string]bool, g *getVault, t func(string) time.Duration) (string, float64) {
	ours := t(im.name + "/" + g.label())
	if im.ref != "*" {
		if !refs[im.ref] {
			return "", 0
		}
		return "of " + im.ref, bench.Ratio(ours, t(im.ref+"/"+g.label()))
	}
	best, bestT := "", time.Duration(0)
	for ref := range refs {
		if d := t(ref + "/" + g.label()); best == "" || d < bestT {
			best, bestT = ref, d
		}
	}
	if best == "" {
		return "", 0
	}
	return "of " + best + " (the fastest reference)", bench.Ratio(ours, bestT)
}

func coldRatios(im coldImpl, refs map[string]bool, g *getVault, t func(string) time.Duration) string {
	if im.ref == "" {
		return "-"
	}
	_, x := bestRef(im, refs, g, t)
	if x == 0 {
		return "-"
	}
	return ratio(x)
}
