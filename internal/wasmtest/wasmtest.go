// Package wasmtest builds the WebAssembly module for Go tests and
// benchmarks, so `go test ./...` always exercises the module built from the
// current source rather than a stale artifact.
package wasmtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/agent-vault/agent-vault/internal/wasmhost"
)

var (
	once    sync.Once
	module  []byte
	errOnce error
)

// Module returns the bytes of the module built from wasm/guest.
func Module() ([]byte, error) {
	once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "agent-vault-wasm-")
		if err != nil {
			errOnce = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "agent_vault.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, "./wasm/guest")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			errOnce = fmt.Errorf("failed to build the module: %v\n%s", err, msg)
			return
		}
		module, errOnce = os.ReadFile(out)
	})
	return module, errOnce
}

// Runtime returns a fresh wazero runtime with the module compiled.
func Runtime(ctx context.Context) (*wasmhost.Runtime, error) {
	wasm, err := Module()
	if err != nil {
		return nil, err
	}
	return wasmhost.NewRuntime(ctx, wasm, wasmhost.Config{})
}
