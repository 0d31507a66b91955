package mask

import "bytes"

// automaton is an Aho-Corasick automaton over the values to mask. It is
// stepped one byte at a time and never backtracks, so a stream is scanned
// in one pass whatever the number of values.
//
// Bytes are first mapped to classes (one per distinct byte that occurs in
// some value, plus one for all others), which keeps the dense table small.
// When the dense table would still be large (long values, such as
// certificates), the automaton stays sparse: a trie with failure links,
// slower per byte but linear in the total length of the values.
type automaton struct {
	class  [256]int32
	nclass int32
	// starts marks the bytes some value starts with, and pairs (a bit set
	// indexed by two bytes) the first two bytes of each value, or a value
	// of one byte followed by anything. At the root, a byte that does not
	// begin such a pair with the next one leaves the automaton where it
	// would be had the byte not been there. onlyStart is the one start byte
	// when all values share it (-1 otherwise), found with bytes.IndexByte.
	starts    [256]bool
	pairs     [1 << 10]uint64
	onlyStart int

	// Dense form: trans[s+c] is the next state of state s (premultiplied
	// by nclass) on class c, and every state >= firstMatch ends a value.
	trans      []int32
	firstMatch int32

	// Sparse form, used when trans is nil: edges of the trie, failure
	// links, and the root's full row.
	edges   map[int64]int32
	fail    []int32
	rootRow []int32
	// The trie's children as lists, for building: first child, next
	// sibling and the class of the edge into each state.
	child, sibling, via []int32

	// Per state index (not premultiplied): its depth, the length of the
	// longest value that ends there (0 for none) and that value's index.
	depth  []int32
	outLen []int32
	outPat []int32
}

// denseLimit bounds the dense table (in entries of 4 bytes).
const denseLimit = 1 << 22

// newAutomaton builds the automaton for values, none of them empty.
func newAutomaton(values [][]byte, dense bool) *automaton {
	a := &automaton{}
	var seen [256]bool
	for _, v := range values {
		for _, b := range v {
			seen[b] = true
		}
	}
	a.onlyStart = -1
	for i, v := range values {
		a.starts[v[0]] = true
		for x := range 256 {
			if len(v) == 1 || byte(x) == v[1] {
				a.setPair(v[0], byte(x))
			}
		}
		if i == 0 {
			a.onlyStart = int(v[0])
		} else if int(v[0]) != a.onlyStart {
			a.onlyStart = -2
		}
	}
	if a.onlyStart < 0 {
		a.onlyStart = -1
	}
	// Class 0 is every byte no value contains.
	a.nclass = 1
	for b := range 256 {
		if seen[b] {
			a.class[b] = a.nclass
			a.nclass++
		}
	}
	nc := int64(a.nclass)

	// The trie: state 0 is the root.
	a.edges = map[int64]int32{}
	a.depth = []int32{0}
	a.outLen = []int32{0}
	a.outPat = []int32{-1}
	a.child, a.sibling, a.via = []int32{-1}, []int32{-1}, []int32{-1}
	for i, v := range values {
		s := int32(0)
		for _, b := range v {
			k := int64(s)*nc + int64(a.class[b])
			t, ok := a.edges[k]
			if !ok {
				t = int32(len(a.depth))
				a.edges[k] = t
				a.child = append(a.child, -1)
				a.sibling = append(a.sibling, a.child[s])
				a.via = append(a.via, a.class[b])
				a.child[s] = t
				a.depth = append(a.depth, a.depth[s]+1)
				a.outLen = append(a.outLen, 0)
				a.outPat = append(a.outPat, -1)
			}
			s = t
		}
		// A value given twice keeps its first index.
		if a.outLen[s] == 0 {
			a.outLen[s] = int32(len(v))
			a.outPat[s] = int32(i)
		}
	}
	n := len(a.depth)

	// Failure links in breadth-first order, so a state's link is final
	// before its children's are computed.
	a.fail = make([]int32, n)
	a.rootRow = make([]int32, a.nclass)
	queue := make([]int32, 0, n)
	for t := a.child[0]; t >= 0; t = a.sibling[t] {
		a.rootRow[a.via[t]] = t
		queue = append(queue, t)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for t := a.child[s]; t >= 0; t = a.sibling[t] {
			f := a.step(a.fail[s], a.via[t])
			a.fail[t] = f
			// The longest value ending here is the state's own value if
			// it has one, which is longer than anything its link ends.
			if a.outLen[t] == 0 {
				a.outLen[t], a.outPat[t] = a.outLen[f], a.outPat[f]
			}
			queue = append(queue, t)
		}
	}
	if dense && int64(n)*nc <= denseLimit {
		a.densify()
	}
	a.built()
	return a
}

// step is the sparse transition function: follow failure links until an
// edge on c exists, ending at the root's full row.
func (a *automaton) step(s, c int32) int32 {
	nc := int64(a.nclass)
	for s != 0 {
		if t, ok := a.edges[int64(s)*nc+int64(c)]; ok {
			return t
		}
		s = a.fail[s]
	}
	return a.rootRow[c]
}

// densify compiles the failure links into a full transition table and
// renumbers the states so that those ending a value come last: the scan
// loop then tests for a match with one comparison.
func (a *automaton) densify() {
	n := int32(len(a.depth))
	nc := a.nclass
	order := make([]int32, 0, n) // new index -> old state
	for s := range n {
		if a.outLen[s] == 0 {
			order = append(order, s)
		}
	}
	firstMatch := int32(len(order))
	for s := range n {
		if a.outLen[s] != 0 {
			order = append(order, s)
		}
	}
	newID := make([]int32, n)
	for i, s := range order {
		newID[s] = int32(i)
	}
	// Breadth-first over the old states fills each row from its failure
	// state's row, already filled because that state is shallower.
	rows := make([][]int32, n)
	rows[0] = a.rootRow
	queue := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s != 0 {
			row := make([]int32, nc)
			copy(row, rows[a.fail[s]])
			rows[s] = row
		}
		for t := a.child[s]; t >= 0; t = a.sibling[t] {
			rows[s][a.via[t]] = t
			queue = append(queue, t)
		}
	}
	a.trans = make([]int32, int(n)*int(nc))
	depth := make([]int32, n)
	outLen := make([]int32, n)
	outPat := make([]int32, n)
	for i, s := range order {
		base := i * int(nc)
		for c, t := range rows[s] {
			a.trans[base+c] = newID[t] * nc
		}
		depth[i], outLen[i], outPat[i] = a.depth[s], a.outLen[s], a.outPat[s]
	}
	a.depth, a.outLen, a.outPat = depth, outLen, outPat
	a.firstMatch = firstMatch * nc
	a.edges, a.fail, a.rootRow = nil, nil, nil
}

// built drops what only construction needs.
func (a *automaton) built() { a.child, a.sibling, a.via = nil, nil, nil }

// scanDense steps from state s through p and stops after the first byte
// that ends a value. It returns the state and how many bytes it consumed.
// It makes no calls, so the loop keeps everything in registers.
//
// Each step depends on the one before, so the table walk is bound by
// memory latency; at the root, where text that is not a value keeps the
// automaton, bytes that start no value are skipped with independent
// look-ups instead.
func (a *automaton) scanDense(s int32, p []byte) (int32, int) {
	tr, cls, fm := a.trans, &a.class, a.firstMatch
	for i := 0; i < len(p); i++ {
		if s == 0 {
			i += a.skip(p[i:])
			if i == len(p) {
				break
			}
		}
		s = tr[s+cls[p[i]]]
		if s >= fm {
			return s, i + 1
		}
	}
	return s, len(p)
}

// setPair marks the pair b0 b1 as a possible start of a value.
func (a *automaton) setPair(b0, b1 byte) {
	x := uint(b0)<<8 | uint(b1)
	a.pairs[x>>6] |= 1 << (x & 63)
}

// skip returns how many leading bytes of p can be passed over at the root:
// those that, with the byte after them, start no value.
func (a *automaton) skip(p []byte) int {
	n := len(p)
	for j := 0; j < n; j++ {
		if a.onlyStart >= 0 {
			k := bytes.IndexByte(p[j:], byte(a.onlyStart))
			if k < 0 {
				return n
			}
			j += k
		}
		if j+1 == n {
			// The next byte is in the next write: let the automaton decide.
			if a.starts[p[j]] {
				return j
			}
			return n
		}
		x := uint(p[j])<<8 | uint(p[j+1])
		if a.pairs[x>>6]&(1<<(x&63)) != 0 {
			return j
		}
	}
	return n
}

// scanSparse is scanDense for the sparse form.
func (a *automaton) scanSparse(s int32, p []byte) (int32, int) {
	for i := 0; i < len(p); i++ {
		if s == 0 {
			i += a.skip(p[i:])
			if i == len(p) {
				break
			}
		}
		s = a.step(s, a.class[p[i]])
		if a.outLen[s] != 0 {
			return s, i + 1
		}
	}
	return s, len(p)
}

// index returns the per-state index of state s as the scan holds it.
func (a *automaton) index(s int32) int32 {
	if a.trans != nil {
		return s / a.nclass
	}
	return s
}
