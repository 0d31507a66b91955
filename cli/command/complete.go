package command

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
)

// completeCommand is the hidden command the completion scripts call back
// into: "agent-vault __complete <words...>" with the words typed after the
// program name, the last being the one under the cursor (possibly empty).
// It prints one candidate per line, or a single directive line asking the
// shell to complete file names (fileDirective) or directories
// (dirDirective) itself. It reads names from the manifest only: it never
// decrypts, and never needs a key.
const (
	completeCommand = "__complete"
	fileDirective   = ":files"
	dirDirective    = ":dirs"
)

// shells are the shells 'completions' writes scripts for.
var shells = []string{"bash", "zsh", "fish", "powershell"}

// fileFlags take a file name, dirFlags a directory.
var (
	fileFlags = []string{"key", "from-file", "to", "audit-log"}
	dirFlags  = []string{"repo"}
)

// runComplete prints the candidates for words. Any failure (no vault here,
// a damaged manifest) just means no candidates: completion must never
// print errors into the user's command line.
func runComplete(env Env, words []string) int {
	for _, w := range completions(env, words) {
		fmt.Fprintln(env.Stdout, w)
	}
	return 0
}

// completer is what is known about the command line being completed.
type completer struct {
	env   Env
	cmd   *command // nil before the command name, or for mcp
	mcp   bool
	args  []string // positional arguments after the command name
	repo  string   // a --repo given anywhere, for finding the vault
	flags *pflag.FlagSet
}

func completions(env Env, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	c := &completer{env: env}
	cur, before := words[len(words)-1], words[:len(words)-1]
	// bash splits "--group=st" into "--group", "=", "st".
	pendingFlag := ""
	for i := 0; i < len(before); i++ {
		w := before[i]
		switch {
		case pendingFlag != "":
			if w == "=" {
				continue
			}
			c.setValue(pendingFlag, w)
			pendingFlag = ""
		case strings.HasPrefix(w, "-") && w != "-" && w != "--":
			name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			if hasValue {
				c.setValue(name, value)
			} else if c.takesValue(name) {
				pendingFlag = name
			}
		case c.cmd == nil && !c.mcp:
			c.setCommand(w)
		default:
			c.args = append(c.args, w)
		}
	}
	if pendingFlag != "" {
		return c.flagValues(pendingFlag, cur, "")
	}
	if strings.HasPrefix(cur, "--") && strings.Contains(cur, "=") {
		name, value, _ := strings.Cut(cur[2:], "=")
		out := c.flagValues(name, value, "--"+name+"=")
		if len(out) == 1 && strings.HasPrefix(out[0], ":") {
			return nil // a file name after '=' is left to the shell
		}
		return out
	}
	if strings.HasPrefix(cur, "-") {
		return c.flagNames()
	}
	return c.positional()
}

func (c *completer) setCommand(name string) {
	if name == "mcp" {
		c.mcp = true
		c.flags = c.mcpFlags()
		return
	}
	if cmd, ok := commands[name]; ok {
		c.cmd = cmd
		c.flags = flagSet(cmd)
	}
}

func (c *completer) setValue(name, value string) {
	if name == "repo" {
		c.repo = value
	}
}

// flagSet is the flags cmd takes, as Main declares them.
func flagSet(cmd *command) *pflag.FlagSet {
	fs := pflag.NewFlagSet(cmd.name, pflag.ContinueOnError)
	fs.BoolP("help", "h", false, "")
	if cmd.flags != nil {
		cmd.flags(fs, &opts{})
	}
	return fs
}

// takesValue reports whether flag name is followed by a value in the
// current position: a global flag before the command, else one of its flags.
func (c *completer) takesValue(name string) bool {
	if c.flags == nil {
		return isGlobalFlag(name)
	}
	f := c.flags.Lookup(name)
	return f != nil && f.Value.Type() != "bool"
}

// mcpUsageFlag reads a flag from pflag's usage text: "  -h, --help  ...",
// "      --no-pull[=true|false]  ..." or "      --repo string  ..." (a type
// word means the flag takes a value).
var mcpUsageFlag = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)(?:\[=[^\]]*\])?(?: (\w+))?\s{2,}`)

// mcpFlags rebuilds the MCP server's flags from its help text, so they
// stay the server's own.
func (c *completer) mcpFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("mcp", pflag.ContinueOnError)
	if c.env.MCPUsage == nil {
		return fs
	}
	var buf bytes.Buffer
	c.env.MCPUsage(&buf)
	for _, m := range mcpUsageFlag.FindAllStringSubmatch(buf.String(), -1) {
		if fs.Lookup(m[1]) != nil {
			continue
		}
		if m[2] == "" {
			fs.Bool(m[1], false, "")
		} else {
			fs.String(m[1], "", "")
		}
	}
	return fs
}

func (c *completer) flagNames() []string {
	if c.flags == nil {
		out := []string{"--help", "--version"}
		for _, g := range globalFlags {
			out = append(out, "--"+g)
		}
		sort.Strings(out)
		return out
	}
	return flagList(c.flags)
}

// flagValues completes the value of flag name; prefix goes before each.
func (c *completer) flagValues(name, cur, prefix string) []string {
	switch {
	case slices.Contains(fileFlags, name):
		return []string{fileDirective}
	case slices.Contains(dirFlags, name):
		return []string{dirDirective}
	}
	var out []string
	switch name {
	case "group":
		out = c.vaultNames(groupNames)
	case "agents":
		// A comma-separated list: complete its last item.
		done, _ := cutLast(cur, ",")
		have := strings.Split(done, ",")
		for _, a := range c.vaultNames(agentNames) {
			if !slices.Contains(have, a) {
				out = append(out, joinList(done, a))
			}
		}
	case "allow":
		out = c.vaultNames(secretNames)
	}
	for i := range out {
		out[i] = prefix + out[i]
	}
	return out
}

// cutLast splits s at its last sep: "a,b,c" -> "a,b", "c".
func cutLast(s, sep string) (string, string) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", s
	}
	return s[:i], s[i+1:]
}

func joinList(done, item string) string {
	if done == "" {
		return item
	}
	return done + "," + item
}

func (c *completer) positional() []string {
	if c.mcp {
		return nil
	}
	if c.cmd == nil {
		names := []string{"mcp"}
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		return names
	}
	n := len(c.args)
	switch c.cmd.name {
	case "get", "set":
		if n == 0 {
			return c.vaultNames(secretNames)
		}
	case "grant":
		switch n {
		case 0:
			return c.vaultNames(agentNames)
		case 1:
			return c.vaultNames(groupNames)
		}
	case "revoke":
		switch n {
		case 0:
			return c.vaultNames(agentNames)
		case 1:
			return c.vaultNames(func(m *core.Manifest) []string {
				if a := m.Agent(c.args[0]); a != nil {
					return a.Groups
				}
				return nil
			})
		}
	case "remove-agent", "recover-agent", "restore-agent":
		if n == 0 {
			return c.vaultNames(agentNames)
		}
	case "completions":
		if n == 0 {
			return shells
		}
	case "init":
		if n == 0 {
			return []string{dirDirective}
		}
	}
	return nil
}

// vaultNames opens the vault the command line names (or the one around the
// working directory) and picks names from its manifest.
func (c *completer) vaultNames(pick func(*core.Manifest) []string) []string {
	cx := &ctx{env: c.env, o: &opts{repo: c.repo}}
	root, err := cx.root()
	if err != nil {
		return nil
	}
	v, err := core.Open(os.DirFS(root))
	if err != nil {
		return nil
	}
	m, err := v.Manifest()
	if err != nil {
		return nil
	}
	out := slices.Clone(pick(m))
	sort.Strings(out)
	return slices.Compact(out)
}

func secretNames(m *core.Manifest) []string {
	var out []string
	for _, g := range m.Groups {
		out = append(out, g.Secrets...)
	}
	return out
}

func groupNames(m *core.Manifest) []string {
	var out []string
	for _, g := range m.Groups {
		out = append(out, g.Name)
	}
	return out
}

func agentNames(m *core.Manifest) []string {
	var out []string
	for _, a := range m.Agents {
		out = append(out, a.Name)
	}
	return out
}
