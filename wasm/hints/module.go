package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The WebAssembly binary format (core spec §5.5): a header, then sections
// of an id byte, a LEB128 size and a payload. Only what the hints need is
// decoded: how many functions are imported and declared, and the function
// names the Go linker writes into the "name" custom section.
const (
	sectionCustom   = 0
	sectionImport   = 2
	sectionFunction = 3
	sectionCode     = 10

	importFunc   = 0
	importTable  = 1
	importMemory = 2
	importGlobal = 3

	nameSubsectionFunctions = 1
)

var header = []byte("\x00asm\x01\x00\x00\x00")

// section is one section of a module: its id, its payload, and the whole
// encoding (id, size and payload) so it can be copied unchanged.
type section struct {
	id      byte
	payload []byte
	raw     []byte
}

// module is a decoded module: its sections in order, the count of imported
// and of declared functions, and the function names by absolute index.
type module struct {
	sections []section
	imported int
	declared int
	names    map[int]string
}

// parseModule splits a module into sections and reads the counts and names.
func parseModule(data []byte) (*module, error) {
	if !bytes.HasPrefix(data, header) {
		return nil, errors.New("not a WebAssembly 1.0 module")
	}
	m := &module{names: map[int]string{}}
	r := &reader{b: data[len(header):]}
	for !r.done() {
		start := r.off
		id := r.byte()
		payload := r.bytes(int(r.u32()))
		if r.err != nil {
			return nil, fmt.Errorf("failed to read section %d: %w", len(m.sections), r.err)
		}
		s := section{id: id, payload: payload, raw: r.b[start:r.off]}
		m.sections = append(m.sections, s)
		if err := m.read(s); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// read takes what the hints need from one section.
func (m *module) read(s section) error {
	r := &reader{b: s.payload}
	switch s.id {
	case sectionImport:
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			r.name()
			r.name()
			switch kind := r.byte(); kind {
			case importFunc:
				m.imported++
				r.u32()
			case importTable:
				r.byte()
				r.limits()
			case importMemory:
				r.limits()
			case importGlobal:
				r.byte()
				r.byte()
			default:
				return fmt.Errorf("unknown import kind %d", kind)
			}
		}
	case sectionFunction:
		m.declared = int(r.u32())
	case sectionCustom:
		if r.name() != "name" {
			return nil
		}
		for !r.done() && r.err == nil {
			id := r.byte()
			sub := &reader{b: r.bytes(int(r.u32()))}
			if id != nameSubsectionFunctions {
				continue
			}
			for n := sub.u32(); n > 0 && sub.err == nil; n-- {
				idx := int(sub.u32())
				m.names[idx] = sub.name()
			}
			if sub.err != nil {
				return fmt.Errorf("failed to read function names: %w", sub.err)
			}
		}
	default:
		return nil
	}
	if r.err != nil {
		return fmt.Errorf("failed to read section id %d: %w", s.id, r.err)
	}
	return nil
}

// Hint bytes of V8's compilation hints section: the low two bits are the
// strategy (1 lazy, 2 eager); the tiers (bits 2-5) stay V8's default.
const (
	hintLazy  = 0x01
	hintEager = 0x02
)

// withHints returns the module without its "name" section and with a
// "compilationHints" section, placed where V8 reads it (after the function
// section, before the code section): eager for the declared functions
// whose absolute index is in eager, lazy for the others.
func (m *module) withHints(eager map[int]bool) ([]byte, error) {
	hints := binary.AppendUvarint(nil, uint64(m.declared))
	for i := 0; i < m.declared; i++ {
		if eager[m.imported+i] {
			hints = append(hints, hintEager)
		} else {
			hints = append(hints, hintLazy)
		}
	}
	out := bytes.Clone(header)
	placed := false
	for _, s := range m.sections {
		if s.id == sectionCustom && (&reader{b: s.payload}).name() == "name" {
			continue
		}
		if s.id == sectionCode {
			out = appendCustom(out, "compilationHints", hints)
			placed = true
		}
		out = append(out, s.raw...)
	}
	if !placed {
		return nil, errors.New("the module has no code section")
	}
	return out, nil
}

// appendCustom appends a custom section.
func appendCustom(out []byte, name string, content []byte) []byte {
	payload := binary.AppendUvarint(nil, uint64(len(name)))
	payload = append(payload, name...)
	payload = append(payload, content...)
	out = append(out, sectionCustom)
	out = binary.AppendUvarint(out, uint64(len(payload)))
	return append(out, payload...)
}

// reader decodes LEB128 integers, names and byte runs; the first error
// sticks and later reads return zero values.
type reader struct {
	b   []byte
	off int
	err error
}

var errTruncated = errors.New("truncated")

func (r *reader) done() bool { return r.err != nil || r.off >= len(r.b) }

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail(errTruncated)
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) u32() uint32 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 || v > 1<<32-1 {
		r.fail(errors.New("bad LEB128 integer"))
		return 0
	}
	r.off += n
	return uint32(v)
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n > len(r.b)-r.off {
		r.fail(errTruncated)
		return nil
	}
	r.off += n
	return r.b[r.off-n : r.off]
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

func (r *reader) limits() {
	if r.byte()&1 != 0 {
		r.u32()
	}
	r.u32()
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}
