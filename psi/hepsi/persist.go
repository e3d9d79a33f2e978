package hepsi

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// Persisted form of a Database (docs/protocol/hepsi.md section 10), so a
// provider that restarts reads its database back instead of recomputing
// every bin's polynomials (the bulk build is quadratic in the bin size):
//
//	version(1) | u16 params length | params | u64 items
//	per row: u16 bundles
//	  per bundle: u16 degree d
//	    | binsPerRow × u16 entries
//	    | per bin: entries × (ItemLimbs × (1 + label parts)) values
//	    | per polynomial (matching, then label parts), per degree 0..d:
//	      the slot vector
//
// Integers are big-endian; values are packed as ring coefficients are on
// the wire (bitlen(t) bits each, little-endian, padding zero), so each
// database has one encoding. Coefficients above a bundle's degree are
// zero and not written.
//
// ReadDatabase checks the structure, not the content: sizes against the
// parameters and the bytes allowed, values in range, every bin's matching
// polynomial monic of its entry count and its label polynomials of lower
// degree. It cannot check that the polynomials interpolate the entries
// without redoing the build, so a caller keeps the bytes under a checksum
// or a seal and refuses them when it does not hold.
const persistVersion = 1

// WriteTo writes the database in its persisted form, exactly as it stood
// when WriteTo began: Snapshot, then the snapshot's WriteTo. Answers, Add
// and Remove go on while it writes.
func (db *Database) WriteTo(w io.Writer) (int64, error) {
	snap := db.Snapshot()
	defer snap.Release()
	return snap.WriteTo(w)
}

// WriteTo writes the database in its persisted form as it stood when the
// snapshot was taken. It holds the database's locks only to copy one
// piece at a time (snapshot.go).
func (snap *Snapshot) WriteTo(w io.Writer) (int64, error) {
	db, f := snap.db, snap.f
	s := db.s
	pw := &persistWriter{w: w, s: s}
	head := []byte{persistVersion}
	head = binary.BigEndian.AppendUint16(head, uint16(len(s.encoded)))
	head = append(head, s.encoded...)
	head = binary.BigEndian.AppendUint64(head, uint64(f.size))
	pw.write(head)
	vec := make([]uint32, s.slots)
	for row, bundles := range f.bundles {
		pw.write(binary.BigEndian.AppendUint16(nil, uint16(bundles)))
		for k := range bundles {
			pw.bundle(db, f, row, k, vec)
		}
	}
	return pw.n, pw.err
}

// persistWriter writes; the first error sticks.
type persistWriter struct {
	w    io.Writer
	s    *scheme
	n    int64
	err  error
	wide []uint64
}

func (pw *persistWriter) write(b []byte) {
	if pw.err != nil {
		return
	}
	n, err := pw.w.Write(b)
	pw.n += int64(n)
	pw.err = err
}

// values packs v in bitlen(t) bits each.
func (pw *persistWriter) values(v []uint32) {
	pw.wide = pw.wide[:0]
	for _, x := range v {
		pw.wide = append(pw.wide, uint64(x))
	}
	var b cryptobyte.Builder
	pack(&b, pw.wide, pw.s.p.PlainModulus)
	pw.write(b.BytesOrPanic())
}

// bundle writes bundle (row, k) as f froze it, one piece at a time, with
// vec as room for one coefficient vector.
func (pw *persistWriter) bundle(db *Database, f *frozen, row, k int, vec []uint32) {
	s := pw.s
	counts := db.frozenCounts(f, row, k)
	d := slices.Max(counts)
	head := binary.BigEndian.AppendUint16(nil, uint16(d))
	for _, n := range counts {
		head = binary.BigEndian.AppendUint16(head, uint16(n))
	}
	pw.write(head)
	for col, n := range counts {
		if n > 0 {
			pw.values(db.frozenBin(f, row, k, col))
		}
	}
	for poly := range 1 + s.labelParts {
		for j := 0; j <= d; j++ {
			db.frozenCoef(vec, f, row, k, poly, j)
			pw.values(vec)
		}
	}
}

// ReadDatabase reads a database WriteTo wrote under parameters p,
// consuming exactly its bytes from r. It refuses a database written under
// other parameters (p bounds what it may allocate: at most MaxBundles
// bundles a row) and, before allocating for it, any part larger than what
// is left of limit (the size of the file it comes from, say). See the
// format's comment for what it checks and what it cannot.
func ReadDatabase(r io.Reader, limit int64, p Params, opts ...Option) (*Database, error) {
	db, err := NewDatabase(p, opts...)
	if err != nil {
		return nil, err
	}
	s := db.s
	pr := &persistReader{r: r, s: s, left: limit}
	head := pr.read(3)
	if head == nil {
		return nil, pr.failure()
	}
	if head[0] != persistVersion {
		return nil, fmt.Errorf("%w: database version %d", ErrVersion, head[0])
	}
	plen := int(binary.BigEndian.Uint16(head[1:]))
	if plen != len(s.encoded) {
		return nil, fmt.Errorf("%w: database written under other parameters", ErrMismatch)
	}
	penc := pr.read(plen)
	if penc == nil {
		return nil, pr.failure()
	}
	if !bytes.Equal(penc, s.encoded) {
		return nil, fmt.Errorf("%w: database written under other parameters", ErrMismatch)
	}
	sizeBytes := pr.read(8)
	if sizeBytes == nil {
		return nil, pr.failure()
	}
	size := binary.BigEndian.Uint64(sizeBytes)
	entries := uint64(0)
	for row := range db.rows {
		nb := pr.read(2)
		if nb == nil {
			return nil, pr.failure()
		}
		n := int(binary.BigEndian.Uint16(nb))
		if n > p.MaxBundles {
			return nil, fmt.Errorf("%w: row %d has %d bundles, at most %d", ErrLimit, row, n, p.MaxBundles)
		}
		for range n {
			bu, count, err := pr.bundle()
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", row, err)
			}
			db.rows[row] = append(db.rows[row], bu)
			entries += count
		}
	}
	// Each item sits in one to HashCount distinct bins.
	if size > entries || entries > size*uint64(p.HashCount) {
		return nil, fmt.Errorf("%w: %d items for %d bin entries", ErrMalformed, size, entries)
	}
	db.size = int(size)
	if db.encodeLabels {
		for _, bundles := range db.rows {
			for _, bu := range bundles {
				db.encodeBundle(bu)
			}
		}
	}
	return db, nil
}

// persistReader reads exact lengths within a byte budget; the first error
// sticks.
type persistReader struct {
	r    io.Reader
	s    *scheme
	left int64
	err  error
	buf  []byte
	wide []uint64
}

// read returns the next n bytes (valid until the next read), or nil.
func (pr *persistReader) read(n int) []byte {
	if pr.err != nil {
		return nil
	}
	if int64(n) > pr.left {
		pr.err = fmt.Errorf("%w: %d bytes wanted, %d allowed", ErrLimit, n, pr.left)
		return nil
	}
	if cap(pr.buf) < n {
		pr.buf = make([]byte, n)
	}
	b := pr.buf[:n]
	if _, err := io.ReadFull(pr.r, b); err != nil {
		pr.err = fmt.Errorf("%w: %w", ErrMalformed, err)
		return nil
	}
	pr.left -= int64(n)
	return b
}

func (pr *persistReader) failure() error {
	if pr.err == nil {
		return ErrMalformed
	}
	return pr.err
}

// values reads len(out) packed values below bound.
func (pr *persistReader) values(out []uint32, bound uint64) bool {
	t := pr.s.p.PlainModulus
	raw := pr.read(packedSize(len(out), t))
	if raw == nil {
		return false
	}
	if cap(pr.wide) < len(out) {
		pr.wide = make([]uint64, len(out))
	}
	wide := pr.wide[:len(out)]
	in := cryptobyte.String(raw)
	if !unpack(&in, wide, t) {
		pr.err = fmt.Errorf("%w: values out of range or padding set", ErrMalformed)
		return false
	}
	for i, v := range wide {
		if v >= bound {
			pr.err = fmt.Errorf("%w: value %d at or above %d", ErrMalformed, v, bound)
			return false
		}
		out[i] = uint32(v)
	}
	return true
}

// bundle reads one bundle and returns it with its number of bin entries.
// It checks the bundle's whole size against the budget before allocating
// it.
func (pr *persistReader) bundle() (*bundle, uint64, error) {
	s := pr.s
	t := s.p.PlainModulus
	dh := pr.read(2)
	if dh == nil {
		return nil, 0, pr.failure()
	}
	d := int(binary.BigEndian.Uint16(dh))
	if d > s.p.BinCapacity {
		return nil, 0, fmt.Errorf("%w: bundle degree %d above capacity %d", ErrLimit, d, s.p.BinCapacity)
	}
	raw := pr.read(2 * s.binsPerRow)
	if raw == nil {
		return nil, 0, pr.failure()
	}
	counts := make([]int, s.binsPerRow)
	top, total := 0, uint64(0)
	need := int64((1+s.labelParts)*(d+1)) * int64(packedSize(s.slots, t))
	for i := range counts {
		counts[i] = int(binary.BigEndian.Uint16(raw[2*i:]))
		if counts[i] > d {
			return nil, 0, fmt.Errorf("%w: bin of %d entries in a bundle of degree %d", ErrMalformed, counts[i], d)
		}
		top = max(top, counts[i])
		total += uint64(counts[i])
		need += int64(packedSize(counts[i]*s.stride(), t))
	}
	if top != d {
		return nil, 0, fmt.Errorf("%w: bundle degree %d, fullest bin %d", ErrMalformed, d, top)
	}
	if need > pr.left {
		return nil, 0, fmt.Errorf("%w: bundle of %d bytes, %d allowed", ErrLimit, need, pr.left)
	}
	bu := s.newBundle()
	limb := uint64(1) << s.feltBits
	for i, n := range counts {
		if n == 0 {
			continue
		}
		bu.bins[i].vals = make([]uint32, n*s.stride())
		if !pr.values(bu.bins[i].vals, limb) {
			return nil, 0, pr.failure()
		}
	}
	for poly := range bu.coef {
		for j := 0; j <= d; j++ {
			if !pr.values(bu.coef[poly][j], t) {
				return nil, 0, pr.failure()
			}
		}
	}
	if err := s.checkShape(bu, counts, d); err != nil {
		return nil, 0, err
	}
	return bu, total, nil
}

// checkShape checks every bin's polynomials against its entry count n:
// the matching polynomial monic of degree n, the label polynomials of
// degree below n.
func (s *scheme) checkShape(bu *bundle, counts []int, d int) error {
	for col, n := range counts {
		for l := 0; l < s.p.ItemLimbs; l++ {
			slot := col*s.p.ItemLimbs + l
			for poly := range bu.coef {
				for j := 0; j <= d; j++ {
					c := bu.coef[poly][j][slot]
					switch {
					case poly == 0 && j == n && c != 1,
						poly == 0 && j > n && c != 0,
						poly > 0 && j >= n && c != 0:
						return fmt.Errorf("%w: bin %d's polynomials do not fit its %d entries", ErrMalformed, col, n)
					}
				}
			}
		}
	}
	return nil
}
