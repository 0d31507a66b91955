package wasmhost

import (
	"context"
	"fmt"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

// defineImports provides the module's two host imports (docs/wasm-abi.md):
// host_call runs a request with h and keeps the answer, host_result copies
// it into guest memory. An instance is single-threaded, so one pending
// answer per module is all the state there is; instances may run in
// parallel, hence the lock.
func defineImports(ctx context.Context, rt wazero.Runtime, h reader.Host) error {
	var mu sync.Mutex
	pending := map[api.Module][]byte{}
	_, err := rt.NewHostModuleBuilder("agent_vault").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr, size uint32) int32 {
		req, ok := m.Memory().Read(ptr, size)
		if !ok {
			return -1
		}
		resp := abi.Serve(h, append([]byte(nil), req...))
		mu.Lock()
		pending[m] = resp
		mu.Unlock()
		return int32(len(resp))
	}).Export("host_call").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr uint32) {
		mu.Lock()
		resp := pending[m]
		delete(pending, m)
		mu.Unlock()
		m.Memory().Write(ptr, resp)
		clear(resp)
	}).Export("host_result").
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("failed to define the host imports: %w", err)
	}
	return nil
}
