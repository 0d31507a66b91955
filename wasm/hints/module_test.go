package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/tetratelabs/wazero"
)

// tinyModule is a module with one imported and two declared functions,
// all named: "imp" (0), "hot" (1) and "cold" (2).
func tinyModule(t *testing.T) []byte {
	t.Helper()
	sec := func(id byte, payload ...byte) []byte {
		return append(binary.AppendUvarint([]byte{id}, uint64(len(payload))), payload...)
	}
	str := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	var names []byte
	names = append(names, 3)
	for i, n := range []string{"imp", "hot", "cold"} {
		names = append(append(names, byte(i)), str(n)...)
	}
	nameSec := append(str("name"), append([]byte{nameSubsectionFunctions, byte(len(names))}, names...)...)

	m := bytes.Clone(header)
	m = append(m, sec(1, 1, 0x60, 0, 0)...)                                                                     // type: () -> ()
	m = append(m, sec(2, append(append([]byte{1}, append(str("env"), str("imp")...)...), importFunc, 0)...)...) // import
	m = append(m, sec(3, 2, 0, 0)...)                                                                           // two functions of type 0
	m = append(m, sec(10, 2, 2, 0, 0x0b, 2, 0, 0x0b)...)                                                        // two empty bodies
	m = append(m, sec(sectionCustom, nameSec...)...)
	return m
}

func TestWithHintsMarksListedFunctionsAndDropsNames(t *testing.T) {
	m, err := parseModule(tinyModule(t))
	if err != nil {
		t.Fatal(err)
	}
	if m.imported != 1 || m.declared != 2 || m.names[2] != "cold" {
		t.Fatalf("parsed imported=%d declared=%d names=%v", m.imported, m.declared, m.names)
	}
	eager, missing := m.indices([]byte("# a comment\nhot\nimp\nnot-there\n\n"))
	if len(eager) != 1 || !eager[1] || missing != 2 {
		t.Fatalf("eager %v, missing %d; want only hot, and imp and not-there missing", eager, missing)
	}
	out, err := m.withHints(eager)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseModule(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.names) != 0 {
		t.Errorf("the name section is still there: %v", got.names)
	}
	var ids []byte
	var hints []byte
	for _, s := range got.sections {
		ids = append(ids, s.id)
		r := &reader{b: s.payload}
		if s.id == sectionCustom && r.name() == "compilationHints" {
			hints = r.b[r.off:]
		}
	}
	if want := []byte{1, 2, 3, sectionCustom, 10}; !bytes.Equal(ids, want) {
		t.Errorf("section order %v, want %v (hints right before the code)", ids, want)
	}
	if want := []byte{2, hintEager, hintLazy}; !bytes.Equal(hints, want) {
		t.Errorf("hints % x, want % x", hints, want)
	}

	// The result is still a valid module for an engine that ignores hints.
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, out); err != nil {
		t.Fatalf("wazero refuses the hinted module: %v", err)
	}
}

func TestParseModuleRefusesDamage(t *testing.T) {
	good := tinyModule(t)
	for name, data := range map[string][]byte{
		"no header":        []byte("nope"),
		"truncated":        good[:len(good)-3],
		"oversized length": append(bytes.Clone(header), 10, 0xff, 0xff, 0xff, 0xff, 0x0f),
	} {
		if _, err := parseModule(data); err == nil {
			t.Errorf("%s: parsed without an error", name)
		}
	}
	m, err := parseModule(good)
	if err != nil {
		t.Fatal(err)
	}
	m.sections = m.sections[:3] // no code section
	if _, err := m.withHints(nil); err == nil {
		t.Error("a module without a code section got hints")
	}
}
