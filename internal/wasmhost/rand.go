package wasmhost

import "crypto/rand"

// randReader feeds the guest's random_get from the host CSPRNG. wazero's
// default is a deterministic source, which must never back key generation.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return rand.Read(p) }
