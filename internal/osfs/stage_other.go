//go:build !linux

package osfs

// syncStaged makes the staged files durable one by one.
func (d *Dir) syncStaged(writes []staged) error { return d.syncEach(writes) }
