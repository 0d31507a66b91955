package command

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
)

// globalFlags are the flags that may come before the command name, as in
// "agent-vault --repo DIR list". Each takes a value.
var globalFlags = []string{"repo", "key"}

// hoistGlobalFlags moves global flags given before the command name to just
// after it, where the command's own flag set parses them: "agent-vault
// --repo DIR list" becomes "agent-vault list --repo DIR". So that one alias
// ("agent-vault --repo DIR --key K") serves every command, a --key before a
// command that uses no key is dropped; a --repo before one that takes no
// vault (init, completions) is an error, since it would be ignored.
func hoistGlobalFlags(args []string) ([]string, error) {
	var globals [][]string
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "--") {
		name, _, hasValue := strings.Cut(args[i][2:], "=")
		if !isGlobalFlag(name) {
			break
		}
		if hasValue {
			globals = append(globals, []string{name, args[i]})
			i++
			continue
		}
		if i+1 >= len(args) {
			return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "flag needs an argument: --" + name,
				Hint: fmt.Sprintf("usage: agent-vault --%s <value> <command> ...", name)}
		}
		globals = append(globals, []string{name, args[i], args[i+1]})
		i += 2
	}
	if len(globals) == 0 {
		return args, nil
	}
	if i == len(args) {
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "no command given",
			Hint: "run 'agent-vault --help' to see the commands"}
	}
	out := []string{args[i]}
	cmd, known := commands[args[i]]
	for _, g := range globals {
		if known && flagSet(cmd).Lookup(g[0]) == nil {
			if g[0] == "key" {
				continue
			}
			return nil, &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("%s does not take --%s", cmd.name, g[0]),
				Hint: fmt.Sprintf("usage: agent-vault %s %s", cmd.name, cmd.args)}
		}
		out = append(out, g[1:]...)
	}
	return append(out, args[i+1:]...), nil
}

func isGlobalFlag(name string) bool {
	for _, g := range globalFlags {
		if g == name {
			return true
		}
	}
	return false
}

// flagName matches an argument that can be shown in an error: a flag-shaped
// word, never a value that happens to start with '-'.
var flagName = regexp.MustCompile(`^--?[a-z][a-z0-9-]{0,24}$`)

// flagError describes a flag parsing failure. It names the unknown flag and
// suggests the closest one the command takes, but never echoes an argument
// that does not look like a flag name (it may be a secret value that starts
// with '-'), nor anything after '='.
func flagError(err error, fs *pflag.FlagSet) (msg, hint string) {
	text := err.Error()
	switch {
	case strings.HasPrefix(text, "unknown flag: "), strings.HasPrefix(text, "unknown shorthand flag: "),
		strings.HasPrefix(text, "bad flag syntax: "):
		arg := unknownArg(text)
		if arg == "" || !flagName.MatchString(arg) {
			return "unknown flag (not shown: it may be a value)", "flags: " + strings.Join(flagList(fs), ", ")
		}
		if near := closestFlag(arg, fs); near != "" {
			return "unknown flag " + arg, "did you mean " + near + "?"
		}
		return "unknown flag " + arg, "flags: " + strings.Join(flagList(fs), ", ")
	case strings.HasPrefix(text, "invalid argument"):
		return "invalid flag value", ""
	}
	return text, "" // names a registered flag only
}

// unknownArg recovers the flag pflag could not match, without any value.
func unknownArg(text string) string {
	switch {
	case strings.HasPrefix(text, "unknown flag: "):
		name, _, _ := strings.Cut(strings.TrimPrefix(text, "unknown flag: "), "=")
		return name
	case strings.HasPrefix(text, "unknown shorthand flag: "):
		// "unknown shorthand flag: 'x' in -xyz": only a lone "-x" is shown.
		if _, in, ok := strings.Cut(text, " in "); ok && len(in) == 2 {
			return in
		}
	}
	return ""
}

// flagList is every flag of fs as "--name", sorted.
func flagList(fs *pflag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *pflag.Flag) { out = append(out, "--"+f.Name) })
	sort.Strings(out)
	return out
}

// closestFlag returns the flag of fs nearest to arg in edit distance, if
// it is near enough to be the one meant, else "".
func closestFlag(arg string, fs *pflag.FlagSet) string {
	name := strings.TrimLeft(arg, "-")
	best, bestDist := "", 0
	fs.VisitAll(func(f *pflag.Flag) {
		d := editDistance(name, f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 2 {
			d = 1 // a prefix ("--gr") is meant
		}
		if best == "" || d < bestDist || d == bestDist && f.Name < strings.TrimPrefix(best, "--") {
			best, bestDist = "--"+f.Name, d
		}
	})
	if best == "" || bestDist > max(2, len(name)/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
