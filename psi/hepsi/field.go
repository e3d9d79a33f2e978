package hepsi

import "math/bits"

// modT is arithmetic modulo the plaintext modulus t < 2^31 (Params.Validate
// refuses larger ones), where every product fits in 62 bits and one Barrett
// step reduces it.
type modT struct {
	t uint64
	m uint64 // floor(2^64 / t)
	// lazy is how many products of two reduced values can be added to a
	// reduced value without passing 2^64: sums of products are reduced
	// every lazy terms (about 2^24 at the presets' 20-bit t, 3 just below
	// 2^31).
	lazy int
}

func newModT(t uint64) modT {
	m, _ := bits.Div64(1, 0, t)
	return modT{t: t, m: m, lazy: int((^uint64(0) - (t - 1)) / ((t - 1) * (t - 1)))}
}

func (f modT) reduce(x uint64) uint64 {
	q, _ := bits.Mul64(x, f.m)
	r := x - q*f.t
	if r >= f.t {
		r -= f.t
	}
	return r
}

func (f modT) mul(a, b uint64) uint64 { return f.reduce(a * b) }

func (f modT) add(a, b uint64) uint64 {
	c := a + b
	if c >= f.t {
		c -= f.t
	}
	return c
}

func (f modT) pow(a uint64, e uint64) uint64 {
	r := uint64(1)
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = f.mul(r, a)
		}
		a = f.mul(a, a)
	}
	return r
}

// dot returns Σ a[i]·b[i] mod t over a (b at least as long), for reduced
// values, reducing every lazy products.
func (f modT) dot(a, b []uint64) uint64 {
	var s uint64
	for len(a) > 0 {
		k := min(f.lazy, len(a))
		for i, x := range a[:k] {
			s += x * b[i]
		}
		s = f.reduce(s)
		a, b = a[k:], b[k:]
	}
	return s
}

// inv returns a^-1 for a != 0 (Fermat; t is prime).
func (f modT) inv(a uint64) uint64 { return f.pow(a, f.t-2) }

// rootsPoly writes the coefficients of ∏(x - r_i), lowest degree first, into
// out[:len(roots)+1]. With no roots it is the constant 1, which no query
// value satisfies.
func (f modT) rootsPoly(out []uint64, roots []uint64) {
	out[0] = 1
	for i := range roots {
		// Multiply the degree-i polynomial by (x - r).
		neg := f.t - roots[i]
		out[i+1] = out[i]
		for k := i; k > 0; k-- {
			out[k] = f.add(out[k-1], f.mul(out[k], neg))
		}
		out[0] = f.mul(out[0], neg)
	}
}

// interpolate writes, for each value vector ys[j], the coefficients of the
// polynomial of degree < n through (xs[i], ys[j][i]) into outs[j][:n]. The
// xs must be distinct; match must hold ∏(x - xs_i) (rootsPoly).
//
// It uses P(x) = Σ_i w_i·M(x)/(x - x_i) with w_i = y_i / M'(x_i), whose
// coefficient k is Σ_{m>k} M_m·S_{m-k-1} for the power sums
// S_e = Σ_i w_i·x_i^e: about 2n² reduced products, which are independent of
// each other, and (1 + 1.5·len(ys))·n² products summed with one reduction
// every modT.lazy terms (every 2^24 at 20 bits: once per sum in practice).
func (f modT) interpolate(outs [][]uint64, xs []uint64, ys [][]uint64, match []uint64, sc *interpScratch) {
	n := len(xs)
	pw, acc := sc.pw[:n], sc.acc[:n]
	// acc_i = M'(x_i) = Σ_e (e+1)·M_{e+1}·x_i^e.
	for i := range pw {
		pw[i], acc[i] = 1, 0
	}
	for e, terms := 0, 0; e < n; e++ {
		d := f.mul(uint64(e+1)%f.t, match[e+1])
		for i := range pw {
			acc[i] += d * pw[i]
			pw[i] = f.mul(pw[i], xs[i])
		}
		if terms++; terms == f.lazy {
			for i := range acc {
				acc[i] = f.reduce(acc[i])
			}
			terms = 0
		}
	}
	for i := range acc {
		acc[i] = f.inv(f.reduce(acc[i]))
	}
	for j, y := range ys {
		w, sums := sc.w[j][:n], sc.sums[j][:n]
		for i := range w {
			w[i] = f.mul(y[i], acc[i])
		}
		clear(sums)
	}
	for i := range pw {
		pw[i] = 1
	}
	for e := 0; e < n; e++ {
		for j := range ys {
			sc.sums[j][e] = f.dot(sc.w[j][:n], pw)
		}
		for i := range pw {
			pw[i] = f.mul(pw[i], xs[i])
		}
	}
	for j := range outs {
		out, sums := outs[j][:n], sc.sums[j][:n]
		for k := 0; k < n; k++ {
			out[k] = f.dot(match[k+1:n+1], sums)
		}
	}
}

// interpScratch holds interpolate's buffers for up to capacity points and
// parts value vectors.
type interpScratch struct {
	pw, acc []uint64
	w, sums [][]uint64
}

func newInterpScratch(capacity, parts int) *interpScratch {
	sc := &interpScratch{pw: make([]uint64, capacity), acc: make([]uint64, capacity)}
	for range parts {
		sc.w = append(sc.w, make([]uint64, capacity))
		sc.sums = append(sc.sums, make([]uint64, capacity))
	}
	return sc
}
