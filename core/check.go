package core

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// Severity of a check finding. Errors make `check` fail.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Finding is one problem check reports.
type Finding struct {
	Severity string `json:"severity"`
	// Kind is a stable identifier such as "expired" or "orphaned_file".
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Message string `json:"message"`
}

// ExpiryWarning is how far ahead check warns about expiring secrets.
const ExpiryWarning = 30 * 24 * time.Hour

// CheckOptions configures Check.
type CheckOptions struct {
	// Now is the reference time for expiry.
	Now time.Time
	// Owner, when set, lets check verify that every ciphertext opens with
	// the owner key and has as many recipients as the policy says.
	Owner *Identity
	// Local is the clone-local state directory holding the journal of an
	// interrupted operation (see EditOptions.Local).
	Local fs.FS
	// JournalTracked tells that Git tracks a journal inside the vault
	// directory, which only an attack puts there (see signedcheck.go).
	JournalTracked bool
}

// Check audits the vault against its manifest without changing anything.
// It reads metadata and headers only, plus one owner unwrap per secret
// when the owner key is given.
func (v *Vault) Check(opts CheckOptions) ([]Finding, error) {
	if _, err := v.policy(); err != nil {
		return nil, err
	}
	c := &checker{v: v, now: opts.Now, owner: opts.Owner, local: opts.Local}
	if opts.Owner != nil && !v.IsOwner(opts.Owner) { // a replaced owner.pub is owner_key_replaced
		c.add(SeverityError, "wrong_owner_key", "owner.pub", "the key given is not the owner key; ciphertext was not verified")
		c.owner = nil
	}
	c.pending()
	c.signed(opts)
	c.agents()
	c.groups()
	if err := c.files(); err != nil {
		return nil, err
	}
	sort.SliceStable(c.out, func(i, j int) bool {
		if c.out[i].Severity != c.out[j].Severity {
			return c.out[i].Severity == SeverityError
		}
		return c.out[i].Subject < c.out[j].Subject
	})
	return c.out, nil
}

type checker struct {
	v     *Vault
	now   time.Time
	owner *Identity
	local fs.FS
	out   []Finding
	// sv is the verified signed state, nil when unsigned or invalid.
	sv *signedView
	// groupOf maps each secret in the manifest to its group.
	groupOf map[string]string
}

// add records a finding. Subjects and messages quote file names and
// errors from the repository, so both are made safe for a terminal.
func (c *checker) add(sev, kind, subject, format string, args ...any) {
	c.out = append(c.out, Finding{Severity: sev, Kind: kind, Subject: SafeText(subject), Message: SafeText(fmt.Sprintf(format, args...))})
}

func (c *checker) pending() {
	p, err := readJournal(c.local)
	if err != nil {
		c.add(SeverityError, "pending_operation", localJournal, "unreadable journal: %v", err)
		return
	}
	if p != nil {
		c.add(SeverityError, "pending_operation", p.Op, "%s %s started %s did not finish; run 'agent-vault check --repair'",
			p.Op, strings.Join(p.Args, " "), p.Started.Format(time.RFC3339))
	}
}

func (c *checker) agents() {
	m := c.v.manifest
	for _, a := range m.Agents {
		if len(a.Groups) == 0 {
			c.add(SeverityWarning, "agent_without_access", a.Name, "agent %s has no groups", a.Name)
		}
		for _, g := range a.Groups {
			if m.Group(g) == nil {
				c.add(SeverityWarning, "unknown_group", a.Name, "agent %s is granted group %s, which holds no secrets", a.Name, g)
			}
		}
		if _, err := c.v.agentRecipient(a.Name); err != nil {
			c.add(SeverityError, "missing_public_key", a.Name, "agent %s: %v", a.Name, err)
		}
		if !exists(c.v.fsys, escrowFile(a.Name)) {
			c.add(SeverityError, "missing_escrow", a.Name, "agent %s has no escrow; its key cannot be restored", a.Name)
		}
	}
}

func (c *checker) groups() {
	for _, g := range c.v.manifest.Groups {
		if len(g.Secrets) == 0 {
			c.add(SeverityWarning, "empty_group", g.Name, "group %s holds no secrets", g.Name)
		}
		if len(c.v.manifest.AgentsFor(g.Name)) == 0 && len(g.Secrets) > 0 {
			c.add(SeverityWarning, "group_without_agents", g.Name, "no agent is granted group %s", g.Name)
		}
	}
}

// files walks secrets/ and agents/ for orphans and checks every manifest
// entry against its files.
func (c *checker) files() error {
	m := c.v.manifest
	groupOf := m.groupIndex()
	onDisk := map[string]bool{}
	err := fs.WalkDir(c.v.fsys, secretsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == secretsDir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipDir
			}
			c.add(SeverityError, "unreadable", p, "cannot read %s: %v", p, err)
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			c.add(SeverityError, "symlink", p, "%s is a symlink; vault files must be regular files", path.Join(DirName, p))
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if isTempFile(d.Name()) {
			c.add(SeverityWarning, "temp_file", p, "%s was left by an interrupted write; 'agent-vault check --repair' removes it", path.Join(DirName, p))
			return nil
		}
		rel := strings.TrimPrefix(p, secretsDir+"/")
		name, ext := strings.TrimSuffix(rel, path.Ext(rel)), path.Ext(rel)
		if (ext != ".enc" && ext != ".meta") || ValidateSecretPath(name) != nil {
			c.add(SeverityError, "orphaned_file", p, "unexpected file %s", path.Join(DirName, p))
			return nil
		}
		secret := fileSecret(name, groupOf)
		onDisk[secret] = true
		if _, ok := groupOf[secret]; !ok {
			c.add(SeverityError, "orphaned_file", name, "%s is not in the manifest", path.Join(DirName, p))
			return nil
		}
		if legacyBase(secret)+ext == p {
			c.legacy(secret, ext)
		}
		return nil
	})
	if err != nil {
		return err
	}
	names := make([]string, 0, len(groupOf))
	for s := range groupOf {
		names = append(names, s)
	}
	sort.Strings(names)
	// Each secret costs a metadata parse and, with the owner key, an
	// unwrap: check them on every core, then report in name order.
	policy := map[string][]string{}
	for _, g := range m.Groups {
		policy[g.Name] = m.AgentsFor(g.Name)
	}
	found := make([][]Finding, len(names))
	parallel(runtime.GOMAXPROCS(0), len(names), func(i int) error {
		sc := &checker{v: c.v, now: c.now, owner: c.owner, sv: c.sv, groupOf: groupOf}
		sc.secret(names[i], groupOf[names[i]], policy[groupOf[names[i]]])
		found[i] = sc.out
		return nil
	}, nil)
	for _, f := range found {
		c.out = append(c.out, f...)
	}
	if entries, err := fs.ReadDir(c.v.fsys, agentsDir); err == nil {
		for _, e := range entries {
			if m.Agent(e.Name()) == nil {
				c.add(SeverityError, "orphaned_file", e.Name(), "%s belongs to no agent in the manifest", path.Join(DirName, agentsDir, e.Name()))
			}
		}
	}
	return nil
}

// fileSecret names the secret a file under secrets/ belongs to, given its
// name without extension: secrets/default/x is the top-level secret x when
// the manifest has one (the original CLI's place for it), and a file
// directly under secrets/ is a top-level secret in the earlier layout.
func fileSecret(name string, groupOf map[string]string) string {
	if top := sharesFiles(name); top != "" && !strings.Contains(top, "/") {
		if _, ok := groupOf[top]; ok {
			return top
		}
	}
	return name
}

// legacy reports a top-level secret's file found in the earlier layout: a
// stale copy when the original CLI's place holds the file too, else a file
// the original CLI cannot find. Repair moves or removes it.
func (c *checker) legacy(secret, ext string) {
	old, cur := path.Join(DirName, legacyBase(secret)+ext), path.Join(DirName, secretBase(secret)+ext)
	if exists(c.v.fsys, secretBase(secret)+ext) {
		c.add(SeverityError, "shadowed_file", secret,
			"secret %s has files in two places: %s is read and %s is ignored; 'agent-vault check --repair' keeps the more recently rotated one at %s",
			secret, cur, old, cur)
		return
	}
	c.add(SeverityWarning, "legacy_location", secret,
		"%s is where earlier versions kept %s, and the original agent-vault looks for %s; 'agent-vault check --repair' moves it",
		old, secret, cur)
}

// secret checks one secret of group against its files; policy is the
// group's agents.
func (c *checker) secret(s, group string, policy []string) {
	if other := sharesFiles(s); other != "" && !strings.Contains(s, "/") {
		if _, ok := c.groupOf[other]; ok {
			c.add(SeverityError, "path_collision", s, "secrets %s and %s share the files %s.*; rename one of them",
				s, other, path.Join(DirName, secretBase(s)))
		}
	}
	enc := findEncFile(c.v.fsys, s)
	if !exists(c.v.fsys, enc) {
		c.add(SeverityError, "missing_file", s, "secret %s is in the manifest but %s is missing", s, path.Join(DirName, enc))
		return
	}
	meta, err := c.v.Metadata(s)
	if err != nil {
		c.add(SeverityError, "bad_metadata", s, "secret %s: %v", s, err)
		return
	}
	if meta.Group != group {
		c.add(SeverityError, "metadata_mismatch", s, "metadata of %s says group %s, the manifest says %s", s, meta.Group, group)
	}
	// The original tool lists the agents in name order after a grant, this
	// tool in manifest order: the set is what the policy fixes.
	if !sameSet(meta.AuthorizedAgents, policy) {
		c.add(SeverityError, "metadata_mismatch", s, "metadata of %s lists agents [%s], policy grants [%s]",
			s, strings.Join(meta.AuthorizedAgents, ", "), strings.Join(policy, ", "))
	}
	if meta.Expires != nil {
		switch {
		case !meta.Expires.After(c.now):
			c.add(SeverityError, "expired", s, "secret %s expired on %s", s, meta.Expires.Format(time.DateOnly))
		case meta.Expires.Sub(c.now) < ExpiryWarning:
			c.add(SeverityWarning, "expiring", s, "secret %s expires on %s", s, meta.Expires.Format(time.DateOnly))
		}
	}
	ct, err := readFile(c.v.fsys, enc, maxSecretSize)
	if err != nil {
		c.add(SeverityError, "unreadable", s, "secret %s: %v", s, err)
		return
	}
	c.signedSecret(s, ct)
	// One pass over the header: the owner's unwrap counts the stanzas on
	// the way; without the owner key the count alone is taken.
	n := -1
	var decErr error
	if c.owner != nil {
		var pt []byte
		pt, decErr = decryptAs(ct, stanzaCounter{inner: preferredIdentity{inner: c.owner.id, first: 0}, n: &n}, maxSecretSize)
		zero(pt)
	} else {
		n, decErr = stanzaCount(ct)
	}
	if n < 0 || c.owner == nil && decErr != nil {
		c.add(SeverityError, "corrupt_ciphertext", s, "secret %s: %v", s, decErr)
		return
	}
	if n != len(policy)+1 {
		c.add(SeverityError, "recipients_mismatch", s, "secret %s has %d recipients, policy needs %d (owner + %d agents)", s, n, len(policy)+1, len(policy))
	}
	if decErr != nil {
		c.add(SeverityError, "owner_cannot_decrypt", s, "secret %s does not open with the owner key: %v", s, decErr)
	}
}

// sameSet reports whether a and b hold the same names, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
