// Package conformance runs the shared vectors through the reader natively
// and through the WebAssembly module under wazero, and requires both to give
// the same outcome as the table and as each other.
package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/internal/oshost"
	"github.com/agent-vault/agent-vault/internal/wasmhost"
	"github.com/agent-vault/agent-vault/internal/wasmtest"
	"github.com/agent-vault/agent-vault/tests/vectors"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

// runNative executes one case with the reader over the operating system,
// as the CLI and the MCP server read.
func runNative(t *vectors.Table, c vectors.Case) vectors.Outcome {
	ctx := context.Background()
	opts := reader.Options{Repo: t.CaseVaultDir(c), MetadataOnly: t.KeySpec(c) == nil, Owner: c.Pin, Seen: c.Seen}
	if spec := t.KeySpec(c); spec != nil {
		opts.Key = *spec
	}
	// The fixture keys are checked out world-readable; refusing them is the
	// CLI's rule, tested in tests/hardening, not part of the table.
	r, err := reader.Open(ctx, oshost.Host{InsecureKeyPerms: true}, opts)
	if err != nil {
		return vectors.Outcome{Err: err}
	}
	switch c.Op {
	case "get":
		val, err := r.Get(ctx, c.Secret)
		return vectors.Outcome{Value: val, Err: err}
	case "list":
		ms, err := r.List(ctx, reader.ListOptions{Group: c.Group, All: c.All})
		return vectors.Outcome{Names: vectors.MetadataNames(ms), Err: err}
	case "agents":
		p, err := r.Agents(ctx)
		var names []string
		if p != nil {
			for _, a := range p.Agents {
				names = append(names, a.Name)
			}
		}
		return vectors.Outcome{Names: names, Err: err}
	case "check":
		now, _ := time.Parse(time.RFC3339, t.Now)
		fs, err := r.Check(ctx, now)
		return vectors.Outcome{Findings: vectors.FindingKeys(fs), Err: err}
	}
	return vectors.Outcome{Err: &core.Error{Code: core.CodeInvalidInput, Msg: "unknown op " + c.Op}}
}

// runWasm executes one case inside the module.
func runWasm(ctx context.Context, rt *wasmhost.Runtime, t *vectors.Table, c vectors.Case) vectors.Outcome {
	req := abi.Request{Repo: t.CaseVaultDir(c), MetadataOnly: t.KeySpec(c) == nil, Owner: c.Pin, Seen: c.Seen}
	if spec := t.KeySpec(c); spec != nil {
		req.Key = *spec
	}
	v, err := rt.OpenVault(ctx, req)
	if err != nil {
		return vectors.Outcome{Err: err}
	}
	defer v.Close(ctx)
	switch c.Op {
	case "get":
		val, err := v.Get(ctx, c.Secret)
		return vectors.Outcome{Value: val, Err: err}
	case "list":
		ms, err := v.List(ctx, c.Group, c.All)
		return vectors.Outcome{Names: vectors.MetadataNames(ms), Err: err}
	case "agents":
		p, err := v.Agents(ctx)
		var names []string
		if p != nil {
			for _, a := range p.Agents {
				names = append(names, a.Name)
			}
		}
		return vectors.Outcome{Names: names, Err: err}
	case "check":
		fs, err := v.Check(ctx, t.Now)
		return vectors.Outcome{Findings: vectors.FindingKeys(fs), Err: err}
	}
	return vectors.Outcome{Err: &core.Error{Code: core.CodeInvalidInput, Msg: "unknown op " + c.Op}}
}

func TestVectors(t *testing.T) { runTable(t, vectors.Load) }

// TestHostileVectors runs the broken-fixture table: every path must refuse
// symlinks, bombs, damaged ciphertext and traversal names the same way.
func TestHostileVectors(t *testing.T) { runTable(t, vectors.LoadHostile) }

func runTable(t *testing.T, load func() (*vectors.Table, error)) {
	table, err := load()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := wasmtest.Runtime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	for _, c := range table.Cases {
		t.Run(c.Name, func(t *testing.T) {
			native := runNative(table, c)
			wasm := runWasm(ctx, rt, table, c)
			if err := c.Check(native); err != nil {
				t.Errorf("native: %v", err)
			}
			if err := c.Check(wasm); err != nil {
				t.Errorf("wasm: %v", err)
			}
			if core.CodeOf(native.Err) != core.CodeOf(wasm.Err) && (native.Err != nil || wasm.Err != nil) {
				t.Errorf("native and wasm disagree: %v vs %v", native.Err, wasm.Err)
			}
		})
	}
}
