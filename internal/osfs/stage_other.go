//go:build !linux

package osfs

import "os"

// startWriteback does nothing: the sync at commit writes everything.
func startWriteback(*os.File) {}

// syncStaged makes the staged files durable one by one.
func (d *Dir) syncStaged(writes []staged) error { return d.syncEach(writes) }
