//go:build wasip1

package main

import (
	"errors"
	"unsafe"
)

//go:wasmimport agent_vault host_call
func hostCall(ptr unsafe.Pointer, size uint32) int32

//go:wasmimport agent_vault host_result
func hostResult(ptr unsafe.Pointer)

// callHost sends one host request and returns the host's answer. The
// answer is copied in a second step, into memory the guest allocated, so
// the host never has to call back into the module.
func callHost(req []byte) ([]byte, error) {
	n := hostCall(unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req)))
	if n < 1 {
		return nil, errors.New("the host refused the request")
	}
	out := make([]byte, n)
	hostResult(unsafe.Pointer(unsafe.SliceData(out)))
	return out, nil
}
