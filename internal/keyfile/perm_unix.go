//go:build !windows

package keyfile

import "io/fs"

// tooOpen reports whether group or others have any access to a key file,
// the rule ssh applies to private keys.
func tooOpen(mode fs.FileMode) bool { return mode.Perm()&0o077 != 0 }
