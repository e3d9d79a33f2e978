package synth

import "math/rand/v2"

// cardRange is a made-up issuer range: a BIN prefix and the card length.
type cardRange struct {
	bin    string
	digits int
}

// cardRanges are fictional BINs shaped like the schemes Chinese banks issue
// on: UnionPay (62, 16 and 19 digits), Visa (4, 16) and Mastercard (5, 16).
// They are not checked against any BIN registry, so some may belong to a real
// issuer; the random account digits make a real card number unlikely but not
// impossible.
var cardRanges = []cardRange{
	{"629901", 19}, {"629902", 19}, {"629903", 19}, {"629911", 16},
	{"629912", 16}, {"499901", 16}, {"499902", 16}, {"599901", 16},
}

// appendCard appends a Luhn-valid card number.
func appendCard(b []byte, r *rand.Rand) []byte {
	c := pick(r, cardRanges)
	start := len(b)
	b = append(b, c.bin...)
	b = appendDigits(b, r, c.digits-len(c.bin)-1)
	return append(b, luhnDigit(b[start:]))
}
