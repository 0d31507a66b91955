package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

func repoFlag(fs *pflag.FlagSet, o *opts) {
	fs.StringVar(&o.repo, "repo", "", "vault repository (default: the one containing the current directory)")
}

func keyFlag(fs *pflag.FlagSet, o *opts) {
	fs.StringVar(&o.key, "key", "", "private key file (default: $AGENT_VAULT_KEY, then ~/.agent-vault/owner.key)")
	insecureKeyFlag(fs, o)
}

// insecureKeyFlag is for every command that reads a key file: one that
// group or others can access is refused unless this is given.
func insecureKeyFlag(fs *pflag.FlagSet, o *opts) {
	fs.BoolVar(&o.insecureKeyPerms, "insecure-key-permissions", false, "use a key file that group or others can access (refused otherwise, as ssh does)")
}

func repoKeyFlags(fs *pflag.FlagSet, o *opts) { repoFlag(fs, o); keyFlag(fs, o) }

func init() {
	register(&command{
		name: "add-agent", args: "<name>", minArgs: 1, maxArgs: 1,
		summary: "create an agent with its own key",
		details: `Creates a keypair for the agent. The private key is written to
~/.agent-vault/agents/<name>.key (mode 0600; an existing file is never
overwritten). The vault gets the public key and an escrow copy of the private
key encrypted to the owner. The agent starts with no groups: use 'grant'.`,
		flags: func(fs *pflag.FlagSet, o *opts) { repoFlag(fs, o); insecureKeyFlag(fs, o) },
		run:   runAddAgent,
	})
	register(&command{
		name: "remove-agent", args: "<name>", minArgs: 1, maxArgs: 1,
		summary: "delete an agent and re-encrypt its secrets without it",
		details: `Removes the agent from the manifest and the repository and re-encrypts every
secret it could read, so the current files no longer open with its key. Prints
the credentials to rotate at their source: the agent may have kept copies, and
Git history still holds the old ciphertext. Needs the owner key.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			repoKeyFlags(fs, o)
			fs.BoolVar(&o.json, "json", false, "print the secrets to rotate as JSON")
		},
		run: runRemoveAgent,
	})
	register(&command{
		name: "list-agents", args: "", summary: "list agents and their groups",
		details: "Lists every agent with its groups and public key. Never decrypts anything.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			repoFlag(fs, o)
			fs.BoolVar(&o.json, "json", false, "print JSON")
		},
		run: runListAgents,
	})
	register(&command{
		name: "recover-agent", args: "<name>", minArgs: 1, maxArgs: 1,
		summary: "give an agent a new key and re-encrypt its secrets",
		details: `For a lost or leaked agent key: creates a new keypair and escrow and
re-encrypts the agent's secrets so only the new key (not the old one) opens
them. The new key is written to ~/.agent-vault/agents/<name>.key; an existing
file there is first renamed to <name>.key.replaced-<time>. Needs the owner key.`,
		flags: repoKeyFlags,
		run:   runRecoverAgent,
	})
	register(&command{
		name: "restore-agent", args: "<name> --to <path>", minArgs: 1, maxArgs: 1,
		summary: "write an agent's original key from its escrow",
		details: `Decrypts the agent's escrow with the owner key and writes the original private
key to --to (mode 0600). Refuses to overwrite an existing file unless --force.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			repoKeyFlags(fs, o)
			fs.StringVar(&o.to, "to", "", "where to write the key (required)")
			fs.BoolVar(&o.force, "force", false, "overwrite an existing file at --to")
		},
		run: runRestoreAgent,
	})
}

func runAddAgent(c *ctx, args []string) error {
	name := args[0]
	keyPath, err := c.agentKeyPath(name)
	if err != nil {
		return err
	}
	owner, err := c.identity()
	if err != nil {
		return err
	}
	if err := checkPinFree(keyPath, owner); err != nil {
		return err
	}
	err = c.edit(editSpec{}, "add agent "+name, func(e *core.Editor) error {
		if err := e.CheckNewAgent(name); err != nil {
			return err
		}
		if _, err := os.Lstat(keyPath); err == nil {
			return &core.Error{Code: core.CodeConflict, Msg: "a key file already exists at " + keyPath,
				Hint: "move it away if it is stale; agent-vault never overwrites key files"}
		}
		key, err := writeNewKey(keyPath)
		if err != nil {
			return err
		}
		defer clear(key)
		if err := e.AddAgent(name, key); err != nil {
			os.Remove(keyPath) // the vault never referenced it
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	pin, pinPath, err := writePin(keyPath, owner)
	if err != nil {
		return err
	}
	c.printf("Added agent %s (no groups yet).\n", name)
	c.printf("Agent key: %s\n", keyPath)
	c.printf("Owner pin: %s (%s, fingerprint %s)\n", pinPath, pin, core.Fingerprint(pin))
	c.printf("Give the agent both files; in CI set %s=%s instead of the pin file.\n", core.OwnerKeyEnv, pin)
	c.printf("Give the agent access with: agent-vault grant %s <group>\n", name)
	return nil
}

func runRemoveAgent(c *ctx, args []string) error {
	name := args[0]
	var rotate []string
	err := c.edit(editSpec{op: "remove-agent", args: args}, "remove agent "+name, func(e *core.Editor) error {
		var err error
		rotate, err = e.RemoveAgent(name)
		return err
	})
	if err = finished(err); err != nil {
		return err
	}
	return c.reportRotation(fmt.Sprintf("Removed agent %s.", name), rotate)
}

// reportRotation tells the owner which credentials an agent could have
// copied. Re-encryption protects the current files only.
func (c *ctx) reportRotation(done string, rotate []string) error {
	if c.o.json {
		if rotate == nil {
			rotate = []string{}
		}
		return json.NewEncoder(c.env.Stdout).Encode(map[string]any{"rotate": rotate, "git_history_has_old_ciphertext": true})
	}
	c.printf("%s\n", done)
	if len(rotate) == 0 {
		c.printf("No secrets were affected.\n")
		return nil
	}
	c.printf("Rotate these credentials at their source (the agent could read them):\n")
	for _, s := range rotate {
		c.printf("  %s\n", s)
	}
	c.printf("Note: Git history still holds the old ciphertext, which the old key can decrypt.\n")
	return nil
}

func runListAgents(c *ctx, args []string) error {
	// The policy as this clone has it: an owner tool does not pull.
	c.o.noPull = true
	r, err := c.openReader(context.Background(), noKey)
	if err != nil {
		return err
	}
	policy, err := r.Agents(context.Background())
	if err != nil {
		return err
	}
	agents := policy.Agents
	if c.o.json {
		return json.NewEncoder(c.env.Stdout).Encode(agents)
	}
	if len(agents) == 0 {
		c.printf("No agents. Add one with: agent-vault add-agent <name>\n")
		return nil
	}
	tw := tabwriter.NewWriter(c.env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tGROUPS\tPUBLIC KEY")
	for _, a := range agents {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Name, orDash(strings.Join(a.Groups, ",")), orDash(a.PublicKey))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runRecoverAgent(c *ctx, args []string) error {
	name := args[0]
	keyPath, err := c.agentKeyPath(name)
	if err != nil {
		return err
	}
	owner, err := c.identity()
	if err != nil {
		return err
	}
	if err := checkPinFree(keyPath, owner); err != nil {
		return err
	}
	var moved string
	var affected []string
	err = c.edit(editSpec{op: "recover-agent", args: args}, "recover agent "+name, func(e *core.Editor) error {
		if e.Manifest().Agent(name) == nil {
			return &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("unknown agent %q", name)}
		}
		if _, err := os.Lstat(keyPath); err == nil {
			moved = fmt.Sprintf("%s.replaced-%s", keyPath, time.Now().UTC().Format("20060102T150405Z"))
			if err := os.Rename(keyPath, moved); err != nil {
				return fmt.Errorf("failed to move the old key aside: %w", err)
			}
		}
		key, err := writeNewKey(keyPath)
		if err != nil {
			return err
		}
		defer clear(key)
		affected, err = e.RecoverAgent(name, key)
		return err
	})
	if err = finished(err); err != nil {
		return err
	}
	if moved != "" {
		c.printf("The old key file was moved to %s\n", moved)
	}
	c.printf("Recovered agent %s: %d secrets re-encrypted to the new key.\n", name, len(affected))
	c.printf("New agent key: %s\n", keyPath)
	if _, pinPath, err := writePin(keyPath, owner); err == nil {
		c.printf("Owner pin: %s\n", pinPath)
	} else {
		c.warnf("could not write the owner pin: %v", err)
	}
	c.printf("The old key no longer opens the current files; Git history still holds old ciphertext.\n")
	return nil
}

func runRestoreAgent(c *ctx, args []string) error {
	name := args[0]
	if c.o.to == "" {
		return &core.Error{Code: core.CodeInvalidInput, Msg: "restore-agent needs --to <path>"}
	}
	home, _ := c.home()
	to := core.ExpandHome(c.o.to, home)
	if !filepath.IsAbs(to) {
		to = filepath.Join(c.env.Dir, to)
	}
	if _, err := os.Lstat(to); err == nil && !c.o.force {
		return &core.Error{Code: core.CodeConflict, Msg: to + " already exists", Hint: "choose another path, or pass --force to overwrite it"}
	}
	root, err := c.root()
	if err != nil {
		return err
	}
	owner, err := c.identity()
	if err != nil {
		return err
	}
	d, err := osfs.Open(filepath.Join(root, core.DirName))
	if err != nil {
		return err
	}
	defer d.Close()
	e, err := core.Edit(d, core.EditOptions{Owner: owner})
	if err != nil {
		return err
	}
	key, err := e.RestoreAgent(name)
	if err != nil {
		return err
	}
	defer clear(key)
	if c.o.force {
		os.Remove(to)
	}
	if err := osfs.WriteKeyFile(to, key); err != nil {
		if errors.Is(err, osfs.ErrKeyExists) {
			return &core.Error{Code: core.CodeConflict, Msg: to + " already exists"}
		}
		return err
	}
	c.printf("Restored the key of agent %s to %s (mode 0600).\n", name, to)
	return nil
}

// agentKeyPath is where this machine keeps an agent's key.
func (c *ctx) agentKeyPath(name string) (string, error) {
	home, err := c.home()
	if err != nil {
		return "", err
	}
	return core.AgentKeyPath(home, name), nil
}

// writeNewKey generates a key and writes it to path (0600, never over an
// existing file) before the vault refers to it, so a key the vault trusts
// is always on disk. The caller clears the returned key.
func writeNewKey(path string) ([]byte, error) {
	key, _, err := core.NewKey()
	if err != nil {
		return nil, err
	}
	if err := osfs.WriteKeyFile(path, key); err != nil {
		clear(key)
		return nil, err
	}
	return key, nil
}
