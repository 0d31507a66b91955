package mcpserver

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"
)

// bind lets the secrets matching glob travel to one endpoint: a scheme,
// a host name and a port. A bind without a scheme is https; without a
// port, the scheme's default port.
type bind struct {
	glob   string
	scheme string
	host   string
	port   string
}

// bindList is the --bind flags.
type bindList []bind

// newBindList parses GLOB=HOST entries, where HOST is host, host:port,
// https://host[:port] or http://host[:port].
func newBindList(entries []string) (bindList, error) {
	var out bindList
	for _, e := range entries {
		glob, target, ok := strings.Cut(e, "=")
		if !ok || glob == "" || target == "" {
			return nil, fmt.Errorf("invalid --bind %q: use GLOB=HOST, such as 'stripe/*=api.stripe.com'", e)
		}
		if _, err := newAllowList([]string{glob}); err != nil {
			return nil, fmt.Errorf("invalid --bind %q: %w", e, err)
		}
		scheme := "https"
		if s, rest, ok := strings.Cut(target, "://"); ok {
			scheme, target = strings.ToLower(s), rest
		}
		if scheme != "https" && scheme != "http" {
			return nil, fmt.Errorf("invalid --bind %q: the scheme must be https or http", e)
		}
		u, err := url.Parse(scheme + "://" + target)
		if err != nil || u.Host != target || u.Hostname() == "" || u.User != nil {
			return nil, fmt.Errorf("invalid --bind %q: %q is not a host or host:port", e, target)
		}
		out = append(out, bind{glob: glob, scheme: scheme, host: strings.ToLower(u.Hostname()), port: portOf(u)})
	}
	return out, nil
}

// portOf is the URL's port, or its scheme's default.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}

// matches reports whether b is the endpoint of u.
func (b bind) matches(u *url.URL) bool {
	return u.Scheme == b.scheme && strings.ToLower(u.Hostname()) == b.host && portOf(u) == b.port
}

// endpoint names b's target for messages.
func (b bind) endpoint() string {
	return b.scheme + "://" + net.JoinHostPort(b.host, b.port)
}

// bound reports whether any bind names u's endpoint: requests go nowhere
// else.
func (l bindList) bound(u *url.URL) bool {
	for _, b := range l {
		if b.matches(u) {
			return true
		}
	}
	return false
}

// allows reports whether secret may be sent to u's endpoint.
func (l bindList) allows(secret string, u *url.URL) bool {
	for _, b := range l {
		if ok, _ := path.Match(b.glob, secret); ok && b.matches(u) {
			return true
		}
	}
	return false
}

// plainHTTP lists the binds that send secrets unencrypted to a host other
// than this machine, for a warning at start.
func (l bindList) plainHTTP() []string {
	var out []string
	for _, b := range l {
		if b.scheme == "http" && !isLoopback(b.host) {
			out = append(out, b.endpoint())
		}
	}
	return out
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String lists the binds for messages and the tool description.
func (l bindList) String() string {
	parts := make([]string, len(l))
	for i, b := range l {
		parts[i] = b.glob + " to " + b.endpoint()
	}
	return strings.Join(parts, "; ")
}
