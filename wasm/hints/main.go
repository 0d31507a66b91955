// Command hints writes agent_vault.wasm from the linker's output: it drops
// the "name" section (what -ldflags=-s would omit) and adds a
// "compilationHints" section that marks the functions a cold start calls
// for eager compilation and every other function lazy.
//
// Why: V8 compiles a module lazily by default, each function on the main
// thread at its first call, and a one-shot get calls about a third of the
// module's code. With the hints (read by V8 with
// --experimental-wasm-compilation-hints and --no-wasm-lazy-compilation,
// which the Node package sets only while it compiles on V8 11) those
// functions are compiled up front on every core and the rest stay lazy.
// Every other engine skips the custom section. The functions are named in
// startup.txt (by `make startup-functions`), so a rebuild that moves
// function indices keeps the hints; a function missing from the list is
// only compiled later, never wrongly.
//
// Remove this when Node can cache compiled WebAssembly between processes.
//
// Usage:
//
//	hints -eager startup.txt -o agent_vault.wasm linked.wasm
//	hints -names linked.wasm     (prints "index name" per function)
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	eagerFile := flag.String("eager", "", "`file` of function names to compile eagerly, one per line (# comments)")
	out := flag.String("o", "", "`path` of the module to write")
	names := flag.Bool("names", false, "print each function's index and name instead")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: hints -eager FILE -o OUT linked.wasm | hints -names linked.wasm")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || (!*names && (*eagerFile == "" || *out == "")) {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *eagerFile, *out, *names); err != nil {
		fmt.Fprintln(os.Stderr, "hints:", err)
		os.Exit(1)
	}
}

func run(in, eagerFile, out string, names bool) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("failed to read the module: %w", err)
	}
	m, err := parseModule(data)
	if err != nil {
		return fmt.Errorf("failed to parse %s: %w", in, err)
	}
	if len(m.names) == 0 {
		return fmt.Errorf("%s has no function names: link it without -s", in)
	}
	if names {
		w := bufio.NewWriter(os.Stdout)
		idx := make([]int, 0, len(m.names))
		for i := range m.names {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			fmt.Fprintf(w, "%d %s\n", i, m.names[i])
		}
		return w.Flush()
	}
	list, err := os.ReadFile(eagerFile)
	if err != nil {
		return fmt.Errorf("failed to read the eager list: %w", err)
	}
	eager, missing := m.indices(list)
	hinted, err := m.withHints(eager)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, hinted, 0o644); err != nil {
		return fmt.Errorf("failed to write the module: %w", err)
	}
	fmt.Fprintf(os.Stderr, "hints: %d of %d functions eager", len(eager), m.declared)
	if missing > 0 {
		fmt.Fprintf(os.Stderr, "; %d listed names are not in the module (run `make startup-functions`)", missing)
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

// indices maps the listed names to absolute function indices, and counts
// the names the module does not have.
func (m *module) indices(list []byte) (map[int]bool, int) {
	byName := make(map[string]int, len(m.names))
	for i, n := range m.names {
		byName[n] = i
	}
	eager := map[int]bool{}
	missing := 0
	sc := bufio.NewScanner(bytes.NewReader(list))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i, ok := byName[line]; ok && i >= m.imported {
			eager[i] = true
		} else {
			missing++
		}
	}
	return eager, missing
}
