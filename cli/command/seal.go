package command

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
)

func init() {
	register(&command{
		name: "seal", args: "", summary: "sign the vault's current state as the owner (accept unsigned changes)",
		details: `Signs the vault's current state with the owner key, after listing every
file that differs from the last signed version: changes made with another
tool (such as the original agent-vault), by hand, or by someone who can push.
Review them first with 'agent-vault check'; once signed, readers with the
owner's pin trust them and owner commands encrypt to the keys they hold.

owner.pub is rewritten from the owner key if it holds another key. On a
terminal seal asks before signing; elsewhere pass --yes. With --json and
without --yes it only prints what it would sign.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			repoKeyFlags(fs, o)
			fs.BoolVar(&o.json, "json", false, "print the review (and outcome) as JSON")
			fs.BoolVarP(&o.yes, "yes", "y", false, "sign without asking")
		},
		run: runSeal,
	})
	register(&command{
		name: "owner-key", args: "", summary: "print the owner's verification key (the readers' pin)",
		details: `Prints the key that verifies the owner's signatures, derived from the owner key:
give it to readers as AGENT_VAULT_OWNER (for CI), or in the <name>.owner file
that add-agent writes beside an agent key. Readers that know it refuse a vault
state the owner did not sign.`,
		flags: func(fs *pflag.FlagSet, o *opts) {
			keyFlag(fs, o)
			fs.BoolVar(&o.json, "json", false, "print JSON with the fingerprint")
		},
		run: runOwnerKey,
	})
}

func runSeal(c *ctx, args []string) error {
	var review *core.SealReview
	sealed := false
	err := c.edit(editSpec{}, "seal the vault state", func(e *core.Editor) error {
		var err error
		if review, err = e.ReviewSeal(); err != nil {
			return err
		}
		if review.FromVersion > 0 && len(review.Changes) == 0 {
			return nil
		}
		if !c.o.json {
			c.printReview(review)
		}
		if !c.o.yes {
			if c.o.json {
				return nil
			}
			if !c.env.StdinIsTerminal {
				return &core.Error{Code: core.CodeInvalidInput, Msg: "seal needs confirmation",
					Hint: "review the list above, then run 'agent-vault seal --yes'"}
			}
			fmt.Fprintf(c.env.Stderr, "Sign this state as version %d? [y/N] ", review.Version)
			line, _ := bufio.NewReader(c.env.Stdin).ReadString('\n')
			if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
				c.printf("Nothing signed.\n")
				return nil
			}
		}
		sealed = true
		return e.Seal(review)
	})
	if err = finished(err); err != nil {
		return err
	}
	if review == nil {
		return nil
	}
	if c.o.json {
		return json.NewEncoder(c.env.Stdout).Encode(map[string]any{"review": review, "sealed": sealed})
	}
	switch {
	case sealed:
		c.printf("Signed version %d of vault %s.\n", review.Version, review.VaultID)
	case len(review.Changes) == 0:
		c.printf("Nothing to seal: the vault matches signed version %d.\n", review.FromVersion)
	}
	return nil
}

// printReview lists what a seal accepts.
func (c *ctx) printReview(r *core.SealReview) {
	if r.FromVersion == 0 {
		c.printf("The vault has never been signed. Signing accepts all of it:\n")
	} else {
		c.printf("Changes since signed version %d:\n", r.FromVersion)
	}
	const shown = 40
	for i, ch := range r.Changes {
		if i == shown {
			c.printf("  ... and %d more (--json lists them all)\n", len(r.Changes)-shown)
			break
		}
		c.printf("  %-9s %s/%s\n", ch.Change, core.DirName, ch.File)
		if ch.Note != "" {
			c.printf("            note: %s\n", ch.Note)
		}
	}
	for _, u := range r.Uncovered {
		c.printf("  not signed (incomplete): %s\n", u)
	}
	c.printf("Owner verification key: %s (fingerprint %s)\n", r.OwnerKey, core.Fingerprint(r.OwnerKey))
}

func runOwnerKey(c *ctx, args []string) error {
	id, err := c.identity()
	if err != nil {
		return err
	}
	pin, err := core.OwnerVerificationKey(id)
	if err != nil {
		return err
	}
	if c.o.json {
		return json.NewEncoder(c.env.Stdout).Encode(map[string]string{"owner_key": pin, "fingerprint": core.Fingerprint(pin)})
	}
	c.printf("%s\n", pin)
	return nil
}
