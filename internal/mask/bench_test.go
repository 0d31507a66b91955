package mask

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// benchInput is log-like text with an occasional secret in it, plus the
// ten secrets: API-key-shaped values that share a prefix, as real ones
// often do, or random tokens with no common prefix.
func benchInput(size int, shared bool) ([]byte, []Pattern) {
	rng := rand.New(rand.NewPCG(7, 7))
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var ps []Pattern
	for i := range 10 {
		var v []byte
		if shared {
			v = fmt.Appendf(nil, "sk_live_%02d_", i) // look-alikes, not real keys
		}
		for range 24 {
			v = append(v, alnum[rng.IntN(len(alnum))])
		}
		ps = append(ps, Pattern{Value: v, Replacement: fmt.Appendf(nil, "<agent-vault:bench/key-%d>", i)})
	}
	words := []string{"GET", "/v1/charges", "200", "ok", "request_id=", "sk_", "live", "user", "took", "ms", "\n", "s", "k"}
	var b bytes.Buffer
	for b.Len() < size {
		if rng.IntN(2000) == 0 {
			b.Write(ps[rng.IntN(len(ps))].Value)
		} else {
			b.WriteString(words[rng.IntN(len(words))])
		}
		b.WriteByte(' ')
	}
	return b.Bytes()[:size], ps
}

// BenchmarkMask measures throughput with ten secrets, in 32 KiB writes (the
// size os/exec copies a child's output in).
func BenchmarkMask(b *testing.B) {
	const chunk = 32 << 10
	write := func(b *testing.B, input []byte, w io.Writer) {
		for off := 0; off < len(input); off += chunk {
			w.Write(input[off:min(off+chunk, len(input))])
		}
	}
	for _, shared := range []bool{true, false} {
		input, ps := benchInput(8<<20, shared)
		kind := map[bool]string{true: "shared-prefix", false: "random"}[shared]
		for _, m := range modes {
			set := compile(ps, m.dense)
			b.Run(fmt.Sprintf("%s/%s/secrets=10", kind, m.name), func(b *testing.B) {
				b.SetBytes(int64(len(input)))
				for b.Loop() {
					w := set.NewWriter(io.Discard)
					write(b, input, w)
					w.Close()
				}
			})
		}
	}
}
