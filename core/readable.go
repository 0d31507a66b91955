package core

import "slices"

// CanRead reports whether the session's identity is meant to read the
// secret m describes: the owner reads everything, an agent what the
// metadata lists it for, and a key the vault does not know nothing. This
// is the one meaning of "the secrets this key can read" that every listing
// uses. Access itself is enforced by the encryption, whatever a .meta file
// claims; this only decides what a listing shows.
func (s *Session) CanRead(m *Metadata) bool {
	if s.isOwner {
		return true
	}
	name := s.Name()
	return name != "" && slices.Contains(m.AuthorizedAgents, name)
}

// IsOwner reports whether the session reads with the owner key. It
// compares keys, not names, so an agent called "owner" is not mistaken for
// the owner.
func (s *Session) IsOwner() bool { return s.isOwner }
