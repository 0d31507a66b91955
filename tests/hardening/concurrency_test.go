package hardening

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/clitest"
)

// TestConcurrentWriters starts eight CLI writers at once on one vault, each
// running a sequence of sets, grants and revokes, while two readers decrypt
// in a loop. docs/architecture.md §7.5: the lock serialises writers and no update is
// lost; readers never see a torn file. Afterwards every update is present,
// check finds no errors, the repository is intact, and Git has one commit
// per command.
func TestConcurrentWriters(t *testing.T) {
	f := buildVault(t, layout{
		agents: []string{"a1", "a2", "a3", "a4"},
		grants: map[string][]string{"a1": {"g0"}, "a2": {"g0", "g3"}, "a3": {"g2"}, "a4": {"g0"}},
		groups: []string{"g0", "g1", "g2", "g3"}, perGroup: 10, valueSize: 32,
	})
	e := f.e
	commitsBefore := commitCount(t, e)

	// Each writer touches its own secrets and agent/group pairs, so the
	// end state is the same whatever order the lock admits them in.
	newValues := map[string][]byte{}
	var scripts [8][][]string
	for w := range 4 {
		for j := range 3 {
			name := fmt.Sprintf("w%d/s%d", w, j)
			newValues[name] = []byte(token("concurrent-" + name))
			scripts[w] = append(scripts[w], []string{"set", name, string(newValues[name])})
		}
	}
	for w, g := range map[int]string{4: "g1", 5: "g0", 6: "g2", 7: "g3"} {
		name := fmt.Sprintf("%s/extra-%d", g, w)
		newValues[name] = []byte(token("concurrent-" + name))
		scripts[w] = append(scripts[w], []string{"set", name, string(newValues[name])})
	}
	scripts[4] = append(scripts[4], []string{"grant", "a1", "g1"}, []string{"grant", "a1", "g2"})
	scripts[5] = append(scripts[5], []string{"revoke", "a2", "g0"}, []string{"revoke", "a2", "g3"})
	scripts[6] = append(scripts[6], []string{"grant", "a3", "g0"}, []string{"revoke", "a3", "g2"})
	scripts[7] = append(scripts[7], []string{"grant", "a4", "g1"}, []string{"revoke", "a4", "g0"})
	want := map[string][]string{"a1": {"g0", "g1", "g2"}, "a2": {}, "a3": {"g0"}, "a4": {"g1"}}

	stop := make(chan struct{})
	var reads atomic.Int64
	var readErr atomic.Value
	var readers sync.WaitGroup
	for _, key := range []string{e.OwnerKey(), e.AgentKey("a1")} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			id := keyIdentity(t, key)
			for {
				select {
				case <-stop:
					return
				default:
				}
				// a1 keeps g0 throughout, so both readers must always succeed.
				for _, name := range f.groupSecrets["g0"] {
					v, err := core.Open(os.DirFS(e.Repo))
					if err == nil {
						var got []byte
						got, err = v.WithIdentity(id).Get(name)
						if err == nil && !bytes.Equal(got, f.values[name]) {
							err = fmt.Errorf("%s: wrong value", name)
						}
					}
					if err != nil {
						readErr.CompareAndSwap(nil, err.Error())
						return
					}
					reads.Add(1)
				}
			}
		}()
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for _, script := range scripts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, args := range script {
				r := result(t, command(e, nil, nil, args...))
				if r.Code != 0 || strings.Contains(r.Stderr, "panic") {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%v: exit %d: %s", args[:len(args)-1], r.Code, r.Stderr))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if len(failures) > 0 {
		t.Fatalf("concurrent writers failed:\n%s", strings.Join(failures, "\n"))
	}
	if msg := readErr.Load(); msg != nil {
		t.Fatalf("a reader failed during concurrent writes: %v", msg)
	}
	if reads.Load() == 0 {
		t.Fatal("the readers never ran")
	}

	v := openVault(t, e)
	m := openPolicy(t, e)
	for agent, groups := range want {
		got := slices.Clone(m.Agent(agent).Groups)
		sort.Strings(got)
		if !slices.Equal(got, groups) {
			t.Errorf("agent %s has groups %v, want %v (an update was lost)", agent, got, groups)
		}
	}
	owner := v.WithIdentity(ownerIdentity(t, e))
	for name, value := range newValues {
		if got, err := owner.Get(name); err != nil || !bytes.Equal(got, value) {
			t.Errorf("%s lost or wrong after concurrent sets: %v", name, err)
		}
	}
	for name, value := range f.values {
		if got, err := owner.Get(name); err != nil || !bytes.Equal(got, value) {
			t.Errorf("%s damaged by concurrent writers: %v", name, err)
		}
	}
	for agent, groups := range want {
		s := v.WithIdentity(keyIdentity(t, e.AgentKey(agent)))
		for _, g := range []string{"g0", "g1", "g2", "g3"} {
			_, err := s.Get(f.groupSecrets[g][0])
			if has := slices.Contains(groups, g); has != (err == nil) {
				t.Errorf("agent %s on group %s: read error %v, granted %v", agent, g, err, has)
			}
		}
	}
	if rep, code := check(t, e); code != 0 || rep.Errors != 0 {
		t.Errorf("check after concurrent writers: exit %d %v", code, rep.errorKinds())
	}

	total := 0
	var messages []string
	for _, script := range scripts {
		total += len(script)
		for _, args := range script {
			if args[0] == "set" {
				args = args[:2] // never the value
			}
			messages = append(messages, "agent-vault: "+strings.Join(args, " "))
		}
	}
	if got := commitCount(t, e) - commitsBefore; got != total {
		t.Errorf("%d commits for %d commands", got, total)
	}
	log := e.Git(e.Repo, "log", "--format=%s", fmt.Sprintf("-%d", total))
	for _, m := range messages {
		if !strings.Contains(log, m) {
			t.Errorf("git log lacks a commit %q", m)
		}
	}
	e.Git(e.Repo, "fsck", "--strict", "--no-progress")
	if st := e.Git(e.Repo, "status", "--porcelain"); st != "" {
		t.Errorf("uncommitted changes after concurrent writers:\n%s", st)
	}
}

func commitCount(t *testing.T, e *clitest.Env) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(e.Git(e.Repo, "rev-list", "--count", "HEAD"), &n); err != nil {
		t.Fatal(err)
	}
	return n
}
