// Package abi is the request/response envelope of the WebAssembly module
// (docs/wasm-abi.md). It decodes a JSON request, calls the reader or core,
// and encodes the result; it holds no vault logic of its own. It is plain
// Go so that it can be tested and fuzzed natively; wasm/guest only moves
// bytes in and out of linear memory.
package abi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/core/reader"
)

// Version is the ABI version. Bindings refuse a module whose version
// differs from the one they were written for. Bump it on any change to the
// exports, the imports or the envelope.
const Version = 3

// maxRequest bounds a request, so a hostile caller cannot make the guest
// allocate without limit.
const maxRequest = 96 << 20

// Request is the envelope every call sends.
type Request struct {
	Op     string `json:"op"`
	Handle int32  `json:"handle,omitempty"`
	// open
	Repo         string       `json:"repo,omitempty"`
	Cwd          string       `json:"cwd,omitempty"`
	Home         string       `json:"home,omitempty"`
	Key          core.KeySpec `json:"key,omitempty"`
	MetadataOnly bool         `json:"metadata_only,omitempty"`
	AutoPull     bool         `json:"auto_pull,omitempty"`
	PullInterval float64      `json:"pull_interval,omitempty"`
	Owner        string       `json:"owner,omitempty"`
	Seen         *reader.Seen `json:"seen,omitempty"`
	// get, list
	Secret string `json:"secret,omitempty"`
	Group  string `json:"group,omitempty"`
	All    bool   `json:"all,omitempty"`
	// check
	Now string `json:"now,omitempty"`
	// decrypt
	Identities  []string `json:"identities,omitempty"`
	Passphrases []string `json:"passphrases,omitempty"`
	Ciphertext  []byte   `json:"ciphertext,omitempty"`
}

// Dispatcher holds the open readers of one module instance. An instance is
// single-threaded, so Dispatcher needs no locking.
type Dispatcher struct {
	host    reader.Host
	readers map[int32]*reader.Reader
	next    int32
}

// NewDispatcher returns a dispatcher whose readers reach the world through
// host.
func NewDispatcher(host reader.Host) *Dispatcher {
	return &Dispatcher{host: host, readers: map[int32]*reader.Reader{}}
}

// Call handles one request and returns the response envelope. It never
// panics: a bug becomes an "internal" error response, so a hostile request
// cannot trap the host.
func (d *Dispatcher) Call(req []byte) (resp []byte) {
	defer func() {
		if r := recover(); r != nil {
			resp = errorResponse(&core.Error{Code: core.CodeInternal, Msg: fmt.Sprintf("internal error: %v", r)}, nil)
		}
	}()
	r, err := DecodeRequest(req)
	if err != nil {
		return errorResponse(err, nil)
	}
	if r.Op == "get" {
		return d.get(r)
	}
	result, err := d.dispatch(r)
	warnings := d.warnings(r)
	if err != nil {
		return errorResponse(err, warnings)
	}
	out, err := json.Marshal(struct {
		OK       bool     `json:"ok"`
		Result   any      `json:"result"`
		Warnings []string `json:"warnings,omitempty"`
	}{true, result, warnings})
	if err != nil {
		return errorResponse(core.Wrap(core.CodeInternal, err, "failed to encode response"), warnings)
	}
	return out
}

// DecodeRequest parses and validates the envelope.
func DecodeRequest(req []byte) (*Request, error) {
	if len(req) > maxRequest {
		return nil, core.Errorf(core.CodeInvalidInput, "request too large")
	}
	var r Request
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, core.Wrap(core.CodeInvalidInput, err, "malformed request")
	}
	if r.Op == "" {
		return nil, core.Errorf(core.CodeInvalidInput, "request has no op")
	}
	return &r, nil
}

func (d *Dispatcher) dispatch(r *Request) (any, error) {
	ctx := context.Background()
	switch r.Op {
	case "version":
		return map[string]any{"abi": Version, "version": core.Version}, nil
	case "open":
		return d.open(ctx, r)
	case "close":
		delete(d.readers, r.Handle)
		return struct{}{}, nil
	case "decrypt":
		pt, err := core.DecryptFile(r.Ciphertext, r.Identities, r.Passphrases)
		if err != nil {
			return nil, err
		}
		return map[string]any{"plaintext": pt}, nil
	}
	rd, err := d.reader(r.Handle)
	if err != nil {
		return nil, err
	}
	switch r.Op {
	case "list":
		secrets, err := rd.List(ctx, reader.ListOptions{Group: r.Group, All: r.All})
		if err != nil {
			return nil, err
		}
		return map[string]any{"secrets": secrets}, nil
	case "agents":
		return rd.Agents(ctx)
	case "check":
		now := time.Now()
		if r.Now != "" {
			if now, err = time.Parse(time.RFC3339, r.Now); err != nil {
				return nil, core.Wrap(core.CodeInvalidInput, err, "invalid now")
			}
		}
		findings, err := rd.Check(ctx, now)
		if err != nil {
			return nil, err
		}
		return map[string]any{"findings": findings}, nil
	case "pull":
		return struct{}{}, rd.Pull(ctx)
	case "reload":
		return struct{}{}, rd.Reload()
	}
	return nil, core.Errorf(core.CodeInvalidInput, "unknown op %q", clipOp(r.Op))
}

func clipOp(op string) string {
	if len(op) > 40 {
		return op[:40] + "..."
	}
	return op
}

func (d *Dispatcher) reader(h int32) (*reader.Reader, error) {
	rd, ok := d.readers[h]
	if !ok {
		return nil, core.Errorf(core.CodeInvalidInput, "no open vault with handle %d", h)
	}
	return rd, nil
}

// warnings collects what the request's reader warned about.
func (d *Dispatcher) warnings(r *Request) []string {
	if rd, ok := d.readers[r.Handle]; ok && r.Op != "close" {
		return rd.Warnings()
	}
	return nil
}

func (d *Dispatcher) open(ctx context.Context, r *Request) (any, error) {
	opts := reader.Options{
		Repo: r.Repo, Cwd: r.Cwd, Home: r.Home, Key: r.Key,
		MetadataOnly: r.MetadataOnly, AutoPull: r.AutoPull,
		PullInterval: time.Duration(r.PullInterval * float64(time.Second)),
		Owner:        r.Owner, Seen: r.Seen,
	}
	rd, err := reader.Open(ctx, d.host, opts)
	if err != nil {
		return nil, err
	}
	d.next++
	d.readers[d.next] = rd
	r.Handle = d.next
	name, recipient := rd.Identity()
	return map[string]any{"handle": d.next, "identity": name, "recipient": recipient, "dir": rd.Dir()}, nil
}

// get builds its response by hand so the plaintext exists in exactly one
// buffer the guest owns, which the host's free then zeroes.
func (d *Dispatcher) get(r *Request) []byte {
	rd, err := d.reader(r.Handle)
	if err != nil {
		return errorResponse(err, nil)
	}
	pt, err := rd.Get(context.Background(), r.Secret)
	warnings := rd.Warnings()
	if err != nil {
		return errorResponse(err, warnings)
	}
	defer clear(pt)
	const head, mid, tail = `{"ok":true,"result":{"value":"`, `"}`, `}`
	var extra []byte
	if len(warnings) > 0 {
		w, _ := json.Marshal(warnings)
		extra = append([]byte(`,"warnings":`), w...)
	}
	out := make([]byte, 0, len(head)+base64.StdEncoding.EncodedLen(len(pt))+len(mid)+len(extra)+len(tail))
	out = append(out, head...)
	out = base64.StdEncoding.AppendEncode(out, pt)
	out = append(out, mid...)
	out = append(out, extra...)
	return append(out, tail...)
}

// errorResponse encodes a failure with its stable code and number. The
// message comes from core, which never puts secret material in errors.
func errorResponse(err error, warnings []string) []byte {
	code := core.CodeOf(err)
	out, _ := json.Marshal(map[string]any{
		"ok": false,
		"error": map[string]any{
			"code":    code,
			"number":  code.Number(),
			"message": err.Error(),
			"hint":    core.HintOf(err),
		},
		"warnings": warnings,
	})
	return out
}
