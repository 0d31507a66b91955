// Package runner starts a program with secrets in its environment and
// masks them in its output. The agent-vault run command and the MCP
// server's agent_vault_run tool both use it, so both refuse the same
// variable names, build the environment the same way and mask alike.
package runner

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/mask"
)

// Var is one secret to inject: the variable, the secret it comes from,
// and the value.
type Var struct {
	Name   string
	Secret string
	Value  []byte
}

// Scheme prefixes a secret reference in an environment variable, as in
// STRIPE_KEY=agent-vault://stripe/api-key.
const Scheme = "agent-vault://"

// loaderNames change how programs are loaded or run rather than what they
// are told, so a secret's value there would become code or search paths.
var loaderNames = []string{
	"PATH", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS",
	"NODE_OPTIONS", "NODE_PATH",
	"PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME",
	"PERL5OPT", "PERL5LIB", "RUBYOPT", "RUBYLIB",
	"GCONV_PATH",
}

// loaderPrefixes are the dynamic loaders' own variables (LD_PRELOAD,
// LD_LIBRARY_PATH, LD_AUDIT, ... and DYLD_INSERT_LIBRARIES, ...).
var loaderPrefixes = []string{"LD_", "DYLD_"}

// Refused reports whether name is one that changes how programs load or
// run. Names are compared in upper case, as Windows does.
func Refused(name string) bool {
	up := strings.ToUpper(name)
	if slices.Contains(loaderNames, up) {
		return true
	}
	for _, p := range loaderPrefixes {
		if strings.HasPrefix(up, p) {
			return true
		}
	}
	return false
}

// CheckName checks that name may receive a secret: a portable variable
// name ([A-Za-z_][A-Za-z0-9_]*), not the key variable, and not one that
// changes how programs load or run unless it is in allowed.
func CheckName(name string, allowed []string) error {
	if !validName(name) {
		return &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("invalid variable name %q", clip(name)),
			Hint: "variable names use letters, digits and '_', and do not start with a digit"}
	}
	if strings.EqualFold(name, core.KeyEnv) {
		return &core.Error{Code: core.CodeInvalidInput, Msg: core.KeyEnv + " is never passed to the command",
			Hint: "the command gets secrets, not the key that decrypts them"}
	}
	if Refused(name) && !slices.Contains(allowed, name) {
		return &core.Error{Code: core.CodeInvalidInput,
			Msg:  fmt.Sprintf("refusing to put a secret in %s: it changes how programs are loaded or run", name),
			Hint: fmt.Sprintf("if that is really meant, pass --allow-var %s", name)}
	}
	return nil
}

func validName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// clip shortens a name for a message, so a value pasted where a name
// belongs is not echoed whole.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// Environ builds the child's environment: base without the key variable,
// with each Var set (replacing an inherited variable of the same name).
// A value holding a NUL byte cannot live in an environment, so it is
// refused rather than cut short.
func Environ(base []string, vars []Var) ([]string, error) {
	set := map[string]bool{}
	for _, v := range vars {
		if bytes.IndexByte(v.Value, 0) >= 0 {
			return nil, &core.Error{Code: core.CodeInvalidInput,
				Msg:  fmt.Sprintf("secret %s holds a NUL byte, which an environment variable cannot carry", v.Secret),
				Hint: "binary secrets cannot be injected; read them with agent-vault get instead"}
		}
		set[envKey(v.Name)] = true
	}
	out := make([]string, 0, len(base)+len(vars))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if strings.EqualFold(name, core.KeyEnv) || set[envKey(name)] {
			continue
		}
		out = append(out, kv)
	}
	for _, v := range vars {
		out = append(out, v.Name+"="+string(v.Value))
	}
	return out, nil
}

// Label is what replaces a secret's value in masked output.
func Label(secret string) string { return "<agent-vault:" + secret + ">" }

// MaskSet compiles the masks for vars. A value shared by several secrets
// is labelled with the first secret path in sorted order, so the output
// does not depend on the order of the flags.
func MaskSet(vars []Var) *mask.Set {
	sorted := slices.Clone(vars)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Secret < sorted[j].Secret })
	ps := make([]mask.Pattern, 0, len(sorted))
	for _, v := range sorted {
		ps = append(ps, mask.Pattern{Value: v.Value, Replacement: []byte(Label(v.Secret))})
	}
	return mask.Compile(ps)
}

// envKey is the form under which two names are the same variable: Windows
// ignores case, Unix does not.
func envKey(name string) string {
	if runtime.GOOS == "windows" {
		return strings.ToUpper(name)
	}
	return name
}
