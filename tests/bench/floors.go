//go:build unix

package bench

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/curve25519"

	"github.com/agent-vault/agent-vault/core"
)

// FloorCase is the name of the floor among X25519Work's cases.
const FloorCase = "floor"

// FloorRun times one floor: an X25519 scalar multiplication on a key
// parsed once (crypto/ecdh's ECDH), the least an unwrap can cost.
func FloorRun() func() error {
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	return func() error { _, err := priv.ECDH(peer.PublicKey()); return err }
}

// Floor measures the floor alone in a few short rounds: the median wall
// time and the median CPU time of one. The CPU time is what process CPU
// times are to be compared with: unlike the wall time, it does not grow
// when other processes keep the cores busy.
func Floor() (wall, cpu time.Duration, err error) {
	res, err := Interleave([]Case{{Name: FloorCase, Run: FloorRun()}}, 5, 20*time.Millisecond)
	return res[FloorCase].Median, res[FloorCase].CPU, err
}

// WorkCase describes one case of X25519Work: what it does and how many
// recipients it wraps for (0: none), to report it per recipient.
type WorkCase struct {
	Case
	What       string
	Recipients int
}

// X25519Work returns cases to interleave with the floor: age's own X25519
// types against core's (which parse the key once, x25519.go in core) on one
// stanza, on a whole file for recipients recipients, and on a get from a
// vault with one agent built under dir. Each case checks its result.
func X25519Work(dir string, recipients int) ([]WorkCase, error) {
	v, err := Build(dir, 1, 1, 32)
	if err != nil {
		return nil, err
	}
	agentKey := v.AgentKeys[0]
	agent, err := core.ParseIdentity(agentKey)
	if err != nil {
		return nil, err
	}
	vault, err := core.Open(os.DirFS(v.Repo))
	if err != nil {
		return nil, err
	}
	session := vault.WithIdentity(agent)
	secret := v.Secrets[0]
	want, err := session.Get(secret)
	if err != nil {
		return nil, err
	}
	ids, err := age.ParseIdentities(bytes.NewReader(agentKey))
	if err != nil {
		return nil, err
	}
	ageAgent := ids[0].(*age.X25519Identity)
	enc := filepath.Join(v.Repo, core.DirName, "secrets", secret+".enc")

	var ageRcps, coreRcps []age.Recipient
	for range recipients {
		k, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, err
		}
		c, err := core.ParseRecipient(k.Recipient().String())
		if err != nil {
			return nil, err
		}
		ageRcps, coreRcps = append(ageRcps, k.Recipient()), append(coreRcps, c)
	}
	fileKey := make([]byte, 16)
	rand.Read(fileKey)
	scalar, point := make([]byte, 32), make([]byte, 32)
	rand.Read(scalar)
	rand.Read(point)
	value := make([]byte, 64)

	wrap := func(r age.Recipient) func() error {
		return func() error {
			s, err := r.Wrap(fileKey)
			if err == nil && len(s) != 1 {
				err = errors.New("expected one stanza")
			}
			return err
		}
	}
	encrypt := func(rs []age.Recipient) func() error {
		return func() error {
			w, err := age.Encrypt(io.Discard, rs...)
			if err == nil {
				_, err = w.Write(value)
			}
			if err == nil {
				err = w.Close()
			}
			return err
		}
	}
	check := func(got []byte, err error) error {
		if err == nil && !bytes.Equal(got, want) {
			err = errors.New("wrong value")
		}
		return err
	}
	return []WorkCase{
		{Case: Case{Name: FloorCase, Run: FloorRun()}, What: "floor: crypto/ecdh ECDH on a key parsed once"},
		{Case: Case{Name: "x25519/x-crypto", Run: func() error { _, err := curve25519.X25519(scalar, point); return err }},
			What: "curve25519.X25519, which age's own types call per operation"},
		{Case: Case{Name: "wrap/age", Run: wrap(ageRcps[0])}, What: "wrap one stanza, age's X25519Recipient", Recipients: 1},
		{Case: Case{Name: "wrap/core", Run: wrap(coreRcps[0])}, What: "wrap one stanza, core's recipient", Recipients: 1},
		{Case: Case{Name: "encrypt/age", Run: encrypt(ageRcps)},
			What: fmt.Sprintf("encrypt 64 bytes to %d recipients, age's types", recipients), Recipients: recipients},
		{Case: Case{Name: "encrypt/core", Run: encrypt(coreRcps)},
			What: fmt.Sprintf("encrypt 64 bytes to %d recipients, core's", recipients), Recipients: recipients},
		{Case: Case{Name: "get/age-identity", Run: func() error {
			ct, err := os.ReadFile(enc)
			if err != nil {
				return err
			}
			r, err := age.Decrypt(bytes.NewReader(ct), oneStanza{ageAgent, 1})
			if err != nil {
				return err
			}
			got, err := io.ReadAll(r)
			return check(got, err)
		}}, What: "read and decrypt the 1-agent file, age's identity on the reader's stanza (a get before this round, without the metadata)"},
		{Case: Case{Name: "get/core", Run: func() error { return check(session.Get(secret)) }},
			What: "native get by the agent of a 1-agent vault (core.Session.Get)"},
	}, nil
}

// oneStanza tries one identity on one stanza only, as a core get does.
type oneStanza struct {
	id age.Identity
	i  int
}

func (o oneStanza) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if o.i >= len(stanzas) {
		return nil, age.ErrIncorrectIdentity
	}
	return o.id.Unwrap(stanzas[o.i : o.i+1])
}

// Cases returns the plain cases of ws, for Interleave.
func Cases(ws []WorkCase) []Case {
	out := make([]Case, len(ws))
	for i, w := range ws {
		out[i] = w.Case
	}
	return out
}
