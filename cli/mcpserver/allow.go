package mcpserver

import (
	"fmt"
	"path"
	"strings"
)

// allowList limits which secret paths the server hands out. Patterns use
// path.Match on '/'-separated secret paths, so '*' and '?' never cross a
// '/': "stripe/*" serves stripe/api-key but not stripe/live/api-key. An empty
// list serves every secret the key can read.
type allowList []string

// newAllowList validates every pattern up front, so a typo fails at start
// rather than silently refusing every request later.
func newAllowList(patterns []string) (allowList, error) {
	out := make(allowList, 0, len(patterns))
	for _, p := range patterns {
		if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
			return nil, fmt.Errorf("invalid --allow pattern %q: patterns match secret paths such as stripe/*", p)
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("invalid --allow pattern %q: %w", p, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// allows reports whether secret may be served.
func (a allowList) allows(secret string) bool {
	if len(a) == 0 {
		return true
	}
	for _, p := range a {
		// Patterns were validated, so Match cannot fail here.
		if ok, _ := path.Match(p, secret); ok {
			return true
		}
	}
	return false
}

// String lists the patterns for messages.
func (a allowList) String() string {
	if len(a) == 0 {
		return "(all)"
	}
	return strings.Join(a, ", ")
}
