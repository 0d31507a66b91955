// Package wasmhost runs the agent-vault WebAssembly module under wazero.
// Go tests and benchmarks use it to drive the very module the Python, Node
// and browser bindings load, with the host imports served by the operating
// system (internal/oshost), as a binding serves them.
package wasmhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/internal/oshost"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

// Config configures a Runtime. The zero value compiles in memory and
// serves the host imports from the operating system.
type Config struct {
	// CacheDir, if set, holds compiled code across processes.
	CacheDir string
	// Host answers the module's host calls; nil means oshost.Host.
	Host reader.Host
}

// Runtime owns the compiled module. Compile once, then instantiate per
// vault directory.
type Runtime struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
}

// NewRuntime compiles the module in wasm.
func NewRuntime(ctx context.Context, wasm []byte, cfg Config) (*Runtime, error) {
	rc := wazero.NewRuntimeConfig()
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("failed to open compilation cache: %w", err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("failed to set up WASI: %w", err)
	}
	var h reader.Host = oshost.Host{}
	if cfg.Host != nil {
		h = cfg.Host
	}
	if err := defineImports(ctx, rt, h); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("failed to compile module: %w", err)
	}
	return &Runtime{rt: rt, compiled: compiled}, nil
}

// Close releases the runtime and every instance.
func (r *Runtime) Close(ctx context.Context) error { return r.rt.Close(ctx) }

// Instance is one module instance. It is single-threaded: callers
// serialise calls.
type Instance struct {
	mod                 api.Module
	alloc, free, callFn api.Function
}

// Instantiate starts an instance. It mounts nothing: the module reads
// files through the host imports. The module sleeps while it waits for a
// clone's read lock; wazero's default nanosleep returns at once, which
// would make that wait spin.
func (r *Runtime) Instantiate(ctx context.Context) (*Instance, error) {
	cfg := wazero.NewModuleConfig().WithName("").
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(randReader{}).
		WithStartFunctions("_initialize")
	mod, err := r.rt.InstantiateModule(ctx, r.compiled, cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to instantiate module: %w", err)
	}
	in := &Instance{mod: mod, alloc: mod.ExportedFunction("av_alloc"),
		free: mod.ExportedFunction("av_free"), callFn: mod.ExportedFunction("av_call")}
	ver := mod.ExportedFunction("av_abi_version")
	if ver == nil || in.alloc == nil || in.free == nil || in.callFn == nil {
		mod.Close(ctx)
		return nil, errors.New("module lacks the agent-vault exports")
	}
	res, err := ver.Call(ctx)
	if err != nil {
		mod.Close(ctx)
		return nil, fmt.Errorf("failed to read ABI version: %w", err)
	}
	if v := int32(res[0]); v != abi.Version {
		mod.Close(ctx)
		return nil, fmt.Errorf("module ABI version %d, this host needs %d: rebuild the module and the host together", v, abi.Version)
	}
	return in, nil
}

// Close ends the instance.
func (in *Instance) Close(ctx context.Context) error { return in.mod.Close(ctx) }

// Call sends one raw request and returns a copy of the raw response; the
// guest buffer is zeroed and freed before Call returns.
func (in *Instance) Call(ctx context.Context, req []byte) ([]byte, error) {
	res, err := in.alloc.Call(ctx, uint64(len(req)))
	if err != nil {
		return nil, fmt.Errorf("failed to allocate guest memory: %w", err)
	}
	ptr := uint32(res[0])
	defer in.free.Call(ctx, uint64(ptr))
	if !in.mod.Memory().Write(ptr, req) {
		return nil, errors.New("request outside guest memory")
	}
	res, err = in.callFn.Call(ctx, uint64(ptr), uint64(len(req)))
	if err != nil {
		return nil, fmt.Errorf("guest call failed: %w", err)
	}
	rptr, rlen := uint32(res[0]>>32), uint32(res[0])
	if rptr == 0 {
		return nil, errors.New("guest rejected the request buffer")
	}
	defer in.free.Call(ctx, uint64(rptr))
	view, ok := in.mod.Memory().Read(rptr, rlen)
	if !ok {
		return nil, errors.New("response outside guest memory")
	}
	return append([]byte(nil), view...), nil
}

// Do sends req and decodes a successful result into out. A failure comes
// back as a *core.Error with the guest's code, so callers handle native and
// WASM errors alike.
func (in *Instance) Do(ctx context.Context, req abi.Request, out any) error {
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	resp, err := in.Call(ctx, data)
	clear(data)
	if err != nil {
		return err
	}
	defer clear(resp)
	var env struct {
		OK     bool            `json:"ok"`
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    core.Code `json:"code"`
			Message string    `json:"message"`
			Hint    string    `json:"hint"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp, &env); err != nil {
		return fmt.Errorf("malformed response: %w", err)
	}
	if !env.OK {
		if env.Error == nil {
			return errors.New("malformed error response")
		}
		return &core.Error{Code: env.Error.Code, Msg: env.Error.Message, Hint: env.Error.Hint}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(env.Result, out)
}

// ReadModule reads a module file, for callers that do not embed it.
func ReadModule(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read module: %w", err)
	}
	return b, nil
}
