//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/tests/bench"
)

func (c *config) largeSizes() (small, large int) {
	if c.quick {
		return 250, 1000
	}
	return 2500, 10000
}

func sectionLarge(c *config, r *report) error {
	small, large := c.largeSizes()
	var cases []bench.Case
	for _, n := range []int{small, large} {
		progress("building a vault of %d secrets shared by %d agents", n, bench.LargeAgents)
		v, home, err := bench.NewLarge(filepath.Join(c.tmp, fmt.Sprintf("large-%d", n)), n)
		if err != nil {
			return err
		}
		lcs, err := bench.LargeCases(v, home)
		if err != nil {
			return err
		}
		for _, lc := range lcs {
			lc.Name = fmt.Sprintf("%s/%d", lc.Name, n)
			cases = append(cases, lc)
		}
		last := v.Agents[len(v.Agents)-1]
		for _, cmd := range []struct {
			name string
			args []string
		}{
			{"cli list", []string{"list"}},
			{"cli check", []string{"check"}},
			{"cli get", []string{"get", "--no-pull", "--key", core.AgentKeyPath(home, last), v.Secrets[len(v.Secrets)-1]}},
		} {
			cases = append(cases, bench.Case{Name: fmt.Sprintf("%s/%d", cmd.name, n), Run: func() error {
				x := exec.Command(c.cli, cmd.args...)
				x.Dir, x.Env = v.Repo, cleanEnv(home)
				var stderr bytes.Buffer
				x.Stderr = &stderr
				if out, err := x.Output(); err != nil {
					return fmt.Errorf("%v: %s%s", err, out, stderr.String())
				}
				return nil
			}})
		}
	}
	rounds := 5
	if c.quick {
		rounds = 3
	}
	progress("large vault reads: %d rounds of %d cases", rounds, len(cases))
	res, err := bench.Interleave(cases, rounds, 0)
	if err != nil {
		return err
	}
	t := func(name string, n int) time.Duration { return res[fmt.Sprintf("%s/%d", name, n)].Median }

	r.printf("\n## 4. Large vault\n\n")
	r.printf("%d and %d secrets, every one shared by %d agents. In process: each operation from a fresh `core.Open`, as a new process "+
		"would do it (open alone is listed too); check verifies every ciphertext with the owner key; set stores one new secret that no agent "+
		"shares, which shows the fixed cost of any change (policy encoding, journal, manifest). CLI: one process per command; "+
		"get is by the last agent, with `--no-pull`. Medians of %d interleaved rounds.\n", small, large, bench.LargeAgents, rounds)
	growth := float64(large) / float64(small)
	var rows [][]string
	for _, name := range []string{"open", "list", "check", "get", "get, open session", "set", "cli list", "cli check", "cli get"} {
		a, b := t(name, small), t(name, large)
		x := bench.Ratio(b, a)
		per := "-"
		switch name {
		case "list", "check", "cli list", "cli check":
			per = dur(b / time.Duration(large))
		}
		rows = append(rows, []string{name, dur(a), dur(b), ratio(x), per})
		switch name {
		case "list", "check", "cli list", "cli check":
			r.target(x <= growth*1.15, "large vault, %s: %s for %.0f× the secrets (target: at most linear)", name, ratio(x), growth)
		case "get", "get, open session", "cli get":
			r.target(x <= 1.25, "large vault, %s: %s for %.0f× the secrets (target: flat)", name, ratio(x), growth)
		}
	}
	r.table([]string{"operation", fmt.Sprintf("%d secrets", small), fmt.Sprintf("%d secrets", large),
		fmt.Sprintf("ratio (vault grew %.0f×)", growth), fmt.Sprintf("per secret at %d", large)}, rows)
	return nil
}
