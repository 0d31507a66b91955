//go:build unix

// Command avbench runs the benchmark set that `make bench` reports (see
// docs/BENCHMARKS.md) and prints it as markdown. Every figure is a ratio of
// two measurements taken in the same run, interleaved so that both see the
// same machine load, because the machine is shared and noisy.
// It builds for Unix only: between runs it syncs the disk and reads its
// CPU time with getrusage.
//
//	go run ./tests/bench/cmd/avbench -python <venv python> -node-dir bindings/node
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

type config struct {
	root string // repository root
	cli  string // bin/agent-vault
	// baselineCLI is another build of agent-vault that the CLI bulk
	// section runs interleaved with cli, for a side-by-side comparison.
	baselineCLI string
	python      string // a Python with agent_vault and pyrage installed
	nodeDir     string // bindings/node, with node_modules installed
	tmp         string // where benchmark vaults go
	quick       bool
	sections    map[string]bool
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		os.Exit(child(os.Args[2:]))
	}
	var c config
	var sections, out string
	var keep bool
	flag.StringVar(&c.root, "root", ".", "repository root")
	flag.StringVar(&c.cli, "cli", "", "agent-vault binary (default <root>/bin/agent-vault)")
	flag.StringVar(&c.baselineCLI, "baseline-cli", "", "another agent-vault binary to run the CLI bulk section with, interleaved")
	flag.StringVar(&c.python, "python", "", "Python with agent_vault and pyrage (empty: skip Python)")
	flag.StringVar(&c.nodeDir, "node-dir", "", "bindings/node with its node_modules (empty: skip Node)")
	flag.StringVar(&c.tmp, "tmp", os.TempDir(), "directory for the benchmark vaults")
	flag.BoolVar(&c.quick, "quick", false, "small vaults and few rounds, to check the harness")
	flag.StringVar(&sections, "sections", "get,floors,cold,bulk,clibulk,large", "sections to run")
	flag.StringVar(&out, "out", "", "also write the report to this file")
	flag.BoolVar(&keep, "keep", false, "keep the benchmark vaults")
	flag.Parse()
	if c.cli == "" {
		c.cli = filepath.Join(c.root, "bin", "agent-vault")
	}
	c.sections = map[string]bool{}
	for _, s := range strings.Split(sections, ",") {
		c.sections[strings.TrimSpace(s)] = true
	}
	if err := run(&c, out, keep); err != nil {
		fmt.Fprintln(os.Stderr, "avbench:", err)
		os.Exit(1)
	}
}

func run(c *config, out string, keep bool) error {
	for _, p := range []*string{&c.root, &c.cli, &c.tmp, &c.python, &c.nodeDir} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	if _, err := os.Stat(c.cli); err != nil {
		return fmt.Errorf("%s is missing: run 'make build' first", c.cli)
	}
	tmp, err := os.MkdirTemp(c.tmp, "avbench-")
	if err != nil {
		return err
	}
	if keep {
		progress("keeping the benchmark vaults in %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	c.tmp = tmp

	var w io.Writer = os.Stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = io.MultiWriter(os.Stdout, f)
	}
	r := &report{w: w}
	r.header(c)
	steps := []struct {
		name string
		fn   func(*config, *report) error
	}{
		{"get", sectionGet},
		{"floors", sectionFloors},
		{"cold", sectionCold},
		{"bulk", sectionBulk},
		{"clibulk", sectionCLIBulk},
		{"large", sectionLarge},
	}
	for _, s := range steps {
		if !c.sections[s.name] {
			continue
		}
		start := time.Now()
		progress("section %s ...", s.name)
		if err := s.fn(c, r); err != nil {
			return fmt.Errorf("section %s: %w", s.name, err)
		}
		progress("section %s done in %s", s.name, time.Since(start).Round(time.Second))
	}
	r.summary()
	return nil
}

// progress reports to stderr, keeping stdout for the report.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "avbench: "+format+"\n", args...)
}

// report collects the markdown output and the list of targets checked.
type report struct {
	w       io.Writer
	targets []string
}

func (r *report) printf(format string, args ...any) { fmt.Fprintf(r.w, format, args...) }

func (r *report) header(c *config) {
	load, _ := os.ReadFile("/proc/loadavg")
	r.printf("Measured %s on %s/%s, %d CPUs, %s; load average at start: %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		runtime.Version(), strings.Join(strings.Fields(string(load))[:3], " "))
	r.printf("Benchmark vaults live in %s (file system: %s).\n", c.tmp, fsType(c.tmp))
}

// target records whether a figure meets its goal, for the summary.
func (r *report) target(ok bool, format string, args ...any) {
	mark := "met"
	if !ok {
		mark = "NOT met"
	}
	r.targets = append(r.targets, fmt.Sprintf("- %s: %s", mark, fmt.Sprintf(format, args...)))
}

func (r *report) summary() {
	if len(r.targets) == 0 {
		return
	}
	r.printf("\n## Targets\n\n%s\n", strings.Join(r.targets, "\n"))
}

// table prints a markdown table.
func (r *report) table(head []string, rows [][]string) {
	r.printf("\n| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, row := range rows {
		r.printf("| %s |\n", strings.Join(row, " | "))
	}
	r.printf("\n")
}

// fsType names the file system holding dir, since fsync cost depends on it.
func fsType(dir string) string {
	out, err := exec.Command("df", "--output=fstype", dir).Output()
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(out))
	return f[len(f)-1]
}

// dur formats a duration with three significant figures.
func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	}
}

func ratio(x float64) string { return fmt.Sprintf("%.2f×", x) }
