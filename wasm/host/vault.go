package host

import (
	"context"
	"os"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

// Vault is a vault opened inside a module instance: the Go counterpart of
// the Python and Node bindings, used by tests and benchmarks.
type Vault struct {
	in     *Instance
	handle int32
}

// OpenVault instantiates the module over dir and opens the vault with the
// key that spec resolves to. A nil spec opens it for metadata only.
func (r *Runtime) OpenVault(ctx context.Context, dir string, spec *core.KeySpec) (*Vault, error) {
	in, err := r.Instantiate(ctx, dir)
	if err != nil {
		return nil, err
	}
	req := abi.Request{Op: "open", Root: GuestRoot, Key: spec}
	if spec != nil {
		var choice core.KeyChoice
		if err := in.Do(ctx, abi.Request{Op: "resolve_key", Key: spec}, &choice); err != nil {
			in.Close(ctx)
			return nil, err
		}
		if choice.Path != "" {
			req.KeyFile, _ = os.ReadFile(choice.Path) // a missing file is classified by core
		}
	}
	var res struct {
		Handle int32 `json:"handle"`
	}
	err = in.Do(ctx, req, &res)
	clear(req.KeyFile)
	if err != nil {
		in.Close(ctx)
		return nil, err
	}
	return &Vault{in: in, handle: res.Handle}, nil
}

// Close ends the instance.
func (v *Vault) Close(ctx context.Context) error { return v.in.Close(ctx) }

// Get decrypts one secret.
func (v *Vault) Get(ctx context.Context, secret string) ([]byte, error) {
	var res struct {
		Value []byte `json:"value"`
	}
	err := v.in.Do(ctx, abi.Request{Op: "get", Handle: v.handle, Secret: secret}, &res)
	return res.Value, err
}

// List returns secret metadata, optionally for one group.
func (v *Vault) List(ctx context.Context, group string) ([]*core.Metadata, error) {
	var res struct {
		Secrets []*core.Metadata `json:"secrets"`
	}
	err := v.in.Do(ctx, abi.Request{Op: "list", Handle: v.handle, Group: group}, &res)
	return res.Secrets, err
}

// Agents lists the agents.
func (v *Vault) Agents(ctx context.Context) ([]core.AgentInfo, error) {
	var res struct {
		Agents []core.AgentInfo `json:"agents"`
	}
	err := v.in.Do(ctx, abi.Request{Op: "agents", Handle: v.handle}, &res)
	return res.Agents, err
}

// Check runs the read-only audit at the given RFC 3339 time ("" for now).
func (v *Vault) Check(ctx context.Context, now string) ([]core.Finding, error) {
	var res struct {
		Findings []core.Finding `json:"findings"`
	}
	err := v.in.Do(ctx, abi.Request{Op: "check", Handle: v.handle, Now: now}, &res)
	return res.Findings, err
}

// Decrypt runs raw age decryption inside the module.
func (in *Instance) Decrypt(ctx context.Context, ciphertext []byte, identities, passphrases []string) ([]byte, error) {
	var res struct {
		Plaintext []byte `json:"plaintext"`
	}
	err := in.Do(ctx, abi.Request{Op: "decrypt", Ciphertext: ciphertext, Identities: identities, Passphrases: passphrases}, &res)
	return res.Plaintext, err
}
