package synth

import (
	"math/rand/v2"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// Identifier returns a random identifier of type t in canonical form: the
// value psi/ident's Normalize gives for it, so it can be compared with what a
// list source or a node produces. Draws are independent; uniqueness is the
// caller's (Generate deduplicates). An unknown type yields the zero ID.
func Identifier(r *rand.Rand, t ident.Type) ident.ID {
	if !knownType(t) {
		return ident.ID{}
	}
	return ident.ID{Type: t, Value: string(appendValue(nil, r, t))}
}

// appendValue appends a canonical value of type t.
func appendValue(b []byte, r *rand.Rand, t ident.Type) []byte {
	switch t {
	case ident.Phone:
		return appendPhone(b, r)
	case ident.IDCard:
		return appendIDCard(b, r)
	case ident.Card:
		return appendCard(b, r)
	case ident.Email:
		return appendEmail(b, r)
	}
	return appendDevice(b, r)
}

// knownType reports whether t is one of psi/ident's types.
func knownType(t ident.Type) bool {
	for _, k := range ident.Types {
		if k == t {
			return true
		}
	}
	return false
}

// appendDigits appends n uniformly random decimal digits.
func appendDigits(b []byte, r *rand.Rand, n int) []byte {
	for range n {
		b = append(b, byte('0'+r.IntN(10)))
	}
	return b
}

// pick returns a uniformly chosen element of s.
func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// luhnDigit returns the check digit that makes the ASCII digits d followed
// by it pass the Luhn check (ISO/IEC 7812-1 annex B).
func luhnDigit(d []byte) byte {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (len(d)-1-i)%2 == 0 { // doubled: the check digit will sit to the right
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return byte('0' + (10-sum%10)%10)
}
