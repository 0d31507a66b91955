// Package bench holds the Go benchmarks (run with `go test -bench . ./tests/bench`)
// and the vault builder the benchmark scripts share.
package bench

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

// Vault is a benchmark vault on disk.
type Vault struct {
	// Repo contains .agent-vault/.
	Repo string
	// OwnerKey and AgentKeys are key file contents (throwaway keys).
	OwnerKey  []byte
	AgentKeys [][]byte
	Secrets   []string
}

// Build creates a vault in dir with agents agents, all granted group "g",
// and secrets secrets of size bytes in that group. It uses core directly
// (one bulk set, one grant per agent), so large vaults build in seconds.
func Build(dir string, agents, secrets, size int) (*Vault, error) {
	vdir := filepath.Join(dir, core.DirName)
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return nil, err
	}
	ownerKey, ownerPub, err := core.NewKey()
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
	if err := core.Init(d, "bench-owner", ownerPub); err != nil {
		return nil, err
	}
	e, err := core.Edit(d, core.EditOptions{Owner: owner})
	if err != nil {
		return nil, err
	}
	v := &Vault{Repo: dir, OwnerKey: ownerKey}
	names := make([]string, 0, agents)
	for i := range agents {
		key, _, err := core.NewKey()
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("agent-%03d", i)
		if err := e.AddAgent(name, key); err != nil {
			return nil, err
		}
		v.AgentKeys = append(v.AgentKeys, key)
		names = append(names, name)
	}
	values := make(map[string][]byte, secrets)
	for i := range secrets {
		p := fmt.Sprintf("g/secret-%05d", i)
		val := make([]byte, size)
		for j := range val {
			val[j] = byte('a' + (i+j)%26)
		}
		values[p] = val
		v.Secrets = append(v.Secrets, p)
	}
	// Granting while setting encrypts each secret once, to everyone.
	if err := e.SetMany(values, core.SetOptions{Group: "g", Agents: names}); err != nil {
		return nil, err
	}
	return v, nil
}
