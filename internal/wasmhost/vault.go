package wasmhost

import (
	"context"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
	"github.com/agent-vault/agent-vault/wasm/abi"
)

// Vault is a vault opened inside a module instance: the Go counterpart of
// the Python and Node bindings, used by tests and benchmarks.
type Vault struct {
	in     *Instance
	handle int32
	// Identity and Recipient are what open reported.
	Identity, Recipient string
}

// OpenVault instantiates the module and opens the vault described by req
// (an "open" request: repo, key, auto_pull...).
func (r *Runtime) OpenVault(ctx context.Context, req abi.Request) (*Vault, error) {
	in, err := r.Instantiate(ctx)
	if err != nil {
		return nil, err
	}
	req.Op = "open"
	var res struct {
		Handle    int32  `json:"handle"`
		Identity  string `json:"identity"`
		Recipient string `json:"recipient"`
	}
	if err := in.Do(ctx, req, &res); err != nil {
		in.Close(ctx)
		return nil, err
	}
	return &Vault{in: in, handle: res.Handle, Identity: res.Identity, Recipient: res.Recipient}, nil
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

// List returns secret metadata: what the key can read, or with all every
// secret, optionally for one group.
func (v *Vault) List(ctx context.Context, group string, all bool) ([]*core.Metadata, error) {
	var res struct {
		Secrets []*core.Metadata `json:"secrets"`
	}
	err := v.in.Do(ctx, abi.Request{Op: "list", Handle: v.handle, Group: group, All: all}, &res)
	return res.Secrets, err
}

// Agents returns the agents and groups.
func (v *Vault) Agents(ctx context.Context) (*reader.Policy, error) {
	var res reader.Policy
	err := v.in.Do(ctx, abi.Request{Op: "agents", Handle: v.handle}, &res)
	return &res, err
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
