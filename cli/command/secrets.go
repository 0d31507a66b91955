package command

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/internal/gctune"
)

func init() {
	register(&command{
		name: "set", args: "<path> [<value> | - | --from-file <file>]", minArgs: 1, maxArgs: 2,
		summary: "store a secret",
		details: `Encrypts a value to the owner and every agent granted the secret's group.
The group defaults to the first path segment ("stripe/api-key" -> stripe), or
"default" for a path without '/'. An existing secret keeps its group unless
--group is given, and keeps its creation date.

The value can come from:
  an argument      agent-vault set stripe/api-key sk_live_...   (visible in ps and shell history)
  standard input   printf %s "$KEY" | agent-vault set stripe/api-key -
  a file           agent-vault set tls/cert --from-file cert.pem
  a prompt         agent-vault set stripe/api-key   (on a terminal; input is not echoed)
Values are stored byte for byte, so binary and multi-line values survive.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			repoKeyFlags(fs, o)
			fs.StringVar(&o.group, "group", "", "group of the secret")
			fs.StringVar(&o.agents, "agents", "", "comma-separated agents to grant the secret's group")
			fs.StringVar(&o.expires, "expires", "", "expiry date (RFC 3339, or YYYY-MM-DD)")
			fs.StringVar(&o.fromFile, "from-file", "", "read the value from this file")
		},
		run: runSet,
	})
	register(&command{
		name: "get", args: "<path>", minArgs: 1, maxArgs: 1,
		summary: "decrypt a secret to standard output",
		details: `Writes the secret's value to standard output, byte for byte, and nothing
else. If the repository has an upstream it is fast-forwarded first; when that
fails (offline), a warning goes to stderr and the local state is used.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			repoKeyFlags(fs, o)
			readFlags(fs, o)
		},
		run: runGet,
	})
	register(&command{
		name: "list", args: "", summary: "list secrets (metadata only)",
		details: `Lists secret names, groups, agents and dates. Never decrypts anything.
With an agent key (--key or AGENT_VAULT_KEY) it lists the secrets that key
can read; with the owner key, or no key at all, every secret. --all lists
every secret whatever the key. Like get, it fast-forwards from the upstream
first unless --no-pull.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			repoKeyFlags(fs, o)
			fs.StringVar(&o.group, "group", "", "only this group")
			fs.BoolVar(&o.all, "all", false, "list every secret, not only those the key can read")
			readFlags(fs, o)
			fs.BoolVar(&o.json, "json", false, "print JSON")
		},
		run: runList,
	})
}

func runSet(c *ctx, args []string) error {
	secret := args[0]
	if err := core.ValidateSecretPath(secret); err != nil {
		return err
	}
	var sopts core.SetOptions
	sopts.Group = c.o.group
	if c.o.agents != "" {
		for _, a := range strings.Split(c.o.agents, ",") {
			sopts.Agents = append(sopts.Agents, strings.TrimSpace(a))
		}
	}
	if c.o.expires != "" {
		t, err := core.ParseExpiry(c.o.expires)
		if err != nil {
			return err
		}
		sopts.Expires = &t
	}
	value, err := c.readValue(secret, args[1:])
	if err != nil {
		return err
	}
	defer clear(value)
	err = c.edit(editSpec{}, "set "+secret, func(e *core.Editor) error {
		return e.Set(secret, value, sopts)
	})
	if err != nil {
		return err
	}
	c.printf("Stored %s (%d bytes).\n", secret, len(value))
	return nil
}

// readValue takes the value from exactly one source, never echoing it.
func (c *ctx) readValue(secret string, rest []string) ([]byte, error) {
	if len(rest) == 1 && c.o.fromFile != "" {
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "value given both as an argument and with --from-file",
			Hint: "give the value one way only"}
	}
	switch {
	case c.o.fromFile != "":
		home, _ := c.home()
		p := core.ExpandHome(c.o.fromFile, home)
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.env.Dir, p)
		}
		return readValueFile(p)
	case len(rest) == 1 && rest[0] == "-":
		return readStdinValue(c.env.Stdin)
	case len(rest) == 1:
		return []byte(rest[0]), nil
	case c.env.StdinIsTerminal && c.env.ReadPassword != nil:
		fmt.Fprintf(c.env.Stderr, "Value for %s (input hidden): ", secret)
		data, err := c.env.ReadPassword()
		fmt.Fprintln(c.env.Stderr)
		if err != nil {
			return nil, fmt.Errorf("failed to read the value: %w", err)
		}
		return data, nil
	}
	return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "no value given",
		Hint: "pass the value, '-' to read standard input, or --from-file <file>"}
}

func runGet(c *ctx, args []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	r, err := c.openReader(ctx, needKey)
	if err != nil {
		return err
	}
	value, err := c.getValue(ctx, r, args[0])
	if err != nil {
		return err
	}
	defer clear(value)
	_, err = c.env.Stdout.Write(value)
	return err
}

func runList(c *ctx, args []string) error {
	gctune.Apply()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	r, err := c.openReader(ctx, optionalKey)
	if err != nil {
		return err
	}
	secrets, err := r.List(ctx, reader.ListOptions{Group: c.o.group, All: c.o.all})
	c.readerWarnings(r)
	if err != nil {
		return err
	}
	if c.o.json {
		if secrets == nil {
			secrets = []*core.Metadata{}
		}
		return json.NewEncoder(c.env.Stdout).Encode(secrets)
	}
	if len(secrets) == 0 {
		c.printf("No secrets. Add one with: agent-vault set <group>/<name> -\n")
		return nil
	}
	tw := tabwriter.NewWriter(c.env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tGROUP\tAGENTS\tROTATED\tEXPIRES")
	for _, m := range secrets {
		exp := "-"
		if m.Expires != nil {
			exp = m.Expires.Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, m.Group, orDash(strings.Join(m.AuthorizedAgents, ",")),
			m.Rotated.Format(time.DateOnly), exp)
	}
	return tw.Flush()
}
