package ident

import "strings"

// Length limits from RFC 5321 section 4.5.3.1: local part 64 octets, domain
// 255 octets (253 in presentation form), a forward-path of 256 octets
// including the angle brackets, hence 254 for the address.
const (
	maxEmailLen  = 254
	maxLocalLen  = 64
	maxDomainLen = 253
	maxLabelLen  = 63
)

// email returns the address lower-cased. RFC 5321 lets the local part be
// case-sensitive, but no mainstream provider treats it so, and a match that
// fails on "Alice@" versus "alice@" is worse for risk screening than the
// theoretical collision. Accepted syntax is the dot-atom form of RFC 5322
// (no quoted local parts, no comments, no address literals) with an ASCII
// domain of at least two labels; non-ASCII addresses are rejected because
// both sides would have to agree on IDNA and Unicode normalisation first.
func email(raw string) (string, error) {
	if len(raw) > maxEmailLen {
		return "", fail(Email, ErrLength, "addresses are at most 254 characters")
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] >= 0x80 {
			return "", fail(Email, ErrFormat, "non-ASCII addresses are not supported (no IDNA/SMTPUTF8)")
		}
	}
	at := strings.LastIndexByte(raw, '@')
	if at < 0 {
		return "", fail(Email, ErrFormat, "missing @")
	}
	local, domain := strings.ToLower(raw[:at]), strings.ToLower(raw[at+1:])
	if local == "" || len(local) > maxLocalLen {
		return "", fail(Email, ErrLength, "local part must have 1 to 64 characters")
	}
	if domain == "" || len(domain) > maxDomainLen {
		return "", fail(Email, ErrLength, "domain must have 1 to 253 characters")
	}
	if !dotAtom(local) {
		return "", fail(Email, ErrFormat, "local part is not a dot-atom (quoted local parts are not supported)")
	}
	if err := checkDomain(domain); err != nil {
		return "", err
	}
	return local + "@" + domain, nil
}

// dotAtom reports whether s is atext characters separated by single dots.
func dotAtom(s string) bool {
	prevDot := true // a leading dot is invalid
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if prevDot {
				return false
			}
			prevDot = true
			continue
		}
		if !isAtext(c) {
			return false
		}
		prevDot = false
	}
	return !prevDot
}

// isAtext reports whether c is an RFC 5322 atext character.
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// checkDomain checks an LDH host name with at least two labels.
func checkDomain(d string) error {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return fail(Email, ErrFormat, "domain needs at least two labels")
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLen {
			return fail(Email, ErrFormat, "domain labels must have 1 to 63 characters")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fail(Email, ErrFormat, "domain labels cannot start or end with -")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fail(Email, ErrFormat, "domain labels are letters, digits and -")
			}
		}
	}
	return nil
}
