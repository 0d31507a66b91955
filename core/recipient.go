package core

import "fmt"

// recipientText parses a public key file (owner.pub, agents/<name>/public.key:
// one age recipient, "#" comment lines allowed) and returns the recipient in
// its canonical form. Only that form is shown or compared, never the file's
// bytes: a comment line is repository content and could carry anything.
func recipientText(data []byte) (string, error) {
	r, err := ParseRecipient(string(data))
	if err != nil {
		return "", err
	}
	s, ok := r.(fmt.Stringer)
	if !ok {
		return "", errorf(CodeCorruptVault, "unsupported public key type")
	}
	return s.String(), nil
}
