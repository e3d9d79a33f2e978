// Package printable makes text that came from another party safe to store,
// encode and show: valid UTF-8, one line without terminal control
// sequences, and at most a given number of bytes.
//
// Text from a peer, a provider's refusal, an auditor's reason or a remote
// error enters the node in many places and leaves it in protobuf strings
// (which must be valid UTF-8, or the whole message fails to encode) and on
// operators' terminals (where an escape sequence can rewrite the screen).
// Every such place calls String where the text enters, so nothing further
// on has to know where a string came from. docs/threat-model.md
// ("Provider", hostile text) names the places.
package printable

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns s as at most max bytes of valid, printable UTF-8 on one
// line: each invalid byte becomes U+FFFD, tabs and line breaks a space,
// every other rune unicode.IsPrint refuses (C0 and C1 controls, ESC,
// bidirectional overrides and other format characters) its escape
// (\x1b, \u202e), and the result is cut at a rune boundary, never inside
// an escape. Printable valid text within max bytes is returned unchanged.
func String(s string, max int) string {
	if len(s) <= max && clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), max))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		var piece string
		switch {
		case r == utf8.RuneError && size <= 1:
			piece = string(utf8.RuneError)
		case r == '\t' || r == '\n' || r == '\r':
			piece = " "
		case unicode.IsPrint(r):
			piece = s[i-size : i]
		case r < 0x100:
			piece = fmt.Sprintf(`\x%02x`, r)
		default:
			piece = fmt.Sprintf(`\u%04x`, r)
		}
		if b.Len()+len(piece) > max {
			break
		}
		b.WriteString(piece)
	}
	return b.String()
}

// clean reports whether every rune of s is valid and printable.
func clean(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
