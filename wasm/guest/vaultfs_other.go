//go:build !wasip1

package main

import (
	"io/fs"
	"os"
)

// openVaultFS exists so the guest package builds natively (for go vet);
// the module itself is only ever built for wasip1.
func openVaultFS(root string) fs.FS { return os.DirFS(root) }
