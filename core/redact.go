package core

import "strings"

// RedactURL hides the user information of every URL in s:
// "https://deploy:TOKEN@host/x.git" becomes "https://***@host/x.git". Git
// URLs may carry a token, and Git quotes them back in its errors, so every
// message that mentions a repository goes through this one function.
func RedactURL(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "//")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+2])
		s = s[i+2:]
		end := strings.IndexAny(s, "/@ \t\r\n'\"")
		if end > 0 && s[end] == '@' {
			b.WriteString("***")
			s = s[end:]
		}
	}
}

// RedactError returns err with every URL credential removed from its
// message, keeping its code and hint. Hints are redacted too, since they
// may repeat the repository.
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := RedactURL(msg)
	hint := HintOf(err)
	cleanHint := RedactURL(hint)
	if clean == msg && cleanHint == hint {
		return err
	}
	return &Error{Code: CodeOf(err), Msg: clean, Hint: cleanHint}
}
