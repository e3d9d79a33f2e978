package synth

import "math/rand/v2"

const (
	hexUpper = "0123456789ABCDEF"
	hexLower = "0123456789abcdef"
)

// appendDevice appends one of three common device id shapes: an
// advertising identifier (upper-case version 4 UUID), an Android id (16
// lower-case hex digits) or an IMEI (14 digits and a Luhn check digit).
func appendDevice(b []byte, r *rand.Rand) []byte {
	switch r.IntN(3) {
	case 0:
		return appendUUID(b, r)
	case 1:
		return appendHex(b, r, hexLower, 16)
	default:
		start := len(b)
		b = append(b, '3', '5') // reporting body 35: most handsets' TACs
		b = appendDigits(b, r, 12)
		return append(b, luhnDigit(b[start:]))
	}
}

// appendUUID appends a random (version 4, RFC 9562) UUID in upper case.
func appendUUID(b []byte, r *rand.Rand) []byte {
	b = appendHex(b, r, hexUpper, 8)
	b = append(b, '-')
	b = appendHex(b, r, hexUpper, 4)
	b = append(b, '-', '4')
	b = appendHex(b, r, hexUpper, 3)
	b = append(b, '-', hexUpper[8+r.IntN(4)]) // variant 10xx
	b = appendHex(b, r, hexUpper, 3)
	b = append(b, '-')
	return appendHex(b, r, hexUpper, 12)
}

// appendHex appends n random digits from the 16-character alphabet digits.
func appendHex(b []byte, r *rand.Rand, digits string, n int) []byte {
	for range n {
		b = append(b, digits[r.IntN(16)])
	}
	return b
}
