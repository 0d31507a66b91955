package core

import "filippo.io/age"

// recipientStanzaTypes are the stanza types of the keys a vault encrypts
// to: X25519, and the hybrid post-quantum type ParseRecipient also accepts.
var recipientStanzaTypes = map[string]bool{"X25519": true, "mlkem768x25519": true}

// recipientStanzas counts the stanzas of an age header that are recipients
// of those kinds. The original tool's age library (rage) adds a random
// "grease" stanza (type "<random>-grease") to every file it writes, to keep
// parsers tolerant of unknown types; it wraps no key for anyone and is not a
// recipient, so it must not count against the policy.
func recipientStanzas(stanzas []*age.Stanza) int {
	n := 0
	for _, s := range stanzas {
		if recipientStanzaTypes[s.Type] {
			n++
		}
	}
	return n
}
