package dleq

import (
	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"
)

// pippengerMin is the batch size from which msm uses buckets: below it
// edwards25519's Straus method (a table of eight multiples per point, one
// addition per non-zero digit of a width-5 NAF) does fewer additions.
const pippengerMin = 128

// msm sets dst[j] = Σ_i scalars[i]·points[j][i] for every j, in variable
// time: only public values may go through it.
//
// From pippengerMin terms it uses Pippenger's bucket method over signed
// c-bit digits: per window, each point is added into the bucket of its
// digit's magnitude (subtracted for a negative digit), and the buckets are
// summed with weights 1 … 2^(c-1) by a running sum, two additions a
// bucket. For n points and b-bit scalars that is about (b/c)·(n + 2^c)
// additions instead of Straus's 8n + b·n/6: the composite weights are 128
// bits, so for the 2,048 points a core takes of a 4,096-point chunk a
// window of c = 9 costs about 19 additions a point against about 29. The
// digits are computed once for all the sums.
func msm[S, E any, PS Scalar[S], P Group[S, E]](dst []*E, scalars []S, points ...[]E) {
	n := len(scalars)
	if n < pippengerMin {
		sp := make([]*S, n)
		for i := range sp {
			sp[i] = &scalars[i]
		}
		pp := make([]*E, n)
		for j := range points {
			for i := range pp {
				pp[i] = &points[j][i]
			}
			P(dst[j]).VarTimeMultiScalarMult(sp, pp)
		}
		return
	}
	enc := make([][32]byte, n)
	bits := 0
	for i := range scalars {
		scalarBytes[S, PS](&enc[i], &scalars[i])
		bits = max(bits, bitLen(&enc[i]))
	}
	c := windowBits(n, bits)
	windows := windowCount(bits, c)
	digits := signedDigits(enc, c, windows)
	for j := range points {
		bucketSum[S, E, P](dst[j], digits, c, windows, points[j])
	}
}

// scalarBytes writes s's canonical encoding into dst. The scalar types'
// Bytes methods allocate nothing only when inlined, which a call through a
// type parameter is not: the known types are called directly.
func scalarBytes[S any, PS Scalar[S]](dst *[32]byte, s *S) {
	switch t := any(s).(type) {
	case *edwards25519.Scalar:
		copy(dst[:], t.Bytes())
	case *ristretto255.Scalar:
		copy(dst[:], t.Bytes())
	default:
		copy(dst[:], PS(s).Bytes())
	}
}

// bitLen is the length in bits of the little-endian integer b.
func bitLen(b *[32]byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0 {
			l := 8 * i
			for v := b[i]; v != 0; v >>= 1 {
				l++
			}
			return l
		}
	}
	return 0
}

// windowCount is the number of c-bit windows of bits-bit scalars: enough
// that the top window holds at most c-2 bits, so that with the carry from
// below its digit stays under 2^(c-1) and needs no carry of its own.
func windowCount(bits, c int) int {
	return (bits + c + 1) / c
}

// windowBits picks the digit width c, 2 to 16, minimising the additions of
// n points with bits-bit scalars: windowCount windows of n bucket
// additions and 2^c to sum the buckets.
func windowBits(n, bits int) int {
	best, bestCost := 2, -1
	for c := 2; c <= 16; c++ {
		cost := windowCount(bits, c) * (n + 1<<c)
		if bestCost < 0 || cost < bestCost {
			best, bestCost = c, cost
		}
	}
	return best
}

// signedDigits returns, for each scalar i, its digits in radix 2^c at
// digits[i*windows+w], each in [-2^(c-1), 2^(c-1)): a digit of 2^(c-1) or
// more is lowered by 2^c and carries one into the next window.
func signedDigits(enc [][32]byte, c, windows int) []int32 {
	digits := make([]int32, len(enc)*windows)
	half := int32(1) << (c - 1)
	for i := range enc {
		var carry int32
		for w := range windows {
			d := int32(bitsAt(&enc[i], w*c, c)) + carry
			carry = 0
			if d >= half {
				d -= 1 << c
				carry = 1
			}
			digits[i*windows+w] = d
		}
	}
	return digits
}

// bitsAt returns the c bits (c ≤ 16) of the little-endian integer b from
// bit pos, zeros past the end.
func bitsAt(b *[32]byte, pos, c int) uint32 {
	var v uint32
	for k := 2; k >= 0; k-- {
		v <<= 8
		if i := pos/8 + k; i < len(b) {
			v |= uint32(b[i])
		}
	}
	return v >> (pos % 8) & (1<<c - 1)
}

// bucketSum sets dst = Σ_i (Σ_w digits[i][w]·2^(c·w))·points[i], from the
// top window down, doubling c times between windows.
func bucketSum[S, E any, P Group[S, E]](dst *E, digits []int32, c, windows int, points []E) {
	half := 1 << (c - 1)
	buckets := make([]E, half)
	used := make([]bool, half)
	acc := P(dst)
	acc.Subtract(&points[0], &points[0]) // the identity, in either group
	var running, total E
	for w := windows - 1; w >= 0; w-- {
		for range c {
			acc.Add(dst, dst)
		}
		clear(used)
		for i := range points {
			d := digits[i*windows+w]
			switch {
			case d > 0 && used[d-1]:
				P(&buckets[d-1]).Add(&buckets[d-1], &points[i])
			case d > 0:
				P(&buckets[d-1]).Set(&points[i])
				used[d-1] = true
			case d < 0 && used[-d-1]:
				P(&buckets[-d-1]).Subtract(&buckets[-d-1], &points[i])
			case d < 0:
				P(&buckets[-d-1]).Negate(&points[i])
				used[-d-1] = true
			}
		}
		// running = Σ_{k≥b} bucket[k] and total = Σ_b running give
		// Σ_b (b+1)·bucket[b].
		started := false
		for b := half - 1; b >= 0; b-- {
			switch {
			case used[b] && started:
				P(&running).Add(&running, &buckets[b])
			case used[b]:
				P(&running).Set(&buckets[b])
				P(&total).Set(&buckets[b])
				started = true
				continue
			}
			if started {
				P(&total).Add(&total, &running)
			}
		}
		if started {
			acc.Add(dst, &total)
		}
	}
}
