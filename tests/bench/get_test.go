package bench

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/wasmhost"
	"github.com/agent-vault/agent-vault/internal/wasmtest"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

var recipientCounts = []int{1, 10, 100}

// BenchmarkGet compares a get by the last-listed agent (the worst case for
// a naive decrypt) through native core, through the module under wazero,
// and through plain age trying every stanza, the original SDK's approach.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	var rt *wasmhost.Runtime
	defer func() {
		if rt != nil {
			rt.Close(ctx)
		}
	}()
	for _, n := range recipientCounts {
		v, err := Build(b.TempDir(), n, 1, 32)
		if err != nil {
			b.Fatal(err)
		}
		key := v.AgentKeys[n-1]
		secret := v.Secrets[0]
		b.Run(fmt.Sprintf("native/agents=%d", n), func(b *testing.B) {
			vault, err := core.Open(os.DirFS(v.Repo))
			if err != nil {
				b.Fatal(err)
			}
			id, _ := core.ParseIdentity(key)
			s := vault.WithIdentity(id)
			for b.Loop() {
				if _, err := s.Get(secret); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("wazero/agents=%d", n), func(b *testing.B) {
			if rt == nil {
				var err error
				if rt, err = wasmtest.Runtime(ctx); err != nil {
					b.Fatal(err)
				}
			}
			wv, err := rt.OpenVault(ctx, abi.Request{Repo: v.Repo, Key: core.KeySpec{Text: string(key)}})
			if err != nil {
				b.Fatal(err)
			}
			defer wv.Close(ctx)
			for b.Loop() {
				if _, err := wv.Get(ctx, secret); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("age-all-stanzas/agents=%d", n), func(b *testing.B) {
			ids, err := age.ParseIdentities(bytes.NewReader(key))
			if err != nil {
				b.Fatal(err)
			}
			path := filepath.Join(v.Repo, core.DirName, "secrets", secret+".enc")
			for b.Loop() {
				ct, err := os.ReadFile(path)
				if err != nil {
					b.Fatal(err)
				}
				r, err := age.Decrypt(bytes.NewReader(ct), ids...)
				if err != nil {
					b.Fatal(err)
				}
				var out bytes.Buffer
				out.ReadFrom(r)
			}
		})
	}
}

// BenchmarkX25519 is the physical floor: one scalar multiplication.
func BenchmarkX25519(b *testing.B) {
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	for b.Loop() {
		if _, err := priv.ECDH(peer.PublicKey()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloors times X25519 work (age's types against core's, a 1-agent
// get) interleaved with the floor in the same rounds, and reports each as
// floors: <case>-floors (wall time), <case>-cpu-floors (the thread's CPU
// time), and for files <case>-floors/recipient. One
// iteration is a whole interleaved run: use -benchtime=1x.
func BenchmarkFloors(b *testing.B) {
	ws, err := X25519Work(b.TempDir(), 23)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := Interleave(Cases(ws), 9, 100*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		floor, floorCPU := res[FloorCase].Median, res[FloorCase].CPU
		b.ReportMetric(float64(floor.Nanoseconds()), "floor-ns")
		for _, w := range ws[1:] {
			f, c := Ratio(res[w.Name].Median, floor), Ratio(res[w.Name].CPU, floorCPU)
			b.ReportMetric(f, w.Name+"-floors")
			b.ReportMetric(c, w.Name+"-cpu-floors")
			if w.Recipients > 1 {
				b.ReportMetric(f/float64(w.Recipients), w.Name+"-floors/recipient")
			}
		}
	}
}

// BenchmarkModule measures compiling the module with and without the
// on-disk compilation cache, and instantiating it, and reports its size.
func BenchmarkModule(b *testing.B) {
	ctx := context.Background()
	wasm, err := wasmtest.Module()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("compile/cold", func(b *testing.B) {
		for b.Loop() {
			rt, err := wasmhost.NewRuntime(ctx, wasm, wasmhost.Config{})
			if err != nil {
				b.Fatal(err)
			}
			rt.Close(ctx)
		}
		// After the loop: b.Loop's first call drops metrics reported earlier.
		b.ReportMetric(float64(len(wasm)), "module-bytes")
	})
	cache := b.TempDir()
	rt, err := wasmhost.NewRuntime(ctx, wasm, wasmhost.Config{CacheDir: cache})
	if err != nil {
		b.Fatal(err)
	}
	rt.Close(ctx)
	b.Run("compile/cached", func(b *testing.B) {
		for b.Loop() {
			rt, err := wasmhost.NewRuntime(ctx, wasm, wasmhost.Config{CacheDir: cache})
			if err != nil {
				b.Fatal(err)
			}
			rt.Close(ctx)
		}
	})
	b.Run("instantiate", func(b *testing.B) {
		rt, err := wasmhost.NewRuntime(ctx, wasm, wasmhost.Config{CacheDir: cache})
		if err != nil {
			b.Fatal(err)
		}
		defer rt.Close(ctx)
		for b.Loop() {
			in, err := rt.Instantiate(ctx)
			if err != nil {
				b.Fatal(err)
			}
			in.Close(ctx)
		}
	})
}
