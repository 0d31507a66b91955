package command

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/osfs"
)

// writePin writes the owner's verification key into the pin file beside an
// agent key (agents/<name>.key -> agents/<name>.owner), mode 0600. A pin
// file that already holds the same key is kept; one holding another key is
// never overwritten. The key file itself stays one AGE-SECRET-KEY line, as
// the original tool requires.
func writePin(keyPath string, owner *core.Identity) (pin, path string, err error) {
	if pin, err = core.OwnerVerificationKey(owner); err != nil {
		return "", "", err
	}
	path = core.PinPath(keyPath)
	err = osfs.WriteKeyFile(path, []byte(pin+"\n"))
	if errors.Is(err, osfs.ErrKeyExists) {
		if old, rerr := os.ReadFile(path); rerr == nil && bytes.Equal(bytes.TrimSpace(old), []byte(pin)) {
			return pin, path, nil
		}
		return "", "", &core.Error{Code: core.CodeConflict, Msg: "a pin file for another owner key already exists at " + path,
			Hint: "move it away if it is stale; agent-vault never overwrites it"}
	}
	return pin, path, err
}

// checkPinFree fails early, before a key is created, if writePin would
// refuse.
func checkPinFree(keyPath string, owner *core.Identity) error {
	pin, err := core.OwnerVerificationKey(owner)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(core.PinPath(keyPath))
	if err != nil || strings.TrimSpace(string(old)) == pin {
		return nil
	}
	return &core.Error{Code: core.CodeConflict, Msg: fmt.Sprintf("a pin file for another owner key already exists at %s", core.PinPath(keyPath)),
		Hint: "move it away if it is stale; agent-vault never overwrites it"}
}
