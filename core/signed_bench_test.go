package core

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/osfs"
)

// BenchmarkBulkGrantSigning grants a newcomer a group of 2,500 secrets
// shared by 5 agents, with the owner's verification and signature and
// without them (the path of an editor that never loaded the signed state,
// as before the vault was signed), side by side on copies of one vault.
// Run with -benchtime=3x; secrets/s is the figure to compare.
func BenchmarkBulkGrantSigning(b *testing.B) {
	const secrets, agents = 2500, 5
	base := filepath.Join(b.TempDir(), "base", DirName)
	if err := os.MkdirAll(base, 0o755); err != nil {
		b.Fatal(err)
	}
	key, _, _ := NewKey()
	owner, _ := ParseIdentity(key)
	d, err := osfs.Open(base)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := InitSigned(d, "owner", owner); err != nil {
		b.Fatal(err)
	}
	e, err := Edit(d, EditOptions{Owner: owner})
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for i := range agents + 1 {
		k, _, _ := NewKey()
		name := fmt.Sprintf("agent-%02d", i)
		if err := e.AddAgent(name, k); err != nil {
			b.Fatal(err)
		}
		names = append(names, name)
	}
	values := map[string][]byte{}
	for i := range secrets {
		values[fmt.Sprintf("g/s%05d", i)] = []byte("value")
	}
	if err := e.SetMany(values, SetOptions{Agents: names[:agents]}); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"unsigned", "signed"} {
		b.Run(fmt.Sprintf("%s/secrets=%d", mode, secrets), func(b *testing.B) {
			var took time.Duration
			for b.Loop() {
				b.StopTimer()
				work := filepath.Join(b.TempDir(), DirName)
				if err := os.CopyFS(work, os.DirFS(base)); err != nil {
					b.Fatal(err)
				}
				w, err := osfs.Open(work)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				b.StartTimer()
				var e *Editor
				if mode == "signed" {
					e, err = Edit(w, EditOptions{Owner: owner, Workers: 2})
				} else if e, err = Edit(w, EditOptions{Workers: 2}); err == nil {
					e.opts.Owner = owner // the owner key, without loading the signed state
				}
				if err == nil {
					_, err = e.Grant(names[agents], "g")
				}
				b.StopTimer()
				took += time.Since(start)
				w.Close()
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(secrets*b.N)/took.Seconds(), "secrets/s")
		})
	}
}

// BenchmarkParseState parses and verifies a top record with all 256
// buckets listed, the fixed part of every verified get: one signature
// check is most of it.
func BenchmarkParseState(b *testing.B) {
	st := seedState()
	for i := range 256 {
		st.buckets[byte(i)] = bucketRef{digest: digestOf([]byte{byte(i)}), count: 10}
	}
	data := st.sign(seedSigner())
	b.Run("parse+verify", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseState(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ed25519-verify-only", func(b *testing.B) {
		body := st.marshalBody()
		k := seedSigner()
		s := ed25519.Sign(k.priv, body)
		for b.Loop() {
			ed25519.Verify(k.pub, body, s)
		}
	})
}
