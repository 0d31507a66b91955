// Package conformance runs the shared vectors through native core and
// through the WebAssembly module under wazero, and requires both to give
// the same outcome as the table and as each other.
package conformance

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/wasmtest"
	"github.com/agent-vault/agent-vault/tests/vectors"
	"github.com/agent-vault/agent-vault/wasm/host"
)

// runNative executes one case with core directly.
func runNative(t *vectors.Table, c vectors.Case) vectors.Outcome {
	v, err := core.Open(os.DirFS(t.CaseVaultDir(c)))
	if err != nil {
		return vectors.Outcome{Err: err}
	}
	var sess *core.Session
	if spec := t.KeySpec(c); spec != nil {
		id, err := core.LoadIdentity(*spec, os.ReadFile)
		if err != nil {
			return vectors.Outcome{Err: err}
		}
		sess = v.WithIdentity(id)
	}
	list, agents := v.List, v.Agents
	if c.Verifies() {
		trust, err := v.LoadTrust(c.Pin)
		if err != nil {
			return vectors.Outcome{Err: err}
		}
		if c.Seen != nil {
			if err := trust.CheckSeen(c.Seen.VaultID, c.Seen.Version); err != nil {
				return vectors.Outcome{Err: err}
			}
		}
		if sess != nil {
			sess = sess.WithTrust(trust)
		}
		list, agents = trust.List, trust.Agents
	}
	switch c.Op {
	case "get":
		if sess == nil {
			return vectors.Outcome{Err: &core.Error{Code: core.CodeInvalidKey, Msg: "no key"}}
		}
		val, err := sess.Get(c.Secret)
		return vectors.Outcome{Value: val, Err: err}
	case "list":
		ms, err := list(c.Group)
		return vectors.Outcome{Names: vectors.MetadataNames(ms), Err: err}
	case "agents":
		as, err := agents()
		var names []string
		for _, a := range as {
			names = append(names, a.Name)
		}
		return vectors.Outcome{Names: names, Err: err}
	case "check":
		now, _ := time.Parse(time.RFC3339, t.Now)
		fs, err := v.Check(core.CheckOptions{Now: now})
		return vectors.Outcome{Findings: vectors.FindingKeys(fs), Err: err}
	}
	return vectors.Outcome{Err: &core.Error{Code: core.CodeInvalidInput, Msg: "unknown op " + c.Op}}
}

// runWasm executes one case inside the module.
func runWasm(ctx context.Context, rt *host.Runtime, t *vectors.Table, c vectors.Case) vectors.Outcome {
	v, err := rt.OpenVault(ctx, t.CaseVaultDir(c), t.KeySpec(c))
	if err != nil {
		return vectors.Outcome{Err: err}
	}
	defer v.Close(ctx)
	switch c.Op {
	case "get":
		val, err := v.Get(ctx, c.Secret)
		return vectors.Outcome{Value: val, Err: err}
	case "list":
		ms, err := v.List(ctx, c.Group)
		return vectors.Outcome{Names: vectors.MetadataNames(ms), Err: err}
	case "agents":
		as, err := v.Agents(ctx)
		var names []string
		for _, a := range as {
			names = append(names, a.Name)
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
	verifying := 0
	for _, c := range table.Cases {
		t.Run(c.Name, func(t *testing.T) {
			native := runNative(table, c)
			if c.Verifies() {
				// The module gains the owner-signature API with the shared
				// reader; until then these cases run natively only.
				verifying++
				if err := c.Check(native); err != nil {
					t.Errorf("native: %v", err)
				}
				return
			}
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
	if verifying > 0 {
		t.Logf("%d cases that verify the owner's signature ran natively only", verifying)
	}
}
