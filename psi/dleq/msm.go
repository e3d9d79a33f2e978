package dleq

import (
	"slices"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/internal/parallel"
	"github.com/riskmesh/riskmesh/psi/internal/ristretto"
)

// shortMax is the largest batch whose short weights weightedSums sums by
// shortStraus: it saves about 128 doublings a sum, but each of its points
// costs more (the move to go-ristretto and back, go-ristretto's additions),
// so the saving shrinks with the batch. CPU per sum of 128-bit weights,
// straus → shortStraus: 1 point 31-37 → 21 µs, 2 points 36-44 → 27, 4
// points 46-59 → 39-45, 8 points 71-79 → 68, 16 points 99-111 → 120
// (docs/benchmarks.md, "Verifying one-item answers").
const shortMax = 8

// pippengerMin is the batch size from which weightedSums uses buckets: below it
// edwards25519's Straus method (a table of eight multiples per point, one
// addition per non-zero digit of a width-5 NAF) does fewer additions.
const pippengerMin = 128

// weightChunk is how many weights a worker hashes and encodes at a time,
// tens of microseconds of work: a multiple of WeightsPerBlock, so that only
// the shorter chunks at the end of the range (parallel.For) start inside a
// weight block and hash it a second time.
const weightChunk = 64

// weightedSums is WeightedSums on at most `workers` goroutines.
//
// Below pippengerMin terms it is edwards25519's Straus method (straus), on
// the calling goroutine: a sum that small is not worth the goroutines; up
// to shortMax terms with short weights, Straus from the weights' top digit
// (shortStraus).
//
// From pippengerMin terms it is Pippenger's bucket method over signed c-bit
// digits: per window, each point is added into the bucket of its digit's
// magnitude (subtracted for a negative digit), and the buckets are summed
// with weights 1 … 2^(c-1) by a running sum, two additions a bucket. For n
// points and b-bit scalars that is about (b/c)·(n + 2^c) additions instead
// of Straus's 8n + b·n/6: the composite weights are 128 bits, so for 1,000
// points a window of c = 8 costs about 21 additions a point against about
// 29. It runs in two passes, each handing its work out through
// parallel.For as the workers come free:
//
//  1. the weights, their encodings and signed digits (stored window by
//     window), in chunks of weightChunk;
//  2. one task per sum and window: the window's buckets over all n points
//     of the sum, summed into the window's partial (windowSum).
//
// Each sum is then its partials from the top window down, c doublings
// between windows (horner). The windows are independent, so they and not
// shares of the points are what the workers take: a worker that another
// process delays holds the result back by at most one window (n + 2^c
// additions, about a quarter of a millisecond at 1,000 points), where a
// share per core held it back by the whole share; and every window sums
// all n points, so the bucket sums and doublings are paid once per window
// rather than once per share, with the wider window that n points justify.
func weightedSums[S, E any, PS Scalar[S], P Group[S, E]](workers, n int, weights func(lo, hi int) []S, sums []*E, points ...[]E) {
	if n < pippengerMin {
		ws := weights(0, n)
		if n <= shortMax && shortStraus(sums, ws, points...) {
			return
		}
		straus[S, E, P](sums, ws, points...)
		return
	}
	// c is picked for the weights' width before any weight is seen, so
	// that the digits are written in the same pass as the weights; wider
	// weights (only psi/oprf's older rules) get a c near their optimum,
	// which is flat. The digit rows cover any scalar; the rows above the
	// widest weight's stay zero and are not summed.
	c := windowBits(n, 8*weightSize)
	rows := windowCount(256, c)
	enc := make([][32]byte, n)
	digits := make([]int32, rows*n)
	widest := make([]int, max(1, workers))
	_ = parallel.For(n, weightChunk, min(workers, (n+weightChunk-1)/weightChunk), func(wk, lo, hi int) error {
		ws := weights(lo, hi)
		bits := widest[wk]
		for k := range ws {
			scalarBytes[S, PS](&enc[lo+k], &ws[k])
			bits = max(bits, bitLen(&enc[lo+k]))
		}
		widest[wk] = bits
		signedDigits(digits, enc, lo, hi, c, rows)
		return nil
	})
	windows := windowCount(slices.Max(widest), c)
	type scratch struct {
		buckets []E
		used    []bool
		running E
	}
	scratches := make([]scratch, max(1, workers))
	partials := make([]E, len(points)*windows)
	_ = parallel.For(len(partials), 1, min(workers, len(partials)), func(wk, t, _ int) error {
		sc := &scratches[wk]
		if sc.buckets == nil {
			sc.buckets, sc.used = make([]E, 1<<(c-1)), make([]bool, 1<<(c-1))
		}
		j, w := t/windows, t%windows
		windowSum[S, E, P](&partials[t], digits[w*n:(w+1)*n], points[j], sc.buckets, sc.used, &sc.running)
		return nil
	})
	for j, dst := range sums {
		horner[S, E, P](dst, partials[j*windows:(j+1)*windows], c)
	}
}

// straus sets dst[j] = Σ_i scalars[i]·points[j][i] by edwards25519's (or
// ristretto255's) own variable-time multi-scalar multiplication: a table
// of eight multiples per point and one addition per non-zero digit of a
// width-5 NAF.
func straus[S, E any, P Group[S, E]](dst []*E, scalars []S, points ...[]E) {
	sp := make([]*S, len(scalars))
	for i := range sp {
		sp[i] = &scalars[i]
	}
	pp := make([]*E, len(scalars))
	for j := range points {
		for i := range pp {
			pp[i] = &points[j][i]
		}
		P(dst[j]).VarTimeMultiScalarMult(sp, pp)
	}
}

// shortStraus sets dst[j] = Σ_i w[i]·points[j][i] and reports true when
// the points are edwards25519 points and every weight has at most
// ristretto.ShortScalarBits bits, as composite weights do: its Straus
// method (ristretto.VarTimeMultiScalarMult) doubles from the weights' top
// bit, about half the doublings of straus, which doubles 256 times
// whatever the scalars. Otherwise it does nothing and reports false.
func shortStraus[S, E any](dst []*E, w []S, points ...[]E) bool {
	ew, ok := any(w).([]edwards25519.Scalar)
	if !ok {
		return false
	}
	for i := range ew {
		var enc [32]byte
		copy(enc[:], ew[i].Bytes())
		if bitLen(&enc) > ristretto.ShortScalarBits {
			return false
		}
	}
	for j := range dst {
		ristretto.VarTimeMultiScalarMult(any(dst[j]).(*edwards25519.Point), ew, any(points[j]).([]edwards25519.Point))
	}
	return true
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

// signedDigits writes the digits of scalars lo to hi-1 in radix 2^c,
// scalar i's digit of window w at digits[w·len(enc)+i] (a window's digits
// side by side, as windowSum reads them), each in [-2^(c-1), 2^(c-1)): a
// digit of 2^(c-1) or more is lowered by 2^c and carries one into the next
// window. digits must come zeroed: the zero digits above a scalar's top
// bit are not written.
func signedDigits(digits []int32, enc [][32]byte, lo, hi, c, windows int) {
	n := len(enc)
	half := int32(1) << (c - 1)
	for i := lo; i < hi; i++ {
		var carry int32
		top := bitLen(&enc[i])
		for w := range windows {
			if w*c >= top && carry == 0 {
				break // the rest of the digits are zero, as digits came
			}
			d := int32(bitsAt(&enc[i], w*c, c)) + carry
			carry = 0
			if d >= half {
				d -= 1 << c
				carry = 1
			}
			digits[w*n+i] = d
		}
	}
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

// windowSum sets dst = Σ_i digits[i]·points[i], one window of Pippenger's
// method: each point goes into the bucket of its digit's magnitude
// (negated for a negative digit), and the buckets are summed with weights
// 1 … 2^(c-1) by a running sum. buckets and used (2^(c-1) entries each)
// and running are the worker's scratch: a local running sum would escape
// to the heap through the generic method calls, once per window.
func windowSum[S, E any, P Group[S, E]](dst *E, digits []int32, points, buckets []E, used []bool, running *E) {
	clear(used)
	for i := range points {
		d := digits[i]
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
	total := P(dst)
	started := false
	for b := len(buckets) - 1; b >= 0; b-- {
		switch {
		case used[b] && started:
			P(running).Add(running, &buckets[b])
		case used[b]:
			P(running).Set(&buckets[b])
			total.Set(&buckets[b])
			started = true
			continue
		}
		if started {
			total.Add(dst, running)
		}
	}
	if !started {
		total.Subtract(&points[0], &points[0]) // the identity, in either group
	}
}

// horner sets dst = Σ_w 2^(c·w)·partials[w], from the top window down,
// doubling c times between windows.
func horner[S, E any, P Group[S, E]](dst *E, partials []E, c int) {
	acc := P(dst)
	acc.Set(&partials[len(partials)-1])
	for w := len(partials) - 2; w >= 0; w-- {
		for range c {
			acc.Add(dst, dst)
		}
		acc.Add(dst, &partials[w])
	}
}
