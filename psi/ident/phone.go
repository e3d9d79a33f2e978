package ident

import "strings"

// E.164 limits: at most 15 digits including the country code. The shortest
// numbers in service (small territories) have 7 digits in total.
const (
	maxPhoneDigits = 15
	minPhoneDigits = 7
)

// phone returns "+<digits>". Accepted input: an international number
// written with "+" or the "00" international prefix, or, with
// Config.DefaultCallingCode set, a national number. Spaces, dashes, dots
// and parentheses are separators; the "(0)" some countries write after the
// country code ("+44 (0)20 ...") is dropped. A national number loses one
// leading trunk prefix "0" ("010 1234 5678" with 86 gives +861012345678):
// right for China and most countries, wrong where the 0 belongs to the
// subscriber number (Italy), which must then be written internationally.
func (n *Normalizer) phone(raw string) (string, error) {
	international := strings.HasPrefix(raw, "+") || strings.HasPrefix(raw, "00")
	if international {
		raw = strings.Replace(raw, "(0)", "", 1)
	}
	var digits [MaxRawLen]byte
	nd := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c >= '0' && c <= '9':
			digits[nd] = c
			nd++
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		case c == '+' && i == 0:
		default:
			return "", fail(Phone, ErrFormat, "only digits, a leading +, and separators ( ) - . space are allowed")
		}
	}
	d := string(digits[:nd])
	switch {
	case raw[0] == '+':
	case strings.HasPrefix(d, "00"):
		d = d[2:]
	default:
		if n.cfg.DefaultCallingCode == "" {
			return "", fail(Phone, ErrCountryCode, "no + or 00 prefix and no default calling code configured")
		}
		d = n.cfg.DefaultCallingCode + strings.TrimPrefix(d, "0")
	}
	if d == "" || d[0] == '0' {
		return "", fail(Phone, ErrFormat, "country calling code cannot start with 0")
	}
	if len(d) > maxPhoneDigits || len(d) < minPhoneDigits {
		return "", fail(Phone, ErrLength, "E.164 numbers have 7 to 15 digits including the country code")
	}
	return "+" + d, nil
}
