package reader_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/internal/oshost"
)

// childEnv makes the test binary a reader process of
// TestReadersSharingACloneAcrossProcesses instead of running the tests.
const childEnv = "READER_TEST_SHARED_CLONE"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(sharedReader(spec))
	}
	os.Exit(m.Run())
}

// childSpec is what a reader process is told.
type childSpec struct {
	Repo, Home, Key string
	Gets            int
}

// childGet is one get as a reader process saw it. The value travels as a
// digest: the parent only compares it.
type childGet struct {
	Start, End int64 // Unix nanoseconds
	Digest     string
	Code       core.Code
	// FailedPulls, on the last line only, counts the pulls git refused.
	FailedPulls int
	Last        bool
}

func digest(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:8])
}

// pullCounter counts the pulls that fail; the reader warns once per
// streak, the test wants every one.
type pullCounter struct {
	oshost.Host
	failed int
}

func (h *pullCounter) Git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	out, err := h.Host.Git(ctx, dir, args...)
	if len(args) > 0 && args[0] == "pull" && err != nil {
		h.failed++
	}
	return out, err
}

// sharedReader is the body of a reader process: open the shared clone
// with auto-pull and get one secret again and again, reporting each get
// on stdout.
func sharedReader(spec string) int {
	var s childSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	h := &pullCounter{}
	r, err := reader.Open(context.Background(), h, reader.Options{Repo: s.Repo, Home: s.Home,
		Key: core.KeySpec{Path: s.Key}, AutoPull: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	enc := json.NewEncoder(os.Stdout)
	for range s.Gets {
		g := childGet{Start: time.Now().UnixNano()}
		v, err := r.Get(context.Background(), "stripe/api-key")
		g.End = time.Now().UnixNano()
		if err != nil {
			g.Code = core.CodeOf(err)
		} else {
			g.Digest = digest(string(v))
		}
		enc.Encode(g)
	}
	enc.Encode(childGet{FailedPulls: h.failed, Last: true})
	return 0
}

// published is one state the owner pushed: whether the agent could read
// the secret and its value, and when the push ran.
type published struct {
	start, end time.Time
	granted    bool
	digest     string
}

// TestReadersSharingACloneAcrossProcesses runs reader processes with
// auto-pull on one clone, as agents sharing a HOME share its cache clone,
// while the owner pushes rotations, revokes and grants from another. No
// pull may fail, and every answer must be one that some state the remote
// held during the get allows: no value after its revoke or rotation was
// pushed, no refusal while granted throughout.
func TestReadersSharingACloneAcrossProcesses(t *testing.T) {
	const procs, gets = 4, 40
	f := newFixture(t)
	shared := filepath.Join(t.TempDir(), "shared")
	git(t, filepath.Dir(shared), "clone", "--quiet", f.bare, shared)
	publisher := filepath.Join(t.TempDir(), "publisher")
	git(t, filepath.Dir(publisher), "clone", "--quiet", f.bare, publisher)

	spec, _ := json.Marshal(childSpec{Repo: shared, Home: f.home, Key: f.agentKey, Gets: gets})
	var wg sync.WaitGroup
	results := make([][]childGet, procs)
	errs := make([]error, procs)
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var g childGet
				if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
					errs[i] = err
				}
				results[i] = append(results[i], g)
			}
			if err := cmd.Wait(); err != nil {
				errs[i] = fmt.Errorf("reader %d: %v: %s", i, err, stderr.String())
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	log := []published{{granted: true, digest: digest("first-value")}}
	for n := 0; ; n++ {
		select {
		case <-done:
		default:
			prev := log[len(log)-1]
			next := published{granted: prev.granted, digest: prev.digest}
			f.edit(t, publisher, func(e *core.Editor) {
				var err error
				switch {
				case n%3 == 0:
					value := fmt.Sprintf("value-%d", n)
					err, next.digest = e.Set("stripe/api-key", []byte(value), core.SetOptions{}), digest(value)
				case prev.granted:
					_, err = e.Revoke("bot", "stripe")
					next.granted = false
				default:
					_, err = e.Grant("bot", "stripe")
					next.granted = true
				}
				if err != nil {
					t.Fatal(err)
				}
			})
			next.start = time.Now()
			git(t, publisher, "push", "--quiet", "origin", "HEAD")
			next.end = time.Now()
			log = append(log, next)
			continue
		}
		break
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	var values, refusals int
	for i, rs := range results {
		if len(rs) != gets+1 || !rs[gets].Last {
			t.Fatalf("reader %d reported %d lines, want %d", i, len(rs), gets+1)
		}
		if n := rs[gets].FailedPulls; n > 0 {
			t.Errorf("reader %d: %d of %d pulls failed", i, n, gets)
		}
		for _, g := range rs[:gets] {
			allowed := func(ok func(p published) bool) bool {
				start, end := time.Unix(0, g.Start), time.Unix(0, g.End)
				lo := sort.Search(len(log), func(k int) bool { return k+1 == len(log) || !log[k+1].end.Before(start) })
				for k := lo; k < len(log) && (k == 0 || !log[k].start.After(end)); k++ {
					if ok(log[k]) {
						return true
					}
				}
				return false
			}
			switch g.Code {
			case "":
				values++
				if !allowed(func(p published) bool { return p.granted && p.digest == g.Digest }) {
					t.Errorf("reader %d got a value no state of the remote allowed during its get", i)
				}
			case core.CodeNotAuthorized:
				refusals++
				if !allowed(func(p published) bool { return !p.granted }) {
					t.Errorf("reader %d was refused while granted throughout its get", i)
				}
			default:
				t.Errorf("reader %d: get failed with %s", i, g.Code)
			}
		}
	}
	t.Logf("%d readers, %d gets: %d values, %d refusals; %d pushes", procs, procs*gets, values, refusals, len(log)-1)
	if len(log) < 4 {
		t.Errorf("only %d pushes happened while the readers ran", len(log)-1)
	}
}
