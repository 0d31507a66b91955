//go:build windows

package keyfile

import "io/fs"

// tooOpen is always false on Windows: access is governed by ACLs, and Go
// reports every file as 0666 or 0444, so the mode bits say nothing.
func tooOpen(fs.FileMode) bool { return false }
