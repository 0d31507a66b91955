package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/gctune"
	"github.com/agent-vault/agent-vault/internal/keyfile"
)

func init() {
	register(&command{
		name: "grant", args: "<agent> <group>", minArgs: 2, maxArgs: 2,
		summary: "let an agent read a group",
		details: `Adds the group to the agent in the manifest and re-encrypts the group's
secrets to include the agent. Needs the owner key.`,
		flags: repoKeyFlags,
		run:   runGrant,
	})
	register(&command{
		name: "revoke", args: "<agent> <group>", minArgs: 2, maxArgs: 2,
		summary: "stop an agent reading a group",
		details: `Removes the group from the agent and re-encrypts the group's secrets without
it, so the current files no longer open with its key. Prints the credentials to
rotate at their source: Git history still holds the old ciphertext. Needs the
owner key.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			repoKeyFlags(fs, o)
			fs.BoolVar(&o.json, "json", false, "print the secrets to rotate as JSON")
		},
		run: runRevoke,
	})
	register(&command{
		name: "check", args: "", summary: "audit the vault; exit non-zero on errors",
		details: `Reports expired secrets and secrets expiring within 30 days, agents without
access, empty groups, orphaned files, manifest entries without files, missing
public keys or escrows, metadata that disagrees with the manifest, ciphertext
whose recipients disagree with the policy (verified with the owner key when it
is available), and operations left half-finished. --repair finishes such an
operation (needs the owner key). Exits 9 when any error is found.

It also reports what the owner's signature does not cover: files changed
since the signed version (unsigned_change), a vault never signed, escrows that
do not hold their agent's key (escrow_mismatch, with the owner key), an
owner.pub that is not the owner key's (owner_key_replaced), and a journal
committed inside .agent-vault (tracked_journal), which is never applied.
Accept changes you made yourself with 'agent-vault seal'.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			repoKeyFlags(fs, o)
			fs.BoolVar(&o.json, "json", false, "print JSON")
			fs.BoolVar(&o.repair, "repair", false, "finish an interrupted operation first")
		},
		run: runCheck,
	})
}

func runGrant(c *ctx, args []string) error {
	agent, group := args[0], args[1]
	var n int
	err := c.edit(editSpec{op: "grant", args: args}, fmt.Sprintf("grant %s %s", agent, group), func(e *core.Editor) error {
		secrets, err := e.Grant(agent, group)
		n = len(secrets)
		return err
	})
	if err = finished(err); err != nil {
		return err
	}
	c.printf("Granted %s access to group %s (%d secrets re-encrypted).\n", agent, group, n)
	return nil
}

func runRevoke(c *ctx, args []string) error {
	agent, group := args[0], args[1]
	var rotate []string
	err := c.edit(editSpec{op: "revoke", args: args}, fmt.Sprintf("revoke %s %s", agent, group), func(e *core.Editor) error {
		var err error
		rotate, err = e.Revoke(agent, group)
		return err
	})
	if err = finished(err); err != nil {
		return err
	}
	return c.reportRotation(fmt.Sprintf("Revoked %s's access to group %s.", agent, group), rotate)
}

func runCheck(c *ctx, args []string) error {
	gctune.Apply()
	owner, keyErr := c.identity()
	if errors.Is(keyErr, keyfile.ErrTooOpen) {
		return keyErr // not a missing key: check would silently skip what it verifies
	}
	if c.o.repair {
		if keyErr != nil {
			return keyErr
		}
		var repaired string
		var moved []string
		err := c.edit(editSpec{}, "repair", func(e *core.Editor) error {
			var err error
			if repaired, err = e.Repair(); err != nil {
				return err
			}
			moved, err = e.Relocate()
			return err
		})
		if err != nil {
			return err
		}
		if repaired != "" && !c.o.json {
			c.printf("Finished the interrupted %s.\n", repaired)
		}
		if len(moved) > 0 && !c.o.json {
			c.printf("Moved %d secret(s) to the original agent-vault's layout: %s\n", len(moved), strings.Join(moved, ", "))
		}
	}
	v, root, err := c.openRead()
	if err != nil {
		return err
	}
	if ch, err := core.ResolveKey(c.keySpec()); owner != nil && err == nil && ch.Source == core.SourceEnv && !v.IsOwner(owner) {
		owner = nil // an agent key from the environment: verify headers only
	}
	copts := core.CheckOptions{Now: time.Now(), Owner: owner, JournalTracked: journalTracked(root)}
	if local := openLocal(root); local != nil {
		defer local.Close()
		copts.Local = local
	}
	findings, err := v.Check(copts)
	if err != nil {
		return err
	}
	errs := 0
	for _, f := range findings {
		if f.Severity == core.SeverityError {
			errs++
		}
	}
	if errs > 0 {
		c.exit = exitCheckFailed
	}
	if c.o.json {
		if findings == nil {
			findings = []core.Finding{}
		}
		return json.NewEncoder(c.env.Stdout).Encode(map[string]any{
			"findings": findings, "errors": errs, "warnings": len(findings) - errs,
			"ciphertext_verified": owner != nil,
		})
	}
	if owner == nil {
		c.printf("note: no owner key available, so ciphertext was checked by header only\n")
	}
	if len(findings) == 0 {
		c.printf("No problems found.\n")
		return nil
	}
	tw := tabwriter.NewWriter(c.env.Stdout, 0, 4, 2, ' ', 0)
	for _, f := range findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Severity, f.Kind, f.Message)
	}
	tw.Flush()
	c.printf("%d errors, %d warnings\n", errs, len(findings)-errs)
	return nil
}
