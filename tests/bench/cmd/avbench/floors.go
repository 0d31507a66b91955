//go:build unix

package main

import (
	"fmt"
	"path/filepath"

	"github.com/agent-vault/agent-vault/tests/bench"
)

// floorRecipients is the file size of the floors section: the owner, 20
// agents and one more, a grant's re-encryption in section 3b.
const floorRecipients = bench.BulkAgents + 2

func sectionFloors(c *config, r *report) error {
	ws, err := bench.X25519Work(filepath.Join(c.tmp, "floors"), floorRecipients)
	if err != nil {
		return err
	}
	rounds := 15
	if c.quick {
		rounds = 3
	}
	progress("X25519 work against the floor: %d rounds", rounds)
	res, err := bench.Interleave(bench.Cases(ws), rounds, 100e6)
	if err != nil {
		return err
	}
	floor := res[bench.FloorCase]
	r.printf("\n## 1b. X25519 work against the floor\n\n")
	r.printf("Each case interleaved with the floor in the same %d rounds (medians). \"Floors\" divides by the floor's time: the wall time, "+
		"and the measuring thread's CPU time, which waiting for a core does not inflate. The floor took %s (wall) and %s (CPU) in this run. "+
		"age's own X25519 types compute the public key of every private key they use (`curve25519.X25519` builds a `crypto/ecdh` key, and "+
		"Go 1.26 computes its public key eagerly); core's, in `core/x25519.go`, parse the key once.\n",
		rounds, dur(floor.Median), dur(floor.CPU))
	var rows [][]string
	for _, w := range ws[1:] {
		t := res[w.Name]
		f, cf := bench.Ratio(t.Median, floor.Median), bench.Ratio(t.CPU, floor.CPU)
		per := "-"
		if w.Recipients > 1 {
			per = fmt.Sprintf("%.2f / %.2f", f/float64(w.Recipients), cf/float64(w.Recipients))
		}
		rows = append(rows, []string{"`" + w.Name + "`", w.What, dur(t.Median), fmt.Sprintf("%.2f", f), fmt.Sprintf("%.2f", cf), per})
	}
	r.table([]string{"case", "what", "time", "floors (wall)", "floors (CPU)", "per recipient (wall / CPU)"}, rows)
	get := bench.Ratio(res["get/core"].Median, floor.Median)
	r.target(get <= 2.2, "a native 1-agent get costs %.2f floors (target ≤ 2.2)", get)
	enc := bench.Ratio(res["encrypt/core"].CPU, floor.CPU) / floorRecipients
	r.target(enc <= 2.3, "encrypting to %d recipients costs %.2f floors of CPU per recipient (target ≤ 2.3)", floorRecipients, enc)
	return nil
}
