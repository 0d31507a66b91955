package mcpserver

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// execList is the set of programs agent_vault_run may start. An entry is
// either a bare name, which the model must give as that same bare name and
// which is found in this server's PATH, or an absolute path, which the
// model must give exactly. Matching is on the whole string, never on a
// base name: "/tmp/x/git" does not match "git", so a program planted
// elsewhere cannot borrow an allowed name.
type execList []string

// newExecList validates the --allow-exec entries.
func newExecList(entries []string) (execList, error) {
	out := make(execList, 0, len(entries))
	for _, e := range entries {
		switch {
		case e == "" || strings.ContainsAny(e, "\x00\n"):
			return nil, fmt.Errorf("invalid --allow-exec %q", e)
		case isPath(e) && !filepath.IsAbs(e):
			return nil, fmt.Errorf("invalid --allow-exec %q: give a program name found in PATH or an absolute path", e)
		case isPath(e) && filepath.Clean(e) != e:
			return nil, fmt.Errorf("invalid --allow-exec %q: write the path as %s", e, filepath.Clean(e))
		}
		out = append(out, e)
	}
	return out, nil
}

// isPath reports whether a program is named by a path rather than looked
// up in PATH.
func isPath(p string) bool { return strings.ContainsAny(p, `/\`) }

// allows reports whether the model may start program.
func (l execList) allows(program string) bool { return slices.Contains(l, program) }

// String lists the entries for messages.
func (l execList) String() string { return strings.Join(l, ", ") }
