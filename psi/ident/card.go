package ident

// Bank card numbers (primary account numbers) have 12 to 19 digits
// (ISO/IEC 7812-1).
const (
	minCardDigits = 12
	maxCardDigits = 19
)

// bankCard returns the digits of a card number with spaces and dashes
// removed, after checking the length and the Luhn check digit.
func bankCard(raw string) (string, error) {
	var digits [maxCardDigits]byte
	n := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c >= '0' && c <= '9':
			if n == maxCardDigits {
				return "", fail(Card, ErrLength, "card numbers have 12 to 19 digits")
			}
			digits[n] = c
			n++
		case c == ' ' || c == '-':
		default:
			return "", fail(Card, ErrFormat, "only digits, spaces and dashes are allowed")
		}
	}
	if n < minCardDigits {
		return "", fail(Card, ErrLength, "card numbers have 12 to 19 digits")
	}
	if !luhn(digits[:n]) {
		return "", fail(Card, ErrChecksum, "Luhn check digit does not match")
	}
	return string(digits[:n]), nil
}

// luhn reports whether the ASCII digits d end in a valid Luhn check digit.
func luhn(d []byte) bool {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}
