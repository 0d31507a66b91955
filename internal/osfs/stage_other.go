//go:build !linux

package osfs

import "io/fs"

// syncStaged makes the staged files durable one by one.
func (d *Dir) syncStaged(writes []staged) error { return d.syncEach(writes) }

// unnamedFiles is empty: staged files are made by name.
type unnamedFiles struct{}

func (d *Dir) writeUnnamed(string, []byte, fs.FileMode) (bool, error) { return false, nil }

func (d *Dir) closeUnnamed() {}
