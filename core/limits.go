package core

// MaxValueSize is the largest secret value the vault stores, 64 MiB. A
// caller reading a value from a stream should stop one byte past it, so
// that a larger input is refused without being read whole.
const MaxValueSize = maxSecretSize
