//go:build unix

package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

// LargeAgents is the number of agents sharing every secret of a large vault.
const LargeAgents = 200

// NewLarge builds, under dir, a vault of secrets secrets in Group shared
// by LargeAgents agents, as a Git repository with keys in dir/home.
func NewLarge(dir string, secrets int) (*Vault, string, error) {
	v, err := Make(filepath.Join(dir, "repo"), Spec{Agents: LargeAgents, Secrets: secrets, Size: 64, Replicate: true, Git: true})
	if err != nil {
		return nil, "", err
	}
	home := filepath.Join(dir, "home")
	return v, home, v.WriteKeys(home)
}

// LargeCases are in-process operations on a large vault, each from a
// fresh open as a new process would do them: list, check with the owner
// key (one owner unwrap per secret), a get by the last agent with its key
// file from home, as the CLI reads it (and one more on a session kept
// open, as a binding keeps it), the get verifying the owner's signature,
// and a set of one new secret that no agent
// shares (the fixed cost of a change: policy encoding, journal, manifest).
func LargeCases(v *Vault, home string) ([]Case, error) {
	sets := 0
	owner, err := core.ParseIdentity(v.OwnerKey)
	if err != nil {
		return nil, err
	}
	last, err := core.LoadIdentity(core.KeySpec{Path: core.AgentKeyPath(home, v.Agents[len(v.Agents)-1])}, os.ReadFile)
	if err != nil {
		return nil, err
	}
	open := func() (*core.Vault, error) { return core.Open(os.DirFS(v.Repo)) }
	pin, err := core.OwnerVerificationKey(owner)
	if err != nil {
		return nil, err
	}
	var session *core.Session
	return []Case{
		{Name: "open", Run: func() error { _, err := open(); return err }},
		{Name: "list", Run: func() error {
			vault, err := open()
			if err == nil {
				_, err = vault.List("")
			}
			return err
		}},
		{Name: "check", Run: func() error {
			vault, err := open()
			if err == nil {
				_, err = vault.Check(core.CheckOptions{Now: time.Now(), Owner: owner})
			}
			return err
		}},
		{Name: "get", Run: func() error {
			vault, err := open()
			if err == nil {
				_, err = vault.WithIdentity(last).Get(v.Secrets[len(v.Secrets)-1])
			}
			return err
		}},
		// The same get verifying the owner's signature on the secret it
		// reads: one signature check, one index file, two digests.
		{Name: "get, verified", Run: func() error {
			vault, err := open()
			if err != nil {
				return err
			}
			trust, err := vault.LoadTrust(pin)
			if err == nil {
				_, err = vault.WithIdentity(last).WithTrust(trust).Get(v.Secrets[len(v.Secrets)-1])
			}
			return err
		}},
		{Name: "get, open session", Run: func() error {
			if session == nil {
				vault, err := open()
				if err != nil {
					return err
				}
				session = vault.WithIdentity(last)
			}
			_, err := session.Get(v.Secrets[len(v.Secrets)-1])
			return err
		}, Reps: 200},
		{Name: "set", Run: func() error {
			d, err := osfs.Open(filepath.Join(v.Repo, core.DirName))
			if err != nil {
				return err
			}
			defer d.Close()
			e, err := core.Edit(d, core.EditOptions{Owner: owner})
			if err != nil {
				return err
			}
			sets++
			return e.Set(fmt.Sprintf("solo/new-%d", sets), []byte("value"), core.SetOptions{})
		}},
	}, nil
}
