package hepsi

import "math/bits"

// Fast interpolation modulo t for building a bin's polynomials: the
// quadratic power-sum interpolation of field.go made the 2,048-capacity tier
// take hours to build (docs/protocol/hepsi.md section 6). This file computes
// the same polynomials in O(n log² n) field operations with a subproduct
// tree (von zur Gathen and Gerhard, Modern Computer Algebra, chapter 10):
//
//   - the tree's nodes are the products ∏(x − x_i) over halves of the
//     points, multiplied with number-theoretic transforms modulo t (t = 1 mod
//     2N, so transforms of up to 2N points exist); its root is the matching
//     polynomial M;
//   - the Lagrange weights 1/M'(x_i) come from evaluating M' at every point
//     with the scaled remainder tree (Bernstein, "Scaled remainder trees",
//     2004; Bostan, Lecerf and Schost, "Tellegen's principle into practice",
//     2003): one power-series inversion at the root, then one transposed
//     product per child on the way down, no polynomial division;
//   - each label polynomial Σ w_i·y_i·M/(x − x_i) is summed bottom-up,
//     C_v = C_left·P_right + C_right·P_left.
//
// Small nodes use schoolbook arithmetic, small bins the reference code.
// TestFastInterpolation compares both on random, full and edge inputs.

const (
	// maxNTTLog caps the transform tables (2^15 points, 256 KB each).
	maxNTTLog = 15
	// treeLeaf is the most points a subproduct-tree leaf holds: below it,
	// schoolbook products beat transforms.
	treeLeaf = 32
	// fastFrom is the smallest bin worth a tree: smaller bins use the
	// reference interpolation, which is faster there.
	fastFrom = 200
)

// ntt holds the twiddle factors of cyclic transforms modulo t of sizes up
// to 2^logMax. Forward transforms take natural order to bit-reversed order
// and inverse ones back (Gentleman-Sande, then Cooley-Tukey butterflies), so
// no permutation is ever needed: products are taken pointwise in between.
type ntt struct {
	f      modT
	logMax int
	// w[h+j] = ω_{2h}^j and wi[h+j] = ω_{2h}^−j for the stage of half-size h
	// (j < h, h a power of two), ws and wis their Shoup companions
	// ⌊w·2^64/t⌋: one table serves every transform size.
	w, ws, wi, wis []uint64
}

// newNTT returns the transform tables for f's prime, or nil when t − 1 has
// too few factors of two to be worth it (then the reference code runs).
func newNTT(f modT) *ntt {
	logMax := min(bits.TrailingZeros64(f.t-1), maxNTTLog)
	if logMax < 8 {
		return nil
	}
	// A quadratic non-residue g gives ω = g^((t−1)/2^logMax) of order
	// exactly 2^logMax, since ω^(2^(logMax−1)) = g^((t−1)/2) = −1.
	g := uint64(2)
	for f.pow(g, (f.t-1)/2) != f.t-1 {
		g++
	}
	root := f.pow(g, (f.t-1)>>logMax)
	size := 1 << logMax
	nt := &ntt{f: f, logMax: logMax}
	nt.w, nt.ws = make([]uint64, size), make([]uint64, size)
	nt.wi, nt.wis = make([]uint64, size), make([]uint64, size)
	for h := 1; h < size; h <<= 1 {
		step := f.pow(root, uint64(size/(2*h)))
		stepInv := f.inv(step)
		w, wi := uint64(1), uint64(1)
		for j := range h {
			nt.w[h+j], nt.ws[h+j] = w, f.shoup(w)
			nt.wi[h+j], nt.wis[h+j] = wi, f.shoup(wi)
			w, wi = f.mul(w, step), f.mul(wi, stepInv)
		}
	}
	return nt
}

func (f modT) sub(a, b uint64) uint64 {
	if a >= b {
		return a - b
	}
	return a + f.t - b
}

// shoup returns ⌊w·2^64/t⌋ for mulShoup.
func (f modT) shoup(w uint64) uint64 {
	q, _ := bits.Div64(w, 0, f.t)
	return q
}

// mulShoup returns a·w mod t for any a < 2^64, given ws = shoup(w).
func (f modT) mulShoup(a, w, ws uint64) uint64 {
	r := f.mulShoupLazy(a, w, ws)
	if r >= f.t {
		r -= f.t
	}
	return r
}

// mulShoupLazy returns a·w mod t, plus t or not: a value below 2t.
func (f modT) mulShoupLazy(a, w, ws uint64) uint64 {
	q, _ := bits.Mul64(a, ws)
	return a*w - q*f.t
}

// forward transforms a (a power-of-two length up to 2^logMax, entries
// below 2t) from natural to bit-reversed order, leaving entries below 2t
// (Harvey's lazy butterflies: one conditional subtraction each); modT.mul
// and modT.reduce accept them.
func (nt *ntt) forward(a []uint64) {
	t2 := 2 * nt.f.t
	for h := len(a) / 2; h >= 1; h >>= 1 {
		w, ws := nt.w[h:2*h], nt.ws[h:2*h]
		for start := 0; start < len(a); start += 2 * h {
			lo, hi := a[start:start+h], a[start+h:start+2*h]
			hi, w, ws := hi[:len(lo)], w[:len(lo)], ws[:len(lo)]
			for j, u := range lo {
				v := hi[j]
				s := u + v
				if s >= t2 {
					s -= t2
				}
				lo[j], hi[j] = s, nt.f.mulShoupLazy(u+t2-v, w[j], ws[j])
			}
		}
	}
}

// inverse transforms a (entries below 2t) from bit-reversed to natural
// order and multiplies by len(a)^−1, leaving entries below t: the inverse
// of forward.
func (nt *ntt) inverse(a []uint64) {
	f := nt.f
	t2 := 2 * f.t
	for h := 1; h < len(a); h <<= 1 {
		w, ws := nt.wi[h:2*h], nt.wis[h:2*h]
		for start := 0; start < len(a); start += 2 * h {
			lo, hi := a[start:start+h], a[start+h:start+2*h]
			hi, w, ws := hi[:len(lo)], w[:len(lo)], ws[:len(lo)]
			for j, u := range lo {
				v := f.mulShoupLazy(hi[j], w[j], ws[j])
				s, d := u+v, u+t2-v
				if s >= t2 {
					s -= t2
				}
				if d >= t2 {
					d -= t2
				}
				lo[j], hi[j] = s, d
			}
		}
	}
	scale := f.inv(uint64(len(a)) % f.t)
	scaleS := f.shoup(scale)
	for i, v := range a {
		a[i] = f.mulShoup(v, scale, scaleS)
	}
}

func nextPow2(n int) int { return 1 << bits.Len(uint(n-1)) }

// treeNode is one node of the subproduct tree over the points [lo, hi).
type treeNode struct {
	lo, hi      int
	left, right int // child indices; left < 0 for a leaf
	poly        []uint64
	// size is the transform size of the children's product and fl, fr the
	// children's polynomials transformed at that size, reused on the way
	// down and up.
	size   int
	fl, fr []uint64
}

// interpTree is one worker's scratch for fast interpolation: the nodes and
// an arena their vectors come from, reused bin after bin.
type interpTree struct {
	nt    *ntt
	f     modT
	xs    []uint64
	nodes []treeNode
	buf   []uint64
	off   int
	need  int // what the last bin used, so the arena grows to fit at once
}

// get returns a zeroed vector of n elements from the arena.
func (tr *interpTree) get(n int) []uint64 {
	tr.need += n
	if tr.off+n > len(tr.buf) {
		tr.buf, tr.off = make([]uint64, max(n, 1<<16)), 0
	}
	v := tr.buf[tr.off : tr.off+n : tr.off+n]
	tr.off += n
	clear(v)
	return v
}

func (tr *interpTree) reset(xs []uint64) {
	if tr.need > len(tr.buf) {
		tr.buf = make([]uint64, tr.need)
	}
	tr.off, tr.need, tr.xs, tr.nodes = 0, 0, xs, tr.nodes[:0]
}

// fits reports whether the tree handles n points: the root's series
// inversion multiplies two vectors of n coefficients.
func (nt *ntt) fits(n int) bool { return nt != nil && n >= fastFrom && 2*n <= 1<<nt.logMax }

// interpolate writes ∏(x − xs_i) into match[:n+1] and, for each ys[j], the
// polynomial of degree < n through (xs_i, ys[j][i]) into outs[j][:n], like
// modT.rootsPoly and modT.interpolate. The xs must be distinct when ys is
// not empty, and nt.fits(len(xs)).
func (tr *interpTree) interpolate(match []uint64, outs [][]uint64, xs []uint64, ys [][]uint64) {
	n := len(xs)
	tr.reset(xs)
	root := tr.build(0, n)
	copy(match[:n+1], tr.nodes[root].poly)
	if len(ys) == 0 {
		return
	}
	f := tr.f
	deriv := tr.get(n)
	for k := range deriv {
		deriv[k] = f.mul(uint64(k+1)%f.t, match[k+1])
	}
	vals := tr.get(n)
	tr.down(root, tr.rootSeries(deriv, match[:n+1]), vals)
	// vals_i = M'(x_i), nonzero for distinct points; invert all at once.
	prefix := tr.get(n)
	acc := uint64(1)
	for i, v := range vals {
		prefix[i] = acc
		acc = f.mul(acc, v)
	}
	acc = f.inv(acc)
	for i := n - 1; i >= 0; i-- {
		vals[i], acc = f.mul(acc, prefix[i]), f.mul(acc, vals[i])
	}
	w := prefix
	for j, y := range ys {
		for i := range w {
			w[i] = f.mul(y[i], vals[i])
		}
		tr.up(root, w, outs[j][:n])
	}
}

// build makes the node over points [lo, hi) and its subtree.
func (tr *interpTree) build(lo, hi int) int {
	d := hi - lo
	if d <= treeLeaf {
		poly := tr.get(d + 1)
		tr.f.rootsPoly(poly, tr.xs[lo:hi])
		tr.nodes = append(tr.nodes, treeNode{lo: lo, hi: hi, left: -1, poly: poly})
		return len(tr.nodes) - 1
	}
	mid := lo + d/2
	l, r := tr.build(lo, mid), tr.build(mid, hi)
	// A transform of size ≥ d suffices: the product is monic of degree d,
	// so only its leading 1 wraps around, onto the constant term.
	size := nextPow2(d)
	fl, fr := tr.transformed(tr.nodes[l].poly, size), tr.transformed(tr.nodes[r].poly, size)
	prod := tr.get(size + 1)
	tr.pointwise(prod[:size], fl, fr)
	tr.nt.inverse(prod[:size])
	if size == d {
		prod[0] = tr.f.sub(prod[0], 1)
	}
	prod[d] = 1
	tr.nodes = append(tr.nodes, treeNode{lo: lo, hi: hi, left: l, right: r, poly: prod[:d+1], size: size, fl: fl, fr: fr})
	return len(tr.nodes) - 1
}

// transformed returns a copy of p, zero-padded to size, transformed.
func (tr *interpTree) transformed(p []uint64, size int) []uint64 {
	v := tr.get(size)
	copy(v, p)
	tr.nt.forward(v)
	return v
}

func (tr *interpTree) pointwise(dst, a, b []uint64) {
	for i := range dst {
		dst[i] = tr.f.mul(a[i], b[i])
	}
}

// rootSeries returns the first n coefficients, in 1/x, of the Laurent
// series f/M at infinity (deg f < n = deg M): writing y = 1/x, f/M =
// y·rev(f)(y)/rev(M)(y), so they are rev(f)·rev(M)^−1 mod y^n.
func (tr *interpTree) rootSeries(fp, m []uint64) []uint64 {
	n := len(fp)
	f := tr.f
	rf, rm := tr.get(n), tr.get(n)
	for k := range rf {
		rf[k], rm[k] = fp[n-1-k], m[n-k]
	}
	// Newton: with g correct to prec terms, rev(M)·g = 1 + y^prec·e mod
	// y^2prec and g·(1 − y^prec·e) is correct to 2prec terms. A cyclic
	// product of size 2prec gives the terms prec..2prec−1 of rev(M)·g
	// exactly (only terms below prec wrap around), and g·e mod y^prec.
	g := tr.get(n)
	g[0] = 1
	for prec := 1; prec < n; prec *= 2 {
		size := 2 * prec
		next := min(size, n)
		fg := tr.transformed(g[:prec], size)
		e := tr.transformed(rm[:next], size)
		tr.pointwise(e, e, fg)
		tr.nt.inverse(e)
		clear(e[:prec])
		copy(e, e[prec:size])
		clear(e[prec:])
		tr.nt.forward(e)
		tr.pointwise(e, e, fg)
		tr.nt.inverse(e)
		for i := prec; i < next; i++ {
			g[i] = f.sub(0, e[i-prec])
		}
	}
	return tr.mulTrunc(rf, g, n)
}

// mulTrunc returns a·b mod x^n through one transform.
func (tr *interpTree) mulTrunc(a, b []uint64, n int) []uint64 {
	size := nextPow2(len(a) + len(b) - 1)
	fa, fb := tr.transformed(a, size), tr.transformed(b, size)
	tr.pointwise(fa, fa, fb)
	tr.nt.inverse(fa)
	return fa[:n]
}

// down takes the node's series s (the first d coefficients in 1/x of
// (f mod P)/P, d = deg P) to its leaves and writes f(x_i) into vals[i].
// A child's series is the first terms of the sibling's polynomial times
// the parent's series: P_sibling·(f mod P)/P = (f mod P)/P_child.
func (tr *interpTree) down(v int, s, vals []uint64) {
	nd := &tr.nodes[v]
	d := nd.hi - nd.lo
	f := tr.f
	if nd.left < 0 {
		// f mod P is the polynomial part of P·s; evaluate it at the points.
		r := tr.get(d)
		for k := range r {
			var acc uint64
			for j := k + 1; j <= d; j++ {
				acc = f.add(acc, f.mul(nd.poly[j], s[j-k-1]))
			}
			r[k] = acc
		}
		for i := nd.lo; i < nd.hi; i++ {
			x, acc := tr.xs[i], uint64(0)
			for k := d - 1; k >= 0; k-- {
				acc = f.add(f.mul(acc, x), r[k])
			}
			vals[i] = acc
		}
		return
	}
	// With a = s reversed, (a·P_sibling)[d−k] is the coefficient of x^−k of
	// the child's series; a transform of size ≥ d keeps those terms free
	// of wrap-around.
	a := tr.get(nd.size)
	for i := range d {
		a[i] = s[d-1-i]
	}
	tr.nt.forward(a)
	for _, c := range [2]struct {
		child int
		other []uint64
	}{{nd.left, nd.fr}, {nd.right, nd.fl}} {
		ch := &tr.nodes[c.child]
		dc := ch.hi - ch.lo
		prod := tr.get(nd.size)
		tr.pointwise(prod, a, c.other)
		tr.nt.inverse(prod)
		sc := tr.get(dc)
		for k := 1; k <= dc; k++ {
			sc[k-1] = prod[d-k]
		}
		tr.down(c.child, sc, vals)
	}
}

// up writes Σ_{i in the node} w_i·P/(x − x_i) into out[:d].
func (tr *interpTree) up(v int, w, out []uint64) {
	nd := &tr.nodes[v]
	d := nd.hi - nd.lo
	f := tr.f
	if nd.left < 0 {
		clear(out[:d])
		for i := nd.lo; i < nd.hi; i++ {
			// Synthetic division of P by (x − x_i), accumulated with weight w_i.
			x, q := tr.xs[i], nd.poly[d]
			for k := d - 1; k >= 0; k-- {
				out[k] = f.add(out[k], f.mul(w[i], q))
				q = f.add(nd.poly[k], f.mul(x, q))
			}
		}
		return
	}
	l, r := &tr.nodes[nd.left], &tr.nodes[nd.right]
	cl, cr := tr.get(nd.size), tr.get(nd.size)
	tr.up(nd.left, w, cl[:l.hi-l.lo])
	tr.up(nd.right, w, cr[:r.hi-r.lo])
	tr.nt.forward(cl)
	tr.nt.forward(cr)
	for i := range cl {
		cl[i] = f.add(f.mul(cl[i], nd.fr[i]), f.mul(cr[i], nd.fl[i]))
	}
	tr.nt.inverse(cl)
	copy(out[:d], cl[:d])
}
