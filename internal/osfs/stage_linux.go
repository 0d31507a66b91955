package osfs

import "golang.org/x/sys/unix"

// syncStaged makes the staged files durable with one syncfs(2) of the
// file system that holds the directory: a single flush instead of one
// journal commit per file.
func (d *Dir) syncStaged(writes []staged) error {
	if len(writes) == 0 {
		return nil
	}
	f, err := d.root.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return d.syncEach(writes)
	}
	return nil
}
