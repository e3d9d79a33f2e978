package hepsi

import "math/bits"

// modT is arithmetic modulo the plaintext modulus t < 2^31, where every
// product fits in 62 bits and one Barrett step reduces it.
type modT struct {
	t uint64
	m uint64 // floor(2^64 / t)
}

func newModT(t uint64) modT {
	m, _ := bits.Div64(1, 0, t)
	return modT{t: t, m: m}
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

func (f modT) sub(a, b uint64) uint64 {
	if a >= b {
		return a - b
	}
	return a + f.t - b
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
// xs must be distinct; match must hold ∏(x - xs_i) (rootsPoly). quo is
// scratch of n entries. It costs about (2 + len(ys))·n² products.
func (f modT) interpolate(outs [][]uint64, xs []uint64, ys [][]uint64, match, quo []uint64) {
	n := len(xs)
	for j := range outs {
		clear(outs[j][:n])
	}
	for i, x := range xs {
		// quo = match / (x - xs_i) by synthetic division.
		quo[n-1] = match[n]
		for k := n - 1; k > 0; k-- {
			quo[k-1] = f.add(match[k], f.mul(x, quo[k]))
		}
		// quo(xs_i) = ∏_{k≠i}(xs_i - xs_k), never 0 for distinct xs.
		d := uint64(0)
		for k := n - 1; k >= 0; k-- {
			d = f.add(f.mul(d, x), quo[k])
		}
		dinv := f.inv(d)
		for j, y := range ys {
			w := f.mul(y[i], dinv)
			if w == 0 {
				continue
			}
			out := outs[j]
			for k := 0; k < n; k++ {
				out[k] = f.add(out[k], f.mul(w, quo[k]))
			}
		}
	}
}
