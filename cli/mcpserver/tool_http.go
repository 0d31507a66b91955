package mcpserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agent-vault/agent-vault/core"
	"github.com/agent-vault/agent-vault/internal/mask"
	"github.com/agent-vault/agent-vault/internal/runner"
)

// httpInput is the argument of agent_vault_http.
type httpInput struct {
	Method  string            `json:"method" jsonschema:"GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS"`
	URL     string            `json:"url" jsonschema:"the https URL; its host must be one the operator bound to the secrets used"`
	Headers map[string]string `json:"headers,omitempty" jsonschema:"request headers; {{secret/path}} in a value is replaced by the secret, such as {\"Authorization\": \"Bearer {{stripe/api-key}}\"}"`
	Body    string            `json:"body,omitempty" jsonschema:"request body; {{secret/path}} is replaced by the secret"`
}

// httpOutput is the structured result of agent_vault_http.
type httpOutput struct {
	Status        int               `json:"status" jsonschema:"the HTTP status code; a redirect is returned as it is, not followed"`
	Headers       map[string]string `json:"headers" jsonschema:"response headers, several values joined by ', ', secret values masked"`
	Body          string            `json:"body" jsonschema:"response body as text, secret values replaced by <agent-vault:secret/path>"`
	BodyTruncated bool              `json:"body_truncated,omitempty" jsonschema:"true if the body was longer than 64 KiB and was cut"`
}

// placeholder is {{secret/path}}, spaces allowed inside the braces.
var placeholder = regexp.MustCompile(`\{\{\s*([^{}\s]*)\s*\}\}`)

var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// forbiddenHeaders are set by the client from the URL and body; a model
// that sets them could make the request go elsewhere than the URL says.
var forbiddenHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection", "Proxy-Authorization"}

// http serves agent_vault_http.
func (s *server) http(ctx context.Context, _ *mcp.CallToolRequest, in httpInput) (*mcp.CallToolResult, httpOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	entry := auditEntry{Tool: toolHTTP, Secrets: auditSecrets(placeholderRefs(in))}
	if u, err := url.Parse(in.URL); err == nil {
		entry.Host = auditName(u.Host)
	}
	out, err := s.send(ctx, in)
	entry.Identity, entry.Outcome = s.identity(), outcome(err)
	if err == nil {
		entry.Status = out.Status
	}
	if aerr := s.audit.record(entry); aerr != nil {
		return nil, httpOutput{}, toolFailure(auditFailure(aerr))
	}
	if err != nil {
		return nil, httpOutput{}, toolFailure(err)
	}
	return nil, out, nil
}

// placeholderRefs maps each placeholder text in headers and body to the
// secret path inside it.
func placeholderRefs(in httpInput) map[string]string {
	refs := map[string]string{}
	add := func(s string) {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			refs[m[0]] = m[1]
		}
	}
	for _, v := range in.Headers {
		add(v)
	}
	add(in.Body)
	return refs
}

// send checks the request against the binds, and only then reads the
// secrets, fills them in and sends it.
func (s *server) send(ctx context.Context, in httpInput) (httpOutput, error) {
	method := strings.ToUpper(in.Method)
	if !slices.Contains(methods, method) {
		return httpOutput{}, &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("unsupported method %q", in.Method), Hint: "use one of " + strings.Join(methods, ", ")}
	}
	u, err := url.Parse(in.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return httpOutput{}, &core.Error{Code: core.CodeInvalidInput, Msg: "url must be an absolute https URL without user information"}
	}
	if strings.Contains(in.URL, "{{") {
		return httpOutput{}, &core.Error{Code: core.CodeInvalidInput, Msg: "placeholders are not replaced in the URL",
			Hint: "put the secret in a header or the body, such as Authorization: Bearer {{stripe/api-key}}"}
	}
	if !s.use.binds.bound(u) {
		return httpOutput{}, &core.Error{Code: core.CodeNotAuthorized,
			Msg:  fmt.Sprintf("%s://%s is not a host this MCP server may send to (--bind %s)", u.Scheme, u.Host, s.use.binds),
			Hint: "ask the operator to bind the secrets to that host with --bind"}
	}
	for name := range in.Headers {
		if slices.Contains(forbiddenHeaders, http.CanonicalHeaderKey(name)) {
			return httpOutput{}, &core.Error{Code: core.CodeInvalidInput, Msg: "header " + name + " cannot be set", Hint: "it is derived from the URL and body"}
		}
	}
	refs := placeholderRefs(in)
	keys := make([]string, 0, len(refs))
	for k := range refs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		secret := refs[k]
		if err := core.ValidateSecretPath(secret); err != nil {
			return httpOutput{}, err
		}
		if !s.use.binds.allows(secret, u) {
			return httpOutput{}, &core.Error{Code: core.CodeNotAuthorized,
				Msg:  fmt.Sprintf("secret %s may not be sent to %s://%s (--bind %s)", secret, u.Scheme, u.Host, s.use.binds),
				Hint: "use the secret with the host it is bound to, or ask the operator for a --bind"}
		}
	}
	vars, err := s.values(ctx, refs)
	defer clearVars(vars)
	if err != nil {
		return httpOutput{}, err
	}
	fill := map[string]string{}
	for _, v := range vars {
		fill[v.Name] = string(v.Value)
	}
	replace := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string { return fill[m] })
	}
	ctx, cancel := context.WithTimeout(ctx, s.use.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), strings.NewReader(replace(in.Body)))
	if err != nil {
		return httpOutput{}, &core.Error{Code: core.CodeInvalidInput, Msg: "invalid request"}
	}
	for name, value := range in.Headers {
		v := replace(value)
		if strings.ContainsAny(v, "\r\n\x00") {
			return httpOutput{}, &core.Error{Code: core.CodeInvalidInput, Msg: "header " + name + " would hold a line break or NUL",
				Hint: "a multi-line secret cannot go in a header; put it in the body"}
		}
		req.Header.Set(name, v)
	}
	resp, err := useClient(s.use.timeout).Do(req)
	if err != nil {
		// The error names the URL the model gave, never a header or body.
		return httpOutput{}, &core.Error{Code: core.CodeInternal, Msg: "request failed: " + maskString(runner.MaskSet(vars), err.Error()),
			Hint: "check the URL; the host must be reachable from the MCP server"}
	}
	defer resp.Body.Close()
	set := runner.MaskSet(vars)
	body := &capped{limit: maxOutput}
	mw := set.NewWriter(body)
	if _, err := io.Copy(mw, io.LimitReader(resp.Body, 4*maxOutput)); err != nil {
		return httpOutput{}, &core.Error{Code: core.CodeInternal, Msg: "failed to read the response: " + err.Error()}
	}
	mw.Close()
	if extra, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 1)); extra > 0 {
		body.truncated = true
	}
	return httpOutput{Status: resp.StatusCode, Headers: maskHeaders(set, resp.Header), Body: body.text(), BodyTruncated: body.truncated}, nil
}

// useClient sends one request and follows no redirect: a redirect could
// take the request, and what the host echoes of it, to another host.
func useClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// maskHeaders joins and masks response headers.
func maskHeaders(set *mask.Set, h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for name, values := range h {
		out[name] = strings.ToValidUTF8(maskString(set, strings.Join(values, ", ")), "\uFFFD")
	}
	return out
}
