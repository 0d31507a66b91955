package hardening

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// straceArgs traces every system call that creates, duplicates or closes a
// file descriptor, writes data, or starts a process, printing all bytes as
// hex escapes so a value can be matched exactly.
var straceArgs = []string{"-f", "-xx", "-s", "4194304", "-e", "trace=" + strings.Join([]string{
	"open", "openat", "openat2", "creat", "memfd_create", "pipe", "pipe2", "socket", "socketpair",
	"accept", "accept4", "dup", "dup2", "dup3", "fcntl", "close", "close_range",
	"write", "pwrite64", "writev", "pwritev", "pwritev2", "sendto", "sendmsg", "sendmmsg",
	"sendfile", "splice", "tee", "vmsplice", "copy_file_range",
	"clone", "clone3", "fork", "vfork", "execve", "chdir", "fchdir",
}, ",")}

// fdDesc is what a descriptor refers to.
type fdDesc struct {
	kind    string // "stdin", "stdout", "stderr", "file", "pipe", "socket", "other"
	path    string
	cloexec bool
}

// fdTable is one process's descriptor table; threads share it.
type fdTable map[int]fdDesc

func (t fdTable) clone() fdTable {
	c := fdTable{}
	for k, v := range t {
		c[k] = v
	}
	return c
}

// traceWrite is a write-like call and the data it wrote.
type traceWrite struct {
	pid       int
	call      string
	fd        int
	desc      fdDesc
	known     bool
	data      []byte
	truncated bool
	// dstOnly marks a copy between descriptors (sendfile, splice,
	// copy_file_range) whose data strace cannot show.
	dstOnly bool
	srcDesc fdDesc
}

// traceOpen is an open of a file for writing.
type traceOpen struct {
	path  string
	flags string
	mode  string
}

// parsedTrace is an strace -f log, reduced to writes and opens with each
// descriptor resolved to what it referred to at that moment.
type parsedTrace struct {
	writes []traceWrite
	opens  []traceOpen
}

var (
	lineRE   = regexp.MustCompile(`^(\d+)\s+(.*)$`)
	callRE   = regexp.MustCompile(`^([a-z0-9_]+)\((.*)\)\s+=\s+(-?\d+|\?|0x[0-9a-f]+)`)
	resumeRE = regexp.MustCompile(`^<\.\.\. ([a-z0-9_]+) resumed>(.*)$`)
	quoteRE  = regexp.MustCompile(`"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?`)
	childRE  = regexp.MustCompile(`(?:parent_tid=\[(\d+)\])`)
)

// decodeHex turns strace's -xx escapes back into bytes.
func decodeHex(s string) []byte {
	b, _ := hex.DecodeString(strings.ReplaceAll(s, `\x`, ""))
	return b
}

// parseTrace reads an strace -f log in two passes: the first learns which
// task created which (and whether they share a descriptor table, as
// threads do), the second replays descriptor changes in log order.
func parseTrace(file, cwd string) (*parsedTrace, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	type call struct {
		pid  int
		name string
		args string
		ret  string
	}
	var calls []call
	pending := map[int]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		text := m[2]
		if r := resumeRE.FindStringSubmatch(text); r != nil {
			text = pending[pid] + r[2]
			if pending[pid] == "skip" {
				text = ""
			}
			delete(pending, pid)
		} else if before, ok := strings.CutSuffix(text, " <unfinished ...>"); ok {
			pending[pid] = before
			// A descriptor is free for reuse once close has entered the
			// kernel, and strace may log a sibling's open returning the
			// same number before this close's exit: apply close at entry.
			if fd, found := strings.CutPrefix(before, "close("); found {
				calls = append(calls, call{pid, "close", fd, "0"})
				pending[pid] = "skip"
			}
			continue
		}
		c := callRE.FindStringSubmatch(text)
		if c == nil {
			continue // signals, exits, or a call that never returned
		}
		calls = append(calls, call{pid, c[1], c[2], c[3]})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}

	type origin struct {
		parent int
		shared bool
	}
	parents := map[int]origin{}
	for _, c := range calls {
		if isClone(c.name) {
			if child, err := strconv.Atoi(c.ret); err == nil && child > 0 {
				parents[child] = origin{c.pid, strings.Contains(c.args, "CLONE_FILES")}
			}
		}
	}
	tables := map[int]fdTable{}
	cwds := map[int]string{}
	var tableOf func(pid int) fdTable
	tableOf = func(pid int) fdTable {
		if t, ok := tables[pid]; ok {
			return t
		}
		if o, ok := parents[pid]; ok {
			pt := tableOf(o.parent)
			if o.shared {
				tables[pid] = pt
			} else {
				tables[pid] = pt.clone()
			}
			cwds[pid] = cwds[o.parent]
			return tables[pid]
		}
		tables[pid] = fdTable{0: {kind: "stdin"}, 1: {kind: "stdout"}, 2: {kind: "stderr"}}
		cwds[pid] = cwd
		return tables[pid]
	}
	out := &parsedTrace{}
	for _, c := range calls {
		t := tableOf(c.pid)
		args := splitArgs(c.args)
		ret, _ := strconv.Atoi(c.ret)
		ok := ret >= 0 && c.ret != "?"
		argFD := func(i int) int {
			if i >= len(args) {
				return -1
			}
			n, err := strconv.Atoi(strings.TrimSpace(args[i]))
			if err != nil {
				return -1
			}
			return n
		}
		switch c.name {
		case "open", "openat", "openat2", "creat":
			if !ok {
				continue
			}
			pathArg, flags := 0, ""
			dir := cwds[c.pid]
			if c.name == "openat" || c.name == "openat2" {
				pathArg = 1
				if d := strings.TrimSpace(args[0]); d != "AT_FDCWD" {
					dfd, _ := strconv.Atoi(d)
					dir = t[dfd].path
				}
			}
			if len(args) > pathArg+1 {
				flags = args[pathArg+1]
			}
			p := string(decodeHex(strings.Trim(strings.TrimSpace(args[pathArg]), `"`)))
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			t[ret] = fdDesc{kind: "file", path: p, cloexec: strings.Contains(flags, "O_CLOEXEC")}
			if strings.Contains(flags, "O_WRONLY") || strings.Contains(flags, "O_RDWR") || c.name == "creat" {
				mode := ""
				if len(args) > pathArg+2 {
					mode = strings.TrimSpace(args[pathArg+2])
				}
				out.opens = append(out.opens, traceOpen{path: p, flags: flags, mode: mode})
			}
		case "memfd_create":
			if ok {
				t[ret] = fdDesc{kind: "file", path: "memfd"}
			}
		case "pipe", "pipe2", "socketpair":
			if ok {
				kind := "pipe"
				if c.name == "socketpair" {
					kind = "socket"
				}
				for _, n := range regexp.MustCompile(`\[(\d+), (\d+)\]`).FindStringSubmatch(c.args)[1:] {
					fd, _ := strconv.Atoi(n)
					t[fd] = fdDesc{kind: kind, cloexec: strings.Contains(c.args, "CLOEXEC")}
				}
			}
		case "socket", "accept", "accept4":
			if ok {
				t[ret] = fdDesc{kind: "socket"}
			}
		case "dup", "dup2", "dup3":
			if ok {
				d := t[argFD(0)]
				d.cloexec = c.name == "dup3" && strings.Contains(c.args, "O_CLOEXEC")
				t[ret] = d
			}
		case "fcntl":
			if len(args) < 2 || !ok {
				continue
			}
			switch cmd := strings.TrimSpace(args[1]); cmd {
			case "F_DUPFD", "F_DUPFD_CLOEXEC":
				d := t[argFD(0)]
				d.cloexec = cmd == "F_DUPFD_CLOEXEC"
				t[ret] = d
			case "F_SETFD":
				if d, found := t[argFD(0)]; found {
					d.cloexec = len(args) > 2 && strings.Contains(args[2], "FD_CLOEXEC")
					t[argFD(0)] = d
				}
			}
		case "close":
			if ok {
				delete(t, argFD(0))
			}
		case "close_range":
			if ok && !strings.Contains(c.args, "CLOSE_RANGE_CLOEXEC") {
				lo, hi := argFD(0), argFD(1)
				for fd := range t {
					if fd >= lo && (hi < 0 || fd <= hi) {
						delete(t, fd)
					}
				}
			}
		case "execve":
			if ok {
				for fd, d := range t {
					if d.cloexec {
						delete(t, fd)
					}
				}
			}
		case "chdir":
			if ok {
				p := string(decodeHex(strings.Trim(strings.TrimSpace(args[0]), `"`)))
				if !filepath.IsAbs(p) {
					p = filepath.Join(cwds[c.pid], p)
				}
				cwds[c.pid] = p
			}
		case "fchdir":
			if ok {
				cwds[c.pid] = t[argFD(0)].path
			}
		case "clone", "clone3", "fork", "vfork":
			if m := childRE.FindStringSubmatch(c.args); m != nil && strings.Contains(c.args, "CLONE_PIDFD") {
				fd, _ := strconv.Atoi(m[1])
				t[fd] = fdDesc{kind: "other", cloexec: true}
			}
			if child, err := strconv.Atoi(c.ret); err == nil && child > 0 {
				tableOf(child)
			}
		case "write", "pwrite64", "writev", "pwritev", "pwritev2", "sendto", "sendmsg", "sendmmsg", "vmsplice":
			w := traceWrite{pid: c.pid, call: c.name, fd: argFD(0)}
			w.desc, w.known = t[w.fd]
			for _, q := range quoteRE.FindAllStringSubmatch(c.args, -1) {
				w.data = append(w.data, decodeHex(q[1])...)
				w.truncated = w.truncated || q[2] != ""
			}
			out.writes = append(out.writes, w)
		case "sendfile", "splice", "tee", "copy_file_range":
			dst, src := argFD(0), argFD(1)
			if c.name != "sendfile" {
				src, dst = argFD(0), argFD(2)
			}
			w := traceWrite{pid: c.pid, call: c.name, fd: dst, dstOnly: true, srcDesc: t[src]}
			w.desc, w.known = t[dst]
			out.writes = append(out.writes, w)
		}
	}
	return out, nil
}

func isClone(name string) bool {
	return name == "clone" || name == "clone3" || name == "fork" || name == "vfork"
}

// splitArgs splits a call's argument list at top-level commas, keeping
// brackets, braces and (hex-only) strings whole.
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	inStr := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '"':
			inStr = !inStr
		case inStr:
		case ch == '[' || ch == '{' || ch == '(':
			depth++
		case ch == ']' || ch == '}' || ch == ')':
			depth--
		case ch == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

func (w traceWrite) String() string {
	return fmt.Sprintf("pid %d %s(fd %d -> %s %s)", w.pid, w.call, w.fd, w.desc.kind, w.desc.path)
}
