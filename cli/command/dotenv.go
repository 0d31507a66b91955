package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/joho/godotenv"
	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
)

func init() {
	register(&command{
		name: "import", args: "<file | ->", minArgs: 1, maxArgs: 1,
		summary: "store every variable of a dotenv file as a secret, in one commit",
		details: `Reads a dotenv file ('-' for standard input) and stores each KEY as the
secret <group>/KEY, all in one journaled operation and one commit. Without
--group, each KEY is a secret of the "default" group.

The file may use 'export KEY=value', '#' comments, single quotes (literal),
double quotes (with \n, \", \\ and \$ escapes) and double-quoted values that
span several lines, such as certificates. As in other dotenv tools, $NAME and
${NAME} in unquoted and double-quoted values are replaced by variables defined
earlier in the same file (never from your environment): put a value in single
quotes to keep a '$' literal. An existing secret of the same path gets the new
value, as with set.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			repoKeyFlags(fs, o)
			fs.StringVar(&o.group, "group", "", "store the secrets as <group>/KEY in this group")
			fs.BoolVar(&o.json, "json", false, "print what was stored as JSON")
		},
		run: runImport,
	})
	register(&command{
		name: "export", args: "", minArgs: 0, maxArgs: 0,
		summary: "write the secrets this key can read as dotenv or JSON",
		details: `Decrypts secrets and writes them to standard output: with --group, every secret
of the group (the key must be able to read them all); without it, every secret
this key can read. Nothing is written unless every value could be read.

Names: with --group g, a secret g/KEY is written as KEY; otherwise the whole
path is the name. Characters a variable name cannot hold become '_' (so
stripe/api-key becomes stripe_api_key), and two secrets that would get the same
name are an error. Values are quoted so that 'agent-vault import' reads back
exactly the same bytes, multi-line values and quotes included; a value no
dotenv quoting can carry (a NUL byte, text that is not UTF-8) is an error:
use --format json, or get.

The output holds plaintext: send it to a pipe or to a file only you can read.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			repoKeyFlags(fs, o)
			fs.StringVar(&o.group, "group", "", "only this group, with names relative to it")
			fs.String("format", "dotenv", "output format: dotenv or json")
			readFlags(fs, o)
		},
		run: runExport,
	})
}

// maxImport bounds a dotenv file read by import.
const maxImport = 16 << 20

func runImport(c *ctx, args []string) error {
	if c.o.group != "" {
		if err := core.ValidateName("group", c.o.group); err != nil {
			return err
		}
	}
	var data []byte
	var err error
	if args[0] == "-" {
		data, err = readBounded(c.env.Stdin, maxImport, "standard input")
	} else {
		p := args[0]
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.env.Dir, p)
		}
		data, err = readFileBounded(p, maxImport)
	}
	if err != nil {
		return &core.Error{Code: core.CodeInvalidInput, Msg: "failed to read " + args[0], Err: err}
	}
	defer clear(data)
	vars, err := parseDotenv(data)
	if err != nil {
		return &core.Error{Code: core.CodeInvalidInput, Msg: args[0] + ": " + err.Error(),
			Hint: "lines look like KEY=value, KEY=\"value\" or KEY='value'; check for an unclosed quote"}
	}
	if len(vars) == 0 {
		return &core.Error{Code: core.CodeInvalidInput, Msg: args[0] + " defines no variables"}
	}
	values := make(map[string][]byte, len(vars))
	for k, v := range vars {
		p := k
		if c.o.group != "" {
			p = c.o.group + "/" + k
		}
		if err := core.ValidateSecretPath(p); err != nil {
			return err
		}
		values[p] = []byte(v)
	}
	defer func() {
		for _, v := range values {
			clear(v)
		}
	}()
	paths := make([]string, 0, len(values))
	for p := range values {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	msg := fmt.Sprintf("import %d secrets", len(paths))
	if c.o.group != "" {
		msg += " into " + c.o.group
	}
	err = c.edit(editSpec{}, msg, func(e *core.Editor) error {
		return e.SetMany(values, core.SetOptions{Group: c.o.group})
	})
	if err != nil {
		return err
	}
	if c.o.json {
		return json.NewEncoder(c.env.Stdout).Encode(map[string]any{"group": c.o.group, "secrets": paths})
	}
	c.printf("Imported %d secrets: %s\n", len(paths), strings.Join(paths, ", "))
	return nil
}

// parseDotenv parses a dotenv file with godotenv. Its error messages can
// quote the text around the fault, which may be a value, so only a
// generic message is passed on.
func parseDotenv(data []byte) (map[string]string, error) {
	vars, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		return nil, fmt.Errorf("not a valid dotenv file")
	}
	return vars, nil
}

func runExport(c *ctx, args []string) error {
	format, _ := c.fs.GetString("format")
	if format != "dotenv" && format != "json" {
		return &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("unknown --format %q", format), Hint: "use dotenv or json"}
	}
	if c.o.group != "" {
		if err := core.ValidateName("group", c.o.group); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	rd, err := c.openReader(ctx, needKey)
	if err != nil {
		return err
	}
	secrets, err := exportable(ctx, rd, c.o.group)
	if err != nil {
		return err
	}
	names := map[string]string{} // variable -> secret
	values := map[string]string{}
	defer clear(values)
	for _, s := range secrets {
		name := exportName(s, c.o.group)
		if prev, ok := names[name]; ok {
			return &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("secrets %s and %s would both be written as %s", prev, s, name),
				Hint: "export them with --group, or rename one"}
		}
		names[name] = s
		v, err := c.getValue(ctx, rd, s)
		if err != nil {
			return err
		}
		values[name] = string(v)
		clear(v)
	}
	var out bytes.Buffer
	defer func() { clear(out.Bytes()) }()
	if format == "json" {
		for name, v := range values {
			if !utf8.ValidString(v) {
				return &core.Error{Code: core.CodeInvalidInput, Msg: "secret " + names[name] + " is binary, which JSON text cannot carry",
					Hint: "read it with agent-vault get"}
			}
		}
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(values); err != nil {
			return err
		}
	} else {
		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			q, ok := quoteDotenv(k, values[k])
			if !ok {
				return &core.Error{Code: core.CodeInvalidInput, Msg: "secret " + names[k] + " cannot be written as a dotenv value",
					Hint: "use --format json, or read it with agent-vault get"}
			}
			out.WriteString(k + "=" + q + "\n")
		}
	}
	_, err = c.env.Stdout.Write(out.Bytes())
	return err
}

// exportable lists the secrets to export: every secret of group, which the
// key must be able to read (get reports it otherwise), or without a group
// every secret this key can read.
func exportable(ctx context.Context, rd *reader.Reader, group string) ([]string, error) {
	metas, err := rd.List(ctx, reader.ListOptions{Group: group, All: group != ""})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range metas {
		out = append(out, m.Name)
	}
	if len(out) == 0 && group != "" {
		return nil, &core.Error{Code: core.CodeSecretNotFound, Msg: "group " + group + " has no secrets",
			Hint: "run 'agent-vault list' to see the groups"}
	}
	return out, nil
}

// exportName turns a secret path into a variable name: relative to group
// when it is inside it, with every other character than letters, digits
// and '_' replaced by '_', and a leading digit guarded by '_'.
func exportName(secret, group string) string {
	if group != "" {
		secret = strings.TrimPrefix(secret, group+"/")
	}
	b := []byte(secret)
	for i, ch := range b {
		if !(ch == '_' || 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9') {
			b[i] = '_'
		}
	}
	if b[0] >= '0' && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}

// quoteDotenv writes value the way the import parser reads it back
// exactly. Single quotes are literal; double quotes take escapes. The
// parser has corners (a value ending in a quote or a backslash), so each
// form is checked by parsing it back, and the first that survives wins.
func quoteDotenv(name, value string) (string, bool) {
	if strings.IndexByte(value, 0) >= 0 || !utf8.ValidString(value) {
		return "", false
	}
	dq := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`, "\r", `\r`).Replace(value)
	for _, q := range []string{"'" + value + "'", `"` + dq + `"`, value} {
		got, err := godotenv.Unmarshal(name + "=" + q)
		if err == nil && len(got) == 1 && got[name] == value {
			return q, true
		}
	}
	return "", false
}
