// Package gctune sets the garbage collector up for agent-vault's
// processes.
package gctune

import "os"

// Floor is the heap size below which collecting is not worth its cost.
const Floor = 32 << 20

// ballast counts as live heap, which puts the collector's goal (twice the
// live heap) at Floor or more. It is never written, so the memory behind
// it is never touched and costs no resident memory.
var ballast []byte

// Apply raises the heap goal to at least Floor, unless GOGC or GOMEMLIMIT
// says otherwise. A command's live heap is a few MiB while reading a vault
// allocates a little per secret, so Go's default (collect at twice the
// live heap, at least every 4 MiB) made a check of 10,000 secrets run
// thousands of collections, a third of its time, and a larger share the
// larger the vault. Setting it up costs about a millisecond, so commands
// that read one secret do without.
func Apply() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" || ballast != nil {
		return
	}
	ballast = make([]byte, Floor/2)
}
