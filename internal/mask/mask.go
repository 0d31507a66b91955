// Package mask replaces secret values in a byte stream as it passes
// through, for the output of programs that were handed secrets.
//
// A Writer scans everything written to it with one Aho-Corasick automaton
// over all the values, so its cost per byte does not grow with the number
// of values. It is streaming: a value split across two writes, or across
// any number of them, is still masked. To do that, the bytes at the end of
// a write that could be the start of a value are held back until the next
// write shows whether they are; every other byte is passed on at once, byte
// for byte, so binary output is untouched apart from masked values. Close
// writes what is still held back.
//
// What is masked: every byte of every occurrence of every value. Where
// occurrences overlap, the bytes they cover together are replaced as one
// run, by the replacement of the value that starts it (the longest one, if
// several start at the same byte) followed by the replacement of each value
// that carries the run further; a value wholly inside a longer one that is
// also masked adds nothing. So with values "abc" and "abcdef", the output
// "abcdef" becomes the replacement of "abcdef" alone, and no byte of any
// value is ever written.
package mask

import (
	"errors"
	"io"
	"slices"
)

// Pattern is one value to mask and the text that replaces it.
type Pattern struct {
	Value       []byte
	Replacement []byte
}

// Set is a compiled set of patterns, shared by any number of Writers.
type Set struct {
	a            *automaton
	replacements [][]byte
}

// Compile builds a Set. Empty values are skipped (there is nothing to
// mask); a value given twice keeps its first replacement.
func Compile(patterns []Pattern) *Set {
	return compile(patterns, true)
}

func compile(patterns []Pattern, dense bool) *Set {
	s := &Set{}
	var values [][]byte
	for _, p := range patterns {
		if len(p.Value) == 0 {
			continue
		}
		values = append(values, p.Value)
		s.replacements = append(s.replacements, slices.Clone(p.Replacement))
	}
	s.a = newAutomaton(values, dense)
	return s
}

// label is one replacement inside a masked run: the value's index and the
// offset where its occurrence starts.
type label struct {
	start int64
	pat   int32
}

// run is a stretch of the stream covered by overlapping occurrences.
// Offsets count bytes from the start of the stream.
type run struct {
	start, end int64
	labels     []label
	// written counts the labels already passed on.
	written int
}

// Writer masks the values of a Set in everything written to it and passes
// the result to an underlying writer. It is not safe for concurrent use.
type Writer struct {
	w   io.Writer
	set *Set

	state int32
	// pos is the offset of the next byte written; emitted is the offset
	// up to which the output is decided and passed on.
	pos, emitted int64
	// held holds the input bytes from emitted to the start of the current
	// write: they may still turn out to be part of a value.
	held []byte
	runs []run
	err  error
}

// NewWriter returns a Writer that writes the masked stream to w.
func (s *Set) NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, set: s}
}

// errClosed is returned by writes after Close.
var errClosed = errors.New("mask: write after close")

// Write masks p and passes on every byte that can no longer be part of a
// value. It always consumes all of p unless the underlying writer fails.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	base := w.pos
	a := w.set.a
	s := w.state
	for off := 0; off < len(p); {
		var n int
		if a.trans != nil {
			s, n = a.scanDense(s, p[off:])
		} else {
			s, n = a.scanSparse(s, p[off:])
		}
		off += n
		if n == 0 || a.outLen[a.index(s)] == 0 {
			continue
		}
		w.match(s, base+int64(off))
	}
	w.state = s
	w.pos = base + int64(len(p))
	// No occurrence can start before decided: the longest partial value
	// still in progress starts there.
	decided := w.pos - int64(a.depth[a.index(s)])
	if err := w.emit(decided, p, base); err != nil {
		w.err = err
		return 0, err
	}
	return len(p), nil
}

// Close writes everything still held back: the stream has ended, so no
// partial value can complete. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		if w.err == errClosed {
			return nil
		}
		return w.err
	}
	err := w.emit(w.pos, nil, w.pos)
	w.err = errClosed
	return err
}

// match records the occurrence of the longest value ending at end, in
// state s. Runs it overlaps are merged into one; their labels that start
// inside the new occurrence are dropped, since it covers them.
func (w *Writer) match(s int32, end int64) {
	a := w.set.a
	i := a.index(s)
	start := end - int64(a.outLen[i])
	pat := a.outPat[i]
	k := len(w.runs)
	for k > 0 && w.runs[k-1].end > start {
		k--
	}
	if k == len(w.runs) {
		w.runs = append(w.runs, run{start: start, end: end, labels: []label{{start, pat}}})
		return
	}
	// Runs after k start after this occurrence does, so it covers them and
	// all their labels; run k keeps the labels that start before it.
	r := &w.runs[k]
	keep := len(r.labels)
	for keep > 0 && r.labels[keep-1].start >= start {
		keep--
	}
	r.labels = r.labels[:keep]
	if keep == 0 || r.labels[keep-1].pat != pat {
		r.labels = append(r.labels, label{start, pat})
	}
	r.start = min(r.start, start)
	r.end = end
	w.runs = w.runs[:k+1]
}

// emit passes on the output up to offset decided, where p is the current
// write and starts at offset base, then keeps what is left in held.
func (w *Writer) emit(decided int64, p []byte, base int64) error {
	for w.emitted < decided {
		if len(w.runs) == 0 || w.runs[0].start >= decided {
			if err := w.raw(w.emitted, decided, p, base); err != nil {
				return err
			}
			w.emitted = decided
			break
		}
		r := &w.runs[0]
		if w.emitted < r.start {
			if err := w.raw(w.emitted, r.start, p, base); err != nil {
				return err
			}
			w.emitted = r.start
		}
		// A label that starts before decided can no longer be dropped.
		for r.written < len(r.labels) && r.labels[r.written].start < decided {
			if _, err := w.w.Write(w.set.replacements[r.labels[r.written].pat]); err != nil {
				return err
			}
			r.written++
		}
		if r.end > decided {
			w.emitted = decided
			break
		}
		w.emitted = r.end
		w.runs = w.runs[1:]
	}
	if len(w.runs) == 0 {
		w.runs = w.runs[:0:0]
	}
	// Keep the input bytes from emitted on: the tail of held, then of p.
	heldStart := base - int64(len(w.held))
	if w.emitted < base {
		n := copy(w.held, w.held[w.emitted-heldStart:])
		w.held = w.held[:n]
	} else {
		w.held = w.held[:0]
	}
	from := max(w.emitted, base) - base
	w.held = append(w.held, p[from:]...)
	return nil
}

// raw passes on the input bytes from offset from to offset to.
func (w *Writer) raw(from, to int64, p []byte, base int64) error {
	heldStart := base - int64(len(w.held))
	if from < base {
		if _, err := w.w.Write(w.held[from-heldStart : min(to, base)-heldStart]); err != nil {
			return err
		}
		from = base
	}
	if from < to {
		if _, err := w.w.Write(p[from-base : to-base]); err != nil {
			return err
		}
	}
	return nil
}
