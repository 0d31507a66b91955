package keyfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/agent-vault/agent-vault/core"
)

func TestReadRefusesOpenPermissions(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "owner.key")
	const content = "# a stand-in: the mode is what is tested\n"
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.key")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o600, 0o400, 0o700, 0o640, 0o604, 0o644, 0o660, 0o601, 0o610, 0o666} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{p, link} {
			data, err := Read(path, false)
			if mode&0o077 == 0 {
				if err != nil || string(data) != content {
					t.Errorf("mode %04o, %s: %q, %v", mode, filepath.Base(path), data, err)
				}
				continue
			}
			if !errors.Is(err, ErrTooOpen) || core.CodeOf(err) != core.CodeInvalidKey || data != nil {
				t.Errorf("mode %04o, %s: %q, %v; want invalid_key", mode, filepath.Base(path), data, err)
				continue
			}
			if want := fmt.Sprintf("permissions %04o for '%s' are too open", mode, path); err.(*core.Error).Msg != want {
				t.Errorf("message %q, want %q", err.(*core.Error).Msg, want)
			}
			if h := core.HintOf(err); h != "run: chmod 600 '"+path+"' (or pass --insecure-key-permissions to use it anyway)" {
				t.Errorf("hint %q", h)
			}
			if data, err := Read(path, true); err != nil || string(data) != content {
				t.Errorf("mode %04o with insecure: %q, %v", mode, data, err)
			}
		}
	}
}

// A device or pipe is not a file at rest; it is read, but never more than
// a key file could hold.
func TestReadBoundsItsRead(t *testing.T) {
	data, err := Read("/dev/zero", false)
	if err != nil || len(data) != maxRead+1 {
		t.Fatalf("/dev/zero: %d bytes, %v; want %d", len(data), err, maxRead+1)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.Write([]byte("piped")); w.Close() }()
	defer r.Close()
	if data, err := Read("/dev/fd/"+strconv.Itoa(int(r.Fd())), false); err != nil || string(data) != "piped" {
		t.Errorf("pipe: %q, %v", data, err)
	}
}
