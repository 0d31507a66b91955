// Command guest is the agent-vault WebAssembly module: a WASI reactor built
// with GOOS=wasip1 -buildmode=c-shared (docs/wasm-abi.md). Its exports only
// move bytes across linear memory; wasm/abi decodes requests and the
// reader in core does the work, asking the host for files and git through
// two imports.
//
// Exports:
//
//	av_abi_version() i32          the ABI version; bindings refuse a mismatch
//	av_alloc(size i32) i32        a guest buffer the host may write into
//	av_free(ptr i32)              zero and release a buffer
//	av_call(ptr, len i32) i64     handle a JSON request; returns ptr<<32|len
//	                              of a response buffer the host must free
//
// Imports (module "agent_vault"):
//
//	host_call(ptr, len i32) i32   run a host request; the answer's length
//	host_result(ptr i32)          copy that answer into ptr
package main

import (
	"unsafe"

	"github.com/agent-vault/agent-vault/wasm/abi"
)

func main() {}

// buffers keeps every buffer handed to the host reachable until freed, so
// the garbage collector cannot reclaim memory the host is still using.
var buffers = map[uint32][]byte{}

var dispatcher = abi.NewDispatcher(abi.ImportHost{Call: callHost})

//go:wasmexport av_abi_version
func abiVersion() int32 { return abi.Version }

//go:wasmexport av_alloc
func alloc(size int32) uint32 {
	if size < 0 {
		return 0
	}
	return keep(make([]byte, max(size, 1))[:size])
}

//go:wasmexport av_free
func free(ptr uint32) {
	if b, ok := buffers[ptr]; ok {
		clear(b)
		delete(buffers, ptr)
	}
}

//go:wasmexport av_call
func call(ptr, size uint32) uint64 {
	req, ok := buffers[ptr]
	if !ok || uint32(len(req)) < size {
		return 0
	}
	resp := dispatcher.Call(req[:size])
	return uint64(keep(resp))<<32 | uint64(len(resp))
}

func keep(b []byte) uint32 {
	if cap(b) == 0 {
		b = make([]byte, 0, 1)
	}
	p := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b[:cap(b)]))))
	buffers[p] = b
	return p
}
