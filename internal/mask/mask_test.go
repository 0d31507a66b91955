package mask

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// modes runs a test against both forms of the automaton.
var modes = []struct {
	name  string
	dense bool
}{{"dense", true}, {"sparse", false}}

func patterns(values ...string) []Pattern {
	var ps []Pattern
	for i, v := range values {
		ps = append(ps, Pattern{Value: []byte(v), Replacement: fmt.Appendf(nil, "<%d>", i)})
	}
	return ps
}

// maskChunks writes input in the given chunk sizes (cycled) and returns
// the output after Close.
func maskChunks(t testing.TB, set *Set, input []byte, sizes ...int) []byte {
	t.Helper()
	var out bytes.Buffer
	w := set.NewWriter(&out)
	for i := 0; len(input) > 0; i++ {
		n := len(input)
		if len(sizes) > 0 {
			n = min(n, sizes[i%len(sizes)])
		}
		if got, err := w.Write(input[:n]); err != nil || got != n {
			t.Fatalf("Write = %d, %v", got, err)
		}
		input = input[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestMaskCases(t *testing.T) {
	cases := []struct {
		name   string
		values []string
		in     string
		want   string
	}{
		{"no values in output", []string{"sk_live_123"}, "hello world\n", "hello world\n"},
		{"one value", []string{"sk_live_123"}, "key=sk_live_123\n", "key=<0>\n"},
		{"twice", []string{"sk_live_123"}, "sk_live_123 sk_live_123", "<0> <0>"},
		{"adjacent", []string{"abc"}, "abcabc", "<0><0>"},
		{"prefix held then released", []string{"sk_live_123"}, "sk_live_12 done", "sk_live_12 done"},
		{"prefix at end of stream", []string{"sk_live_123"}, "tail sk_live_1", "tail sk_live_1"},
		{"longest first", []string{"abc", "abcdef"}, "xabcdefx", "x<1>x"},
		{"shorter still masked alone", []string{"abc", "abcdef"}, "xabcdex", "x<0>dex"},
		{"value inside a longer one", []string{"cd", "abcdef"}, "abcdef", "<1>"},
		{"inner value outside", []string{"cd", "abcdef"}, "abcd", "ab<0>"},
		{"overlap chains", []string{"abcd", "cdef"}, "abcdef", "<0><1>"},
		{"self overlap", []string{"aa"}, "aaaa", "<0>"},
		{"three way", []string{"bc", "de", "abcdef"}, "abcdefg", "<2>g"},
		{"three way without outer", []string{"bc", "de", "abcdef"}, "abcdeg", "a<0><1>g"},
		{"duplicate value keeps first", []string{"tok", "tok"}, "a tok", "a <0>"},
		{"empty value skipped", []string{"", "tok"}, "tok", "<1>"},
		{"failure link to a prefix", []string{"aab"}, "aaab", "a<0>"},
	}
	for _, m := range modes {
		for _, c := range cases {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				set := compile(patterns(c.values...), m.dense)
				// Every chunking of the input gives the same output.
				for size := 1; size <= len(c.in)+1; size++ {
					if got := string(maskChunks(t, set, []byte(c.in), size)); got != c.want {
						t.Fatalf("chunks of %d: got %q, want %q", size, got, c.want)
					}
				}
			})
		}
	}
}

// TestSplitAtEveryByte writes a value in two writes split at each position,
// surrounded by text, and checks it never comes out.
func TestSplitAtEveryByte(t *testing.T) {
	value := "sk_test_4eC39HqLyjWDarjtT1zdp7dc" // a look-alike, not a real key
	for _, m := range modes {
		set := compile([]Pattern{{Value: []byte(value), Replacement: []byte("<agent-vault:stripe/api-key>")}}, m.dense)
		input := "before " + value + " after"
		for cut := range len(input) + 1 {
			var out bytes.Buffer
			w := set.NewWriter(&out)
			w.Write([]byte(input[:cut]))
			w.Write([]byte(input[cut:]))
			w.Close()
			if want := "before <agent-vault:stripe/api-key> after"; out.String() != want {
				t.Fatalf("%s: split at %d: got %q", m.name, cut, out.String())
			}
		}
	}
}

// TestHoldsBackOnlyPossibleStarts checks what is passed on before Close:
// everything except a tail that could still become a value.
func TestHoldsBackOnlyPossibleStarts(t *testing.T) {
	set := Compile(patterns("secret-value"))
	var out bytes.Buffer
	w := set.NewWriter(&out)
	w.Write([]byte("line one\nsecret-va"))
	if got := out.String(); got != "line one\n" {
		t.Fatalf("passed on %q before the value could complete", got)
	}
	w.Write([]byte("lidation"))
	if got := out.String(); got != "line one\nsecret-validation" {
		t.Fatalf("held back too long: %q", got)
	}
	w.Write([]byte(" secret-"))
	if got := out.String(); got != "line one\nsecret-validation " {
		t.Fatalf("got %q", got)
	}
	w.Close()
	if got := out.String(); got != "line one\nsecret-validation secret-" {
		t.Fatalf("Close did not flush: %q", got)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

// TestBinaryPassesThrough sends every byte value around a binary secret
// and checks the rest is untouched.
func TestBinaryPassesThrough(t *testing.T) {
	secret := []byte{0x00, 0xff, 0x10, 0x80, 0x00, 0x7f}
	var input, want []byte
	for b := range 256 {
		input = append(input, byte(b))
		want = append(want, byte(b))
	}
	input = append(input, secret...)
	want = append(want, "<s>"...)
	input = append(input, 0x00, 0xff, 0x10) // a prefix that never completes
	want = append(want, 0x00, 0xff, 0x10)
	for _, m := range modes {
		set := compile([]Pattern{{Value: secret, Replacement: []byte("<s>")}}, m.dense)
		for _, size := range []int{1, 3, 7, len(input)} {
			if got := maskChunks(t, set, input, size); !bytes.Equal(got, want) {
				t.Fatalf("%s, chunks of %d: got %x", m.name, size, got)
			}
		}
	}
}

// TestRandomAgainstCoverage checks, on random values and text over a small
// alphabet (so values overlap often), that no chunking changes the output,
// that the bytes outside every occurrence pass through in order, and that
// no value survives.
func TestRandomAgainstCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randText := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abc"[rng.IntN(3)]
		}
		return b
	}
	for round := range 300 {
		var ps []Pattern
		for i := range 1 + rng.IntN(5) {
			// Replacements use bytes outside the alphabet, so they can be
			// told apart from the input.
			ps = append(ps, Pattern{Value: randText(2 + rng.IntN(5)), Replacement: fmt.Appendf(nil, "<%d>", i)})
		}
		input := randText(rng.IntN(80))
		// Which input bytes some occurrence covers, found the slow way.
		covered := make([]bool, len(input))
		for _, p := range ps {
			for i := 0; i+len(p.Value) <= len(input); i++ {
				if bytes.Equal(input[i:i+len(p.Value)], p.Value) {
					for j := i; j < i+len(p.Value); j++ {
						covered[j] = true
					}
				}
			}
		}
		var uncovered []byte
		for i, b := range input {
			if !covered[i] {
				uncovered = append(uncovered, b)
			}
		}
		for _, m := range modes {
			set := compile(ps, m.dense)
			whole := maskChunks(t, set, input)
			for _, size := range []int{1, 2, 5, 13} {
				if got := maskChunks(t, set, input, size, size+1); !bytes.Equal(got, whole) {
					t.Fatalf("round %d %s: chunking changed the output: %q vs %q", round, m.name, got, whole)
				}
			}
			// Strip the replacements: what is left is the uncovered input.
			var rest []byte
			for i := 0; i < len(whole); i++ {
				if whole[i] == '<' {
					for whole[i] != '>' {
						i++
					}
					continue
				}
				rest = append(rest, whole[i])
			}
			if !bytes.Equal(rest, uncovered) {
				t.Fatalf("round %d %s: input %q, values %q: output %q keeps %q, want %q", round, m.name, input, values(ps), whole, rest, uncovered)
			}
			if len(covered) > 0 && bytes.Equal(rest, input) && !bytes.Equal(uncovered, input) {
				t.Fatalf("round %d: nothing masked", round)
			}
		}
	}
}

func values(ps []Pattern) []string {
	var out []string
	for _, p := range ps {
		out = append(out, string(p.Value))
	}
	return out
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestWriteErrorSticks(t *testing.T) {
	w := Compile(patterns("tok")).NewWriter(failWriter{})
	if _, err := w.Write([]byte("hello")); err == nil {
		t.Fatal("the underlying error was lost")
	}
	if _, err := w.Write([]byte("again")); err == nil {
		t.Fatal("a write after a failure succeeded")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a failure succeeded")
	}
}

func TestLargeValuesUseSparseForm(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<15) // 512 KiB
	set := Compile([]Pattern{{Value: big, Replacement: []byte("<big>")}, {Value: []byte("tok"), Replacement: []byte("<tok>")}})
	if set.a.trans != nil {
		t.Fatal("a 512 KiB value was compiled to a dense table")
	}
	input := append(append([]byte("a tok "), big...), " z"...)
	if got := maskChunks(t, set, input, 4096); string(got) != "a <tok> <big> z" {
		t.Fatalf("got %q", got[:min(len(got), 80)])
	}
}
