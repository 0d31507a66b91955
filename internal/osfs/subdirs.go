package osfs

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Every os.Root operation on "secrets/g/x" opens "secrets", then "g",
// before it touches x: with core's symlink checks (an Lstat per
// component) and the temporary file and rename of each atomic write, a
// re-encrypted secret cost about 37 openat calls. Dir therefore keeps one
// os.Root per directory it has used, opened once through its parent's, so
// an operation is one system call on its last component. A handle keeps
// naming the directory it was opened on: Remove drops the handles of a
// directory it removes, and an operation that finds nothing through a
// handle opened earlier tries once more on a fresh one (the directory may
// have been removed and made again).

// at returns the handle of name's directory and name's last component.
func (d *Dir) at(name string) (*os.Root, string, error) {
	if !fs.ValidPath(name) {
		return nil, "", &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return d.root, name, nil
	}
	r, err := d.sub(dir)
	return r, base, err
}

// sub returns the handle of directory dir (slash-separated, relative to
// the root), opening it and any parent not yet open.
func (d *Dir) sub(dir string) (*os.Root, error) {
	d.mu.Lock()
	r := d.subs[dir]
	d.mu.Unlock()
	if r != nil {
		return r, nil
	}
	parent, base, err := d.at(dir)
	if err != nil {
		return nil, err
	}
	r, err = parent.OpenRoot(base)
	if err != nil {
		return nil, fullPath(err, dir)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.subs == nil {
		d.subs = map[string]*os.Root{}
	}
	if old := d.subs[dir]; old != nil { // another goroutine was first
		r.Close()
		return old, nil
	}
	d.subs[dir] = r
	return r, nil
}

// forget drops the handles of dir and of every directory below it, so
// later operations open fresh ones. They are closed once no operation is
// under way (see open): another goroutine may be in the middle of one
// through them.
func (d *Dir) forget(dir string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, r := range d.subs {
		if k == dir || strings.HasPrefix(k, dir+"/") {
			d.retired = append(d.retired, r)
			delete(d.subs, k)
		}
	}
}

// closeSubs closes every directory handle, dropped ones included.
func (d *Dir) closeSubs() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, r := range d.subs {
		r.Close()
		delete(d.subs, k)
	}
	for _, r := range d.retired {
		r.Close()
	}
	d.retired = nil
}

// fullPath restores the path relative to the root in an error reported by
// a directory handle, which names only the last component.
func fullPath(err error, name string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: name, Err: pe.Err}
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return &os.LinkError{Op: le.Op, Old: name, New: name, Err: le.Err}
	}
	return err
}

// open runs op on name's directory handle and last component, reporting
// errors with name in full. If name is not found through handles opened
// earlier, a directory on the way may have been removed and made again
// since: op runs once more on fresh handles.
func open[T any](d *Dir, name string, op func(r *os.Root, base string) (T, error)) (T, error) {
	d.mu.Lock()
	d.active++
	d.mu.Unlock()
	defer d.leave()
	top, _, _ := strings.Cut(name, "/")
	for retry := true; ; retry = false {
		d.mu.Lock()
		cached := d.subs[top] != nil
		d.mu.Unlock()
		r, base, err := d.at(name)
		var v T
		if err == nil {
			if v, err = op(r, base); err == nil {
				return v, nil
			}
			err = fullPath(err, name)
		}
		if !retry || !cached || !errors.Is(err, fs.ErrNotExist) {
			return v, err
		}
		d.forget(top)
	}
}

// leave ends an operation of open, closing the dropped handles when it was
// the last one under way.
func (d *Dir) leave() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.active--; d.active == 0 {
		for _, r := range d.retired {
			r.Close()
		}
		d.retired = nil
	}
}
