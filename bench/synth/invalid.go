package synth

import (
	"math/rand/v2"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// invalidKinds are the ways generated identifiers are broken, each with the
// psi/ident sentinel it fails with and the reason a node's business API
// reports for it (under any ident.Config: none of them depends on a default
// calling code).
var invalidKinds = []struct {
	typ    ident.Type
	want   error
	reason riskmeshv1.InvalidReason
	make   func(r *rand.Rand) string
}{
	{ident.Card, ident.ErrChecksum, riskmeshv1.InvalidReason_INVALID_REASON_CHECKSUM, func(r *rand.Rand) string {
		return string(breakLast(appendCard(nil, r)))
	}},
	{ident.IDCard, ident.ErrChecksum, riskmeshv1.InvalidReason_INVALID_REASON_CHECKSUM, func(r *rand.Rand) string {
		return string(breakLast(appendIDCard(nil, r)))
	}},
	{ident.IDCard, ident.ErrDate, riskmeshv1.InvalidReason_INVALID_REASON_DATE, func(r *rand.Rand) string {
		b := appendIDCard(nil, r)
		b[10], b[11] = '1', '3' // month 13
		return string(b)
	}},
	{ident.Phone, ident.ErrLength, riskmeshv1.InvalidReason_INVALID_REASON_LENGTH, func(r *rand.Rand) string {
		return string(appendDigits([]byte("+86 1"), r, 3)) // 6 digits
	}},
	{ident.Email, ident.ErrFormat, riskmeshv1.InvalidReason_INVALID_REASON_FORMAT, func(r *rand.Rand) string {
		b := appendEmail(nil, r)
		for i, c := range b {
			if c == '@' {
				b[i] = '#'
			}
		}
		return string(b)
	}},
	{ident.Device, ident.ErrFormat, riskmeshv1.InvalidReason_INVALID_REASON_FORMAT, func(r *rand.Rand) string {
		b := appendDevice(nil, r)
		b[len(b)/2] = ' '
		return string(b)
	}},
	{ident.Phone, ident.ErrEmpty, riskmeshv1.InvalidReason_INVALID_REASON_EMPTY, func(*rand.Rand) string { return "  " }},
}

// breakLast replaces the check character at the end of b with another valid
// one, so only the checksum is wrong.
func breakLast(b []byte) []byte {
	last := &b[len(b)-1]
	if *last == 'X' || *last == '9' {
		*last = '0'
	} else {
		*last++
	}
	return b
}
