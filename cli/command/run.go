package command

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/runner"
)

func init() {
	register(&command{
		name: "run", args: "[flags] -- <command> [args...]", minArgs: 1, maxArgs: 1 << 20,
		summary: "run a command with secrets in its environment, masked in its output",
		details: `Decrypts the secrets with your key (owner or agent), puts them in the
command's environment, and runs it. The values never appear on your terminal
or in the command line, and are masked in what the command prints.

Where the secrets come from:
  --env NAME=secret/path     one variable; repeat for several
  --env-file FILE            lines of NAME=secret/path ('#' comments, blank lines,
                             an optional 'export ' prefix)
  the environment            any inherited variable whose value is a reference,
                             such as STRIPE_KEY=agent-vault://stripe/api-key
A later source wins: --env over --env-file over the environment.

  agent-vault run --env STRIPE_KEY=stripe/api-key -- ./deploy.sh
  STRIPE_KEY=agent-vault://stripe/api-key agent-vault run -- npm test

Everything is read first, with one pull: if any secret cannot be read, the
command is not started and the error and exit code are those of get (5 for
a secret this key may not read).

Masking. Every injected value is replaced by <agent-vault:secret/path> in the
command's stdout and stderr, as the output streams. A value split across
writes is still masked: bytes at the end of a write that could be the start
of a value are held back until the following bytes show they are not, and
everything else passes at once, byte for byte (binary output included).
What is held back is written when the command exits. With masking on, the
command's stdout and stderr are pipes, not your terminal, so programs that
check for a terminal behave as they do in a pipeline. Masking hides values
from logs and screens; a program that wants to reveal a value can still
encode it first, so run only programs you trust with the secret.

--no-masking hands the command your real terminal (stdin, stdout and stderr
are inherited as they are), for interactive programs, and prints values
unchanged if the command prints them.

Signals. SIGINT, SIGTERM and SIGHUP are passed on to the command (a Ctrl-C
at the terminal reaches it directly), and agent-vault exits with the
command's exit code, or 128+n if signal n ended it. 127 means the command
was not found, 126 that it could not be started.

Refused names. Variables that change how programs are loaded or run (PATH,
IFS, ENV, BASH_ENV, LD_*, DYLD_*, NODE_OPTIONS, PYTHONPATH, PYTHONSTARTUP,
PERL5OPT, RUBYOPT and similar) are refused as targets unless named with
--allow-var. AGENT_VAULT_KEY is never passed to the command.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.SetInterspersed(false)
			fs.StringArray("env", nil, "set variable NAME from a secret (NAME=secret/path); repeatable")
			fs.StringArray("env-file", nil, "read NAME=secret/path lines from FILE; repeatable")
			fs.Bool("no-masking", false, "do not mask values; the command gets the real terminal (for interactive programs)")
			fs.StringArray("allow-var", nil, "allow a secret in NAME even though it changes how programs load (such as PATH); repeatable")
			repoKeyFlags(fs, o)
			readFlags(fs, o)
		},
		run: runRun,
	})
}

// ref is one variable to fill from a secret, and where it was asked for.
type ref struct {
	name, secret, from string
}

func runRun(c *ctx, args []string) error {
	envFlags, _ := c.fs.GetStringArray("env")
	envFiles, _ := c.fs.GetStringArray("env-file")
	noMasking, _ := c.fs.GetBool("no-masking")
	allowVars, _ := c.fs.GetStringArray("allow-var")

	refs, err := c.runRefs(os.Environ(), envFiles, envFlags)
	if err != nil {
		return err
	}
	// Names and paths are checked before the vault is touched.
	for _, r := range refs {
		if err := runner.CheckName(r.name, allowVars); err != nil {
			return withSource(err, r.from)
		}
		if err := core.ValidateSecretPath(r.secret); err != nil {
			return withSource(err, r.from)
		}
	}
	vars, err := c.readVars(refs)
	defer func() {
		for _, v := range vars {
			clear(v.Value)
		}
	}()
	if err != nil {
		return err
	}
	env, err := runner.Environ(os.Environ(), vars)
	if err != nil {
		return err
	}
	spec := runner.Spec{Argv: args, Env: env, Dir: c.env.Dir, Stdin: c.env.Stdin,
		Stdout: c.env.Stdout, Stderr: c.env.Stderr, ForwardSignals: true}
	if !noMasking && len(vars) > 0 {
		spec.Mask = runner.MaskSet(vars)
	}
	res, err := runner.Run(context.Background(), spec)
	var se *runner.StartError
	if errors.As(err, &se) {
		fail(c.env, &core.Error{Code: core.CodeInvalidInput, Msg: se.Error(),
			Hint: "check the command name; it is looked up in PATH"})
		c.exit = 126
		if se.NotFound() {
			c.exit = 127
		}
		return nil
	}
	if err != nil {
		return err
	}
	c.exit = res.ExitCode
	return nil
}

// readVars decrypts every secret the refs name, each once, through one
// reader, so a run pulls once. Nothing is returned unless all of them could be read.
func (c *ctx) readVars(refs []ref) ([]runner.Var, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	rd, err := c.openReader(ctx, needKey)
	if err != nil {
		return nil, err
	}
	values := map[string][]byte{}
	vars := make([]runner.Var, 0, len(refs))
	for _, r := range refs {
		v, ok := values[r.secret]
		if !ok {
			if v, err = c.getValue(ctx, rd, r.secret); err != nil {
				for _, v := range values {
					clear(v)
				}
				return nil, err
			}
			values[r.secret] = v
		}
		vars = append(vars, runner.Var{Name: r.name, Secret: r.secret, Value: v})
	}
	return vars, nil
}

// runRefs gathers the variables to fill: references in the inherited
// environment, then --env-file lines, then --env flags, a later one
// replacing an earlier one of the same name.
func (c *ctx) runRefs(environ, files, flags []string) ([]ref, error) {
	byName := map[string]ref{}
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		if secret, ok := strings.CutPrefix(val, runner.Scheme); ok {
			byName[name] = ref{name, secret, "environment variable " + name}
		}
	}
	for _, f := range files {
		refs, err := c.readEnvFile(f)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			byName[r.name] = r
		}
	}
	for i, e := range flags {
		r, err := parseRef(e, fmt.Sprintf("--env #%d", i+1))
		if err != nil {
			return nil, err
		}
		byName[r.name] = r
	}
	out := make([]ref, 0, len(byName))
	for _, r := range byName {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// maxEnvFile bounds an --env-file: it maps names to paths, nothing more.
const maxEnvFile = 1 << 20

// readEnvFile parses NAME=secret/path lines.
func (c *ctx) readEnvFile(name string) ([]ref, error) {
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(c.env.Dir, p)
	}
	data, err := readFileBounded(p, maxEnvFile)
	if err != nil {
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "failed to read --env-file " + name, Err: err}
	}
	var refs []ref
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxEnvFile)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		text = strings.TrimSpace(strings.TrimPrefix(text, "export "))
		r, err := parseRef(text, fmt.Sprintf("%s:%d", name, line))
		if err != nil {
			return nil, err
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// parseRef splits NAME=secret/path. The path may carry the agent-vault://
// prefix and be quoted, as in a dotenv file.
func parseRef(s, from string) (ref, error) {
	name, secret, ok := strings.Cut(s, "=")
	name, secret = strings.TrimSpace(name), strings.TrimSpace(secret)
	if !ok || name == "" || secret == "" {
		return ref{}, &core.Error{Code: core.CodeInvalidInput, Msg: from + ": expected NAME=secret/path",
			Hint: "for example STRIPE_KEY=stripe/api-key"}
	}
	if len(secret) >= 2 && (secret[0] == '"' || secret[0] == '\'') && secret[len(secret)-1] == secret[0] {
		secret = secret[1 : len(secret)-1]
	}
	secret = strings.TrimPrefix(secret, runner.Scheme)
	return ref{name, secret, from}, nil
}

// withSource says where a refused name or path was asked for.
func withSource(err error, from string) error {
	var ce *core.Error
	if errors.As(err, &ce) {
		return &core.Error{Code: ce.Code, Msg: from + ": " + ce.Msg, Hint: ce.Hint, Err: ce.Err}
	}
	return fmt.Errorf("%s: %w", from, err)
}
