//go:build soak

package soak

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// state is one commit the owner pushed: what every agent could read and
// every secret's value while it was the remote's HEAD.
type state struct {
	// start and end bracket the push that made it HEAD; the initial state
	// has zero times.
	start, end time.Time
	commit     string
	grants     map[string]map[string]bool // agent -> group -> granted
	values     map[string]string          // secret -> value
	action     string                     // what the owner did, for reports
}

// owner is the vault owner in a clone of its own, with its own HOME,
// changing the vault only through the CLI and publishing with git push.
type owner struct {
	t               testing.TB
	bin, repo, home string
	env             []string
	rng             *mrand.Rand
	agents          []string
	groups          []string
	secrets         []string // every secret, "<group>/s<n>"

	mu  sync.Mutex
	log []*state // log[0] is the state the servers start from
}

// newOwner creates the owner's HOME and clone, a bare remote, the vault
// with one agent per server and secretsPerGroup secrets in each group, and
// pushes it. Initial grants are random.
func newOwner(t testing.TB, root, bin string, agents, groups, secretsPerGroup int, rng *mrand.Rand) (*owner, string) {
	home := filepath.Join(root, "owner", "home")
	o := &owner{t: t, bin: bin, repo: filepath.Join(root, "owner", "repo"), home: home, rng: rng}
	bare := filepath.Join(root, "remote.git")
	if err := os.MkdirAll(o.repo, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	gitconfig := filepath.Join(root, "owner", "gitconfig")
	if err := os.WriteFile(gitconfig, []byte("[user]\n\tname = soak owner\n\temail = owner@localhost\n[init]\n\tdefaultBranch = main\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o.env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LC_ALL=C", "TMPDIR=" + os.TempDir(),
		"GIT_CONFIG_GLOBAL=" + gitconfig, "GIT_CONFIG_NOSYSTEM=1"}

	o.must(nil, "git", "init", "--quiet", "--bare", bare)
	o.must(nil, "git", "init", "--quiet")
	o.must(nil, bin, "init")
	first := &state{grants: map[string]map[string]bool{}, values: map[string]string{}, action: "initial"}
	for i := range agents {
		a := fmt.Sprintf("a%d", i)
		o.agents = append(o.agents, a)
		o.must(nil, bin, "add-agent", a)
		first.grants[a] = map[string]bool{}
	}
	for g := range groups {
		group := fmt.Sprintf("g%d", g)
		o.groups = append(o.groups, group)
		for s := range secretsPerGroup {
			secret := fmt.Sprintf("%s/s%d", group, s)
			o.secrets = append(o.secrets, secret)
			first.values[secret] = newValue()
			o.must([]byte(first.values[secret]), bin, "set", secret, "-")
		}
	}
	for _, a := range o.agents {
		for _, g := range o.groups {
			if rng.IntN(2) == 0 {
				o.must(nil, bin, "grant", a, g)
				first.grants[a][g] = true
			}
		}
	}
	o.must(nil, "git", "remote", "add", "origin", bare)
	o.must(nil, "git", "push", "--quiet", "--set-upstream", "origin", "main")
	first.commit = strings.TrimSpace(o.must(nil, "git", "rev-parse", "HEAD"))
	o.log = []*state{first}
	return o, bare
}

// newValue is a random credential-like value, fresh per run, so that no
// check can pass by matching a constant.
func newValue() string {
	var b [16]byte
	rand.Read(b[:])
	return "sk_soak_" + hex.EncodeToString(b[:])
}

// keyFile is where add-agent wrote the agent's key; its pin (.owner) is
// beside it.
func (o *owner) keyFile(agent string) string {
	return filepath.Join(o.home, ".agent-vault", "agents", agent+".key")
}

// run runs a command in the owner's clone and returns its stdout. CLI and
// git messages never carry a value, so an error may quote them.
func (o *owner) run(stdin []byte, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = o.repo, o.env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("owner: %s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// must is run during set-up, on the test goroutine: a failure ends the test.
func (o *owner) must(stdin []byte, name string, args ...string) string {
	o.t.Helper()
	out, err := o.run(stdin, name, args...)
	if err != nil {
		o.t.Fatal(err)
	}
	return out
}

// step makes one random change (a grant or revoke, or now and then a
// rotation), commits it through the CLI and pushes it, logging the time
// the push started and ended with the state it published.
func (o *owner) step() error {
	o.mu.Lock()
	prev := o.log[len(o.log)-1]
	o.mu.Unlock()
	next := &state{grants: map[string]map[string]bool{}, values: maps.Clone(prev.values)}
	for a, g := range prev.grants {
		next.grants[a] = maps.Clone(g)
	}
	if o.rng.IntN(4) == 0 {
		secret := o.secrets[o.rng.IntN(len(o.secrets))]
		next.values[secret] = newValue()
		if _, err := o.run([]byte(next.values[secret]), o.bin, "set", secret, "-"); err != nil {
			return err
		}
		next.action = "set " + secret
	} else {
		a, g := o.agents[o.rng.IntN(len(o.agents))], o.groups[o.rng.IntN(len(o.groups))]
		verb := "grant"
		if prev.grants[a][g] {
			verb = "revoke"
		}
		if _, err := o.run(nil, o.bin, verb, a, g); err != nil {
			return err
		}
		next.grants[a][g] = verb == "grant"
		next.action = verb + " " + a + " " + g
	}
	head, err := o.run(nil, "git", "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	next.commit = strings.TrimSpace(head)
	next.start = time.Now()
	_, err = o.run(nil, "git", "push", "--quiet")
	next.end = time.Now()
	if err != nil {
		return err
	}
	o.mu.Lock()
	o.log = append(o.log, next)
	o.mu.Unlock()
	return nil
}

// loop pushes changes, pause apart, until ctx is done or a change fails.
func (o *owner) loop(ctx context.Context, pause time.Duration) error {
	for ctx.Err() == nil {
		if err := o.step(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
	return nil
}

// pushes returns the push log: the initial state, then one per push.
func (o *owner) pushes() []*state {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.log)
}

// groupOf is a secret's group: its first path segment.
func groupOf(secret string) string {
	g, _, _ := strings.Cut(secret, "/")
	return g
}
