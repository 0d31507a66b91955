//go:build unix

// Package bench holds the Go benchmarks (run with `go test -bench . ./tests/bench`),
// the vault builder they share, and the pieces of the side-by-side report
// that `make bench` prints (cmd/avbench).
package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

// Group is the group every agent of a benchmark vault is granted.
const Group = "g"

// Vault is a benchmark vault on disk.
type Vault struct {
	// Repo contains .agent-vault/.
	Repo string
	// OwnerKey and AgentKeys are key file contents (throwaway keys).
	OwnerKey  []byte
	AgentKeys [][]byte
	// Agents are the agent names, in manifest order.
	Agents []string
	// Secrets are the secrets of Group, in order.
	Secrets []string
}

// Spec describes a benchmark vault.
type Spec struct {
	// Agents are agent-000, agent-001, ..., all granted Group.
	Agents int
	// Secrets are g/secret-00000, ... in Group, Size bytes each.
	Secrets int
	Size    int
	// ExtraGroups adds groups x1, x2, ... of ExtraSecrets secrets each,
	// granted to agent-000 alone, so that it sits in 1+ExtraGroups groups.
	ExtraGroups  int
	ExtraSecrets int
	// Replicate encrypts one secret per group through core and copies its
	// ciphertext to the group's other secrets, with matching metadata.
	// Every secret then holds the same value, which does not matter for
	// timing, and a vault of 10,000 secrets shared with 200 agents builds
	// in seconds rather than the minutes 2 million X25519 wraps would take.
	Replicate bool
	// Git makes Repo a Git repository with the vault committed, as the
	// CLI expects.
	Git bool
}

// Build creates a vault in dir with agents agents, all granted group "g",
// and secrets secrets of size bytes in that group. It uses core directly
// (one bulk set), so each secret is encrypted once, to everyone.
func Build(dir string, agents, secrets, size int) (*Vault, error) {
	return Make(dir, Spec{Agents: agents, Secrets: secrets, Size: size})
}

// Make creates the vault spec describes in dir.
func Make(dir string, spec Spec) (*Vault, error) {
	vdir := filepath.Join(dir, core.DirName)
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return nil, err
	}
	ownerKey, _, err := core.NewKey()
	if err != nil {
		return nil, err
	}
	owner, err := core.ParseIdentity(ownerKey)
	if err != nil {
		return nil, err
	}
	d, err := osfs.Open(vdir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := core.InitSigned(d, "bench-owner", owner); err != nil {
		return nil, err
	}
	e, err := core.Edit(d, core.EditOptions{Owner: owner})
	if err != nil {
		return nil, err
	}
	v := &Vault{Repo: dir, OwnerKey: ownerKey}
	for i := range spec.Agents {
		key, _, err := core.NewKey()
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("agent-%03d", i)
		if err := e.AddAgent(name, key); err != nil {
			return nil, err
		}
		v.AgentKeys = append(v.AgentKeys, key)
		v.Agents = append(v.Agents, name)
	}
	groups := []groupSpec{{name: Group, secrets: spec.Secrets, agents: v.Agents}}
	for i := range spec.ExtraGroups {
		groups = append(groups, groupSpec{name: fmt.Sprintf("x%d", i+1), secrets: spec.ExtraSecrets, agents: v.Agents[:1]})
	}
	for _, g := range groups {
		names, err := g.fill(e, spec)
		if err != nil {
			return nil, err
		}
		if g.name == Group {
			v.Secrets = names
		}
	}
	if spec.Replicate {
		if err := replicate(vdir, groups); err != nil {
			return nil, err
		}
		// The copies were written behind core's back: the owner signs them.
		if err := seal(d, owner); err != nil {
			return nil, err
		}
	}
	if spec.Git {
		if err := commitAll(dir); err != nil {
			return nil, err
		}
	}
	return v, nil
}

type groupSpec struct {
	name    string
	secrets int
	agents  []string
}

func (g groupSpec) secretName(i int) string { return fmt.Sprintf("%s/secret-%05d", g.name, i) }

// fill sets the group's secrets (only the first one when replicating),
// granting the group to its agents in the same operation.
func (g groupSpec) fill(e *core.Editor, spec Spec) ([]string, error) {
	names := make([]string, 0, g.secrets)
	values := make(map[string][]byte, g.secrets)
	for i := range g.secrets {
		p := g.secretName(i)
		names = append(names, p)
		if spec.Replicate && i > 0 {
			continue
		}
		val := make([]byte, spec.Size)
		for j := range val {
			val[j] = byte('a' + (i+j)%26)
		}
		values[p] = val
	}
	if len(values) == 0 {
		return names, nil
	}
	return names, e.SetMany(values, core.SetOptions{Group: g.name, Agents: g.agents})
}

// replicate copies each group's first secret to the rest of the group and
// lists them all in the manifest. It writes plain files: the result is
// exactly what core would have written, minus distinct values.
func replicate(vdir string, groups []groupSpec) error {
	mpath := filepath.Join(vdir, "manifest.yaml")
	data, err := os.ReadFile(mpath)
	if err != nil {
		return err
	}
	m, err := core.ParseManifest(data)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if g.secrets < 2 {
			continue
		}
		first := filepath.Join(vdir, "secrets", filepath.FromSlash(g.secretName(0)))
		ct, err := os.ReadFile(first + ".enc")
		if err != nil {
			return err
		}
		mdata, err := os.ReadFile(first + ".meta")
		if err != nil {
			return err
		}
		meta, err := core.ParseMetadata(mdata)
		if err != nil {
			return err
		}
		entry := m.Group(g.name)
		for i := 1; i < g.secrets; i++ {
			name := g.secretName(i)
			meta.Name = name
			md, err := meta.Marshal()
			if err != nil {
				return err
			}
			base := filepath.Join(vdir, "secrets", filepath.FromSlash(name))
			if err := os.WriteFile(base+".enc", ct, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(base+".meta", md, 0o644); err != nil {
				return err
			}
			entry.Secrets = append(entry.Secrets, name)
		}
		slices.Sort(entry.Secrets)
	}
	out, err := m.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(mpath, out, 0o644)
}

// seal signs the vault's current state as the owner.
func seal(d *osfs.Dir, owner *core.Identity) error {
	e, err := core.Edit(d, core.EditOptions{Owner: owner})
	if err != nil {
		return err
	}
	r, err := e.ReviewSeal()
	if err != nil {
		return err
	}
	return e.Seal(r)
}

// commitAll turns dir into a Git repository holding the vault in one
// commit, under a throwaway identity.
func commitAll(dir string) error {
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		// One pack, as a repository that has been gc'd holds its blobs,
		// rather than a loose object per file.
		{"-c", "core.bigFileThreshold=0", "add", "-A", "--force", core.DirName},
		{"-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "gc.auto=0", "commit", "-q", "-m", "bench vault"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v\n%s", args[0], err, out)
		}
	}
	return nil
}

// WriteKeys stores the vault's keys under home the way the CLI keeps them:
// the owner key and one file per agent.
func (v *Vault) WriteKeys(home string) error {
	if err := osfs.WriteKeyFile(core.OwnerKeyPath(home), v.OwnerKey); err != nil {
		return err
	}
	for i, name := range v.Agents {
		if err := osfs.WriteKeyFile(core.AgentKeyPath(home, name), v.AgentKeys[i]); err != nil {
			return err
		}
	}
	return nil
}
