// Package abi is the request/response envelope of the WebAssembly module.
// It decodes a JSON request, calls core, and encodes the result; it holds
// no vault logic of its own. It is plain Go so that it can be tested and
// fuzzed natively; wasm/guest only moves bytes in and out of linear memory.
package abi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"time"

	"github.com/agent-vault/agent-vault/core"
)

// Version is the ABI version. Bindings refuse a module whose version
// differs from the one they were written for. Bump it on any change to the
// exports or the envelope.
const Version = 1

// maxRequest bounds a request, so a hostile caller cannot make the guest
// allocate without limit.
const maxRequest = 96 << 20

// Request is the envelope every call sends.
type Request struct {
	Op     string `json:"op"`
	Handle int32  `json:"handle,omitempty"`
	// locate
	Repo string `json:"repo,omitempty"`
	Home string `json:"home,omitempty"`
	// open
	Root    string        `json:"root,omitempty"`
	Key     *core.KeySpec `json:"key,omitempty"`
	KeyFile []byte        `json:"key_file,omitempty"`
	// get, list
	Secret string `json:"secret,omitempty"`
	Group  string `json:"group,omitempty"`
	// check
	Now string `json:"now,omitempty"`
	// decrypt
	Identities  []string `json:"identities,omitempty"`
	Passphrases []string `json:"passphrases,omitempty"`
	Ciphertext  []byte   `json:"ciphertext,omitempty"`
}

// Dispatcher holds the open vaults of one module instance. An instance is
// single-threaded, so Dispatcher needs no locking.
type Dispatcher struct {
	// OpenFS returns the file system at an absolute guest path.
	OpenFS   func(root string) (fs.FS, error)
	sessions map[int32]*session
	next     int32
}

type session struct {
	v *core.Vault
	s *core.Session // nil when opened without a key
}

// NewDispatcher returns a dispatcher that opens vaults with openFS.
func NewDispatcher(openFS func(root string) (fs.FS, error)) *Dispatcher {
	return &Dispatcher{OpenFS: openFS, sessions: map[int32]*session{}}
}

// Call handles one request and returns the response envelope. It never
// panics: a bug becomes an "internal" error response, so a hostile request
// cannot trap the host.
func (d *Dispatcher) Call(req []byte) (resp []byte) {
	defer func() {
		if r := recover(); r != nil {
			resp = errorResponse(&core.Error{Code: core.CodeInternal, Msg: fmt.Sprintf("internal error: %v", r)})
		}
	}()
	r, err := DecodeRequest(req)
	if err != nil {
		return errorResponse(err)
	}
	if r.Op == "get" {
		return d.get(r)
	}
	result, err := d.dispatch(r)
	if err != nil {
		return errorResponse(err)
	}
	out, err := json.Marshal(struct {
		OK     bool `json:"ok"`
		Result any  `json:"result"`
	}{true, result})
	if err != nil {
		return errorResponse(&core.Error{Code: core.CodeInternal, Msg: "failed to encode response", Err: err})
	}
	return out
}

// DecodeRequest parses and validates the envelope.
func DecodeRequest(req []byte) (*Request, error) {
	if len(req) > maxRequest {
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "request too large"}
	}
	var r Request
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "malformed request", Err: err}
	}
	if r.Op == "" {
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "request has no op"}
	}
	return &r, nil
}

func (d *Dispatcher) dispatch(r *Request) (any, error) {
	switch r.Op {
	case "version":
		return map[string]any{"abi": Version, "version": core.Version}, nil
	case "resolve_key":
		if r.Key == nil {
			return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "resolve_key needs a key spec"}
		}
		return core.ResolveKey(*r.Key)
	case "locate":
		return core.Locate(r.Repo, r.Home)
	case "open":
		return d.open(r)
	case "close":
		delete(d.sessions, r.Handle)
		return map[string]any{}, nil
	case "decrypt":
		pt, err := core.DecryptFile(r.Ciphertext, r.Identities, r.Passphrases)
		if err != nil {
			return nil, err
		}
		return map[string]any{"plaintext": pt}, nil
	}
	s, err := d.session(r.Handle)
	if err != nil {
		return nil, err
	}
	switch r.Op {
	case "list":
		secrets, err := s.v.List(r.Group)
		if err != nil {
			return nil, err
		}
		if secrets == nil {
			secrets = []*core.Metadata{}
		}
		return map[string]any{"secrets": secrets}, nil
	case "agents":
		agents, err := s.v.Agents()
		if err != nil {
			return nil, err
		}
		return map[string]any{"agents": agents}, nil
	case "groups":
		groups, err := s.v.Groups()
		if err != nil {
			return nil, err
		}
		return map[string]any{"groups": groups}, nil
	case "check":
		return d.check(s, r)
	}
	return nil, &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("unknown op %q", r.Op)}
}

func (d *Dispatcher) session(h int32) (*session, error) {
	s, ok := d.sessions[h]
	if !ok {
		return nil, &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("no open vault with handle %d", h)}
	}
	return s, nil
}

func (d *Dispatcher) open(r *Request) (any, error) {
	fsys, err := d.OpenFS(r.Root)
	if err != nil {
		return nil, &core.Error{Code: core.CodeVaultNotFound, Msg: "failed to open vault directory", Err: err}
	}
	v, err := core.Open(fsys)
	if err != nil {
		return nil, err
	}
	s := &session{v: v}
	result := map[string]any{}
	if r.Key != nil {
		id, err := core.LoadIdentity(*r.Key, func(string) ([]byte, error) {
			if r.KeyFile == nil {
				return nil, fs.ErrNotExist
			}
			return r.KeyFile, nil
		})
		clear(r.KeyFile)
		if err != nil {
			return nil, err
		}
		s.s = v.WithIdentity(id)
		result["recipient"] = id.Recipient()
		result["identity"] = s.s.Name()
	}
	d.next++
	d.sessions[d.next] = s
	result["handle"] = d.next
	return result, nil
}

func (d *Dispatcher) check(s *session, r *Request) (any, error) {
	now := time.Now()
	if r.Now != "" {
		t, err := time.Parse(time.RFC3339, r.Now)
		if err != nil {
			return nil, &core.Error{Code: core.CodeInvalidInput, Msg: "invalid now", Err: err}
		}
		now = t
	}
	findings, err := s.v.Check(core.CheckOptions{Now: now})
	if err != nil {
		return nil, err
	}
	if findings == nil {
		findings = []core.Finding{}
	}
	return map[string]any{"findings": findings}, nil
}

// get builds its response by hand so the plaintext exists in exactly one
// buffer the guest owns, which the host's free then zeroes.
func (d *Dispatcher) get(r *Request) []byte {
	s, err := d.session(r.Handle)
	if err != nil {
		return errorResponse(err)
	}
	if s.s == nil {
		return errorResponse(&core.Error{Code: core.CodeInvalidKey, Msg: "vault was opened without a key"})
	}
	pt, err := s.s.Get(r.Secret)
	if err != nil {
		return errorResponse(err)
	}
	defer clear(pt)
	const head, tail = `{"ok":true,"result":{"value":"`, `"}}`
	out := make([]byte, len(head)+base64.StdEncoding.EncodedLen(len(pt))+len(tail))
	n := copy(out, head)
	base64.StdEncoding.Encode(out[n:], pt)
	copy(out[len(out)-len(tail):], tail)
	return out
}

// errorResponse encodes a failure with its stable code and number. The
// message comes from core, which never puts secret material in errors.
func errorResponse(err error) []byte {
	code := core.CodeOf(err)
	out, _ := json.Marshal(map[string]any{
		"ok": false,
		"error": map[string]any{
			"code":    code,
			"number":  code.Number(),
			"message": err.Error(),
			"hint":    core.HintOf(err),
		},
	})
	return out
}
