package hepsi

import (
	"fmt"
	"iter"
	"runtime"
	"slices"
	"sync"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/bgv"
)

// Database is the provider's side: every listed PRF output with its label,
// hashed into each of its HashCount candidate bins (simple hashing), and per
// bin and bundle the matching polynomial (roots: the items' limbs) and one
// label polynomial per label part (through the items' limbs and their masked
// label limbs), stored as the plaintext coefficients the answer multiplies
// in. Add and Remove recompute only the bins an entry occupies.
//
// A bundle is one ciphertext's worth of bins, each holding at most
// BinCapacity items whose limbs are pairwise distinct in every position
// (interpolation needs distinct points); an item that does not fit goes to
// the row's next bundle. Safe for concurrent use: answers share a read lock.
type Database struct {
	s    *scheme
	mu   sync.RWMutex
	rows [][]*bundle
	size int
	// writing is held by the one Snapshot not yet released; frozen, while
	// it is, the state it writes (snapshot.go). updating is held by Add
	// and Remove around their write lock, and by freeze and thaw, which
	// set frozen: a snapshot starts and ends between updates without
	// waiting for the answers running (about a second each at 10^6
	// entries), which hold only the read lock.
	writing  sync.Mutex
	updating sync.Mutex
	frozen   *frozen
	// encodeLabels keeps every label polynomial's coefficient vectors
	// encoded as plaintexts (WithEncodedLabels).
	encodeLabels bool
}

// Option configures a Database.
type Option func(*Database)

// WithEncodedLabels keeps the label polynomials' coefficient vectors
// encoded (NTT form, two primes, scale folded in) between queries, so an
// answer encodes only the matching polynomials, which carry a fresh mask
// each time: about a third of the encoding work, for four times the memory
// of the label coefficients and about 0.3 s more per touched bundle on
// every update (docs/protocol/hepsi.md section 6).
func WithEncodedLabels() Option { return func(db *Database) { db.encodeLabels = true } }

type bundle struct {
	bins []bin
	// coef[poly][j] holds coefficient j of polynomial poly (0 matching,
	// 1.. label parts) for every slot: one plaintext vector.
	coef [][][]uint32
	// encoded[poly][j], with WithEncodedLabels, is coef[poly][j] encoded
	// for the answer (nil for a zero vector and for poly 0).
	encoded [][]*rlwe.Plaintext
}

// bin keeps its entries flat: ItemLimbs limbs then labelParts·ItemLimbs
// label limbs per entry.
type bin struct {
	vals []uint32
}

// NewDatabase returns an empty database for p.
func NewDatabase(p Params, opts ...Option) (*Database, error) {
	s, err := p.scheme()
	if err != nil {
		return nil, err
	}
	db := &Database{s: s, rows: make([][]*bundle, p.Rows)}
	for _, o := range opts {
		o(db)
	}
	return db, nil
}

// Params returns the parameters the database answers under.
func (db *Database) Params() Params { return db.s.p }

// Len returns the number of items.
func (db *Database) Len() int {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.size
}

func (s *scheme) stride() int { return s.p.ItemLimbs * (1 + s.labelParts) }

func (s *scheme) newBundle() *bundle {
	b := &bundle{bins: make([]bin, s.binsPerRow), coef: make([][][]uint32, 1+s.labelParts)}
	for poly := range b.coef {
		b.coef[poly] = make([][]uint32, s.p.BinCapacity+1)
		for j := range b.coef[poly] {
			b.coef[poly][j] = make([]uint32, s.slots)
		}
	}
	// An empty bin's matching polynomial is the constant 1.
	for i := range b.coef[0][0] {
		b.coef[0][0][i] = 1
	}
	return b
}

// place is one (row, bundle, bin) whose polynomials must be recomputed.
type place struct{ row, bundle, bin int }

// Add inserts items (PRF outputs of 32 to 64 bytes) with their labels (LabelSize
// bytes each). Either every item is added or, on error, none.
//
// The batch is placed bin by bin, each bin's existing entries indexed once,
// so a bulk build costs time linear in the list plus the bins'
// interpolations, and a small update costs the bins it touches.
func (db *Database) Add(items, labels [][]byte) error {
	s := db.s
	if len(items) != len(labels) {
		return fmt.Errorf("%w: %d items and %d labels", ErrLabel, len(items), len(labels))
	}
	for i, it := range items {
		if len(it) < MinItemSize || len(it) > MaxItemSize {
			return fmt.Errorf("%w: item %d has %d bytes", ErrItem, i, len(it))
		}
		if len(labels[i]) != s.p.LabelSize {
			return fmt.Errorf("%w: label %d has %d bytes, want %d", ErrLabel, i, len(labels[i]), s.p.LabelSize)
		}
	}
	b := s.newBatch(items, labels)
	db.updating.Lock()
	defer db.updating.Unlock()
	db.mu.Lock()
	defer db.mu.Unlock()
	if i, ok := db.firstDuplicate(b); ok {
		return fmt.Errorf("%w: item %d", ErrDuplicate, i)
	}
	touched, err := db.place(b)
	if err != nil {
		return err
	}
	db.size += len(items)
	db.recompute(touched)
	return nil
}

// batch is a batch of entries laid out flat: entry i's record (item limbs,
// then label limbs) at vals[i·stride:], its distinct bins at
// bins[i·HashCount:] (−1 for a repeated hash), and the entries of each bin,
// in batch order, at list[start[b]:start[b+1]].
type batch struct {
	n           int
	vals        []uint32
	bins        []int32
	start, list []int32
}

// newBatch expands a batch's items on every core (two SHA-512 each) and
// groups them by bin.
func (s *scheme) newBatch(items, labels [][]byte) *batch {
	stride, h := s.stride(), s.p.HashCount
	b := &batch{n: len(items), vals: make([]uint32, len(items)*stride), bins: make([]int32, len(items)*h)}
	workers := min(runtime.GOMAXPROCS(0), 1+len(items)/1024)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(items); i += workers {
				e, vals := s.entry(items[i], labels[i])
				copy(b.vals[i*stride:], vals)
				for k, bin := range e.bins[:h] {
					b.bins[i*h+k] = int32(bin)
					if slices.Contains(e.bins[:k], bin) {
						b.bins[i*h+k] = -1
					}
				}
			}
		}()
	}
	wg.Wait()
	b.start = make([]int32, s.tableSize+1)
	for _, bin := range b.bins {
		if bin >= 0 {
			b.start[bin+1]++
		}
	}
	for i := 1; i < len(b.start); i++ {
		b.start[i] += b.start[i-1]
	}
	b.list = make([]int32, b.start[s.tableSize])
	next := slices.Clone(b.start[:s.tableSize])
	for i, bin := range b.bins {
		if bin >= 0 {
			b.list[next[bin]] = int32(i / h)
			next[bin]++
		}
	}
	return b
}

// byBin yields each bin the batch touches with the batch's entries in it,
// in bin order.
func (b *batch) byBin() iter.Seq2[int, []int32] {
	return func(yield func(int, []int32) bool) {
		for bin := range len(b.start) - 1 {
			if entries := b.list[b.start[bin]:b.start[bin+1]]; len(entries) > 0 && !yield(bin, entries) {
				return
			}
		}
	}
}

// limbKey is an entry's item limbs, as a map key (ItemLimbs ≤ 16: Validate
// bounds ItemLimbs × bits a limb by 256).
type limbKey [16]uint32

func (s *scheme) key(vals []uint32) limbKey {
	var k limbKey
	copy(k[:], vals[:s.p.ItemLimbs])
	return k
}

// firstDuplicate returns the first entry of the batch whose item is already
// in the database or earlier in the batch (in the same first bin, where
// every copy of an item is).
func (db *Database) firstDuplicate(b *batch) (int, bool) {
	s := db.s
	stride, h := s.stride(), s.p.HashCount
	first := slices.Index(db.inDatabase(b), true)
	seen := map[limbKey]struct{}{}
	for bin, entries := range b.byBin() {
		clear(seen)
		for _, i := range entries {
			if int(b.bins[int(i)*h]) != bin {
				continue
			}
			k := s.key(b.vals[int(i)*stride:])
			if _, dup := seen[k]; dup && (first < 0 || int(i) < first) {
				first = int(i)
			}
			seen[k] = struct{}{}
		}
	}
	return first, first >= 0
}

// inDatabase reports, for each entry of the batch, whether its item is in
// the database. It looks in each entry's first bin, where any copy of the
// item is, indexing a bin's entries once when more than a few entries of
// the batch look there.
func (db *Database) inDatabase(b *batch) []bool {
	s := db.s
	stride, h := s.stride(), s.p.HashCount
	held := make([]bool, b.n)
	index := map[limbKey]struct{}{}
	for bin, entries := range b.byBin() {
		indexed := len(entries) > 8
		if indexed {
			clear(index)
			row, col := bin/s.binsPerRow, bin%s.binsPerRow
			for _, bu := range db.rows[row] {
				v := bu.bins[col].vals
				for off := 0; off < len(v); off += stride {
					index[s.key(v[off:])] = struct{}{}
				}
			}
		}
		for _, i := range entries {
			if int(b.bins[int(i)*h]) != bin {
				continue
			}
			vals := b.vals[int(i)*stride:]
			if indexed {
				_, held[i] = index[s.key(vals)]
			} else {
				held[i] = db.has(bin, vals)
			}
		}
	}
	return held
}

// place appends the batch's entries to their bins, each into the first
// bundle with room and, when labeled, no limb equal to one of the entry's
// in the same position (interpolation needs distinct points). On ErrFull it
// undoes the batch and returns the first entry that did not fit.
func (db *Database) place(b *batch) (map[place]struct{}, error) {
	s := db.s
	stride, limbs := s.stride(), s.p.ItemLimbs
	bundles := make([]int, len(db.rows))
	for row := range db.rows {
		bundles[row] = len(db.rows[row])
	}
	// lengths holds each touched bin's length before the batch: the undo.
	lengths := map[place]int{}
	undo := func() {
		for pl, n := range lengths {
			bu := db.rows[pl.row][pl.bundle]
			bu.bins[pl.bin].vals = bu.bins[pl.bin].vals[:n]
		}
		for row, n := range bundles {
			db.rows[row] = db.rows[row][:n]
		}
	}
	// used holds (bundle, limb position, limb value) of the bin at hand.
	used := map[uint64]struct{}{}
	usedKey := func(k, l int, v uint32) uint64 { return uint64(k)<<36 | uint64(l)<<32 | uint64(v) }
	collides := func(k int, vals []uint32) bool {
		for l, v := range vals[:limbs] {
			if _, hit := used[usedKey(k, l, v)]; hit {
				return true
			}
		}
		return false
	}
	labeled := s.labelParts > 0
	for bin, entries := range b.byBin() {
		row, col := bin/s.binsPerRow, bin%s.binsPerRow
		if labeled {
			clear(used)
			for k, bu := range db.rows[row] {
				v := bu.bins[col].vals
				if len(v)/stride >= s.p.BinCapacity {
					continue // full: no entry goes there
				}
				for off := 0; off < len(v); off += stride {
					for l := range limbs {
						used[usedKey(k, l, v[off+l])] = struct{}{}
					}
				}
			}
		}
		for _, i := range entries {
			vals := b.vals[int(i)*stride : int(i+1)*stride]
			k := 0
			for ; k < len(db.rows[row]); k++ {
				if len(db.rows[row][k].bins[col].vals)/stride >= s.p.BinCapacity {
					continue
				}
				if !labeled || !collides(k, vals) {
					break
				}
			}
			if k == len(db.rows[row]) {
				if k >= s.p.MaxBundles {
					undo()
					return nil, fmt.Errorf("%w: item %d", ErrFull, i)
				}
				db.rows[row] = append(db.rows[row], s.newBundle())
			}
			pl := place{row, k, col}
			bu := db.rows[row][k]
			if _, ok := lengths[pl]; !ok {
				lengths[pl] = len(bu.bins[col].vals)
				db.preserve(pl)
			}
			bu.bins[col].vals = append(bu.bins[col].vals, vals...)
			if labeled {
				for l, v := range vals[:limbs] {
					used[usedKey(k, l, v)] = struct{}{}
				}
			}
		}
	}
	touched := make(map[place]struct{}, len(lengths))
	for pl := range lengths {
		touched[pl] = struct{}{}
	}
	return touched, nil
}

// Remove deletes items. Either every item is removed or, if one is not in
// the database, none. Like Add, it groups the batch by bin and visits each
// touched bin once, so it costs the bins the items occupy, not a scan per
// item.
func (db *Database) Remove(items [][]byte) error {
	s := db.s
	seen := make(map[string]struct{}, len(items))
	for i, it := range items {
		if len(it) < MinItemSize || len(it) > MaxItemSize {
			return fmt.Errorf("%w: item %d has %d bytes", ErrItem, i, len(it))
		}
		if _, dup := seen[string(it)]; dup {
			return fmt.Errorf("%w: item %d repeats an earlier item of the batch", ErrDuplicate, i)
		}
		seen[string(it)] = struct{}{}
	}
	// The labels do not matter: entries are matched by their item limbs.
	labels := make([][]byte, len(items))
	zero := make([]byte, s.p.LabelSize)
	for i := range labels {
		labels[i] = zero
	}
	b := s.newBatch(items, labels)
	db.updating.Lock()
	defer db.updating.Unlock()
	db.mu.Lock()
	defer db.mu.Unlock()
	if i := slices.Index(db.inDatabase(b), false); i >= 0 {
		return fmt.Errorf("%w: item %d", ErrNotFound, i)
	}
	touched := db.removeBatch(b)
	db.size -= len(items)
	db.recompute(touched)
	return nil
}

// removeBatch deletes the batch's entries, every one of which is in the
// database, from each of their bins, and returns the places it changed.
func (db *Database) removeBatch(b *batch) map[place]struct{} {
	s := db.s
	stride := s.stride()
	touched := map[place]struct{}{}
	gone := map[limbKey]struct{}{}
	for bin, entries := range b.byBin() {
		clear(gone)
		for _, i := range entries {
			gone[s.key(b.vals[int(i)*stride:])] = struct{}{}
		}
		row, col := bin/s.binsPerRow, bin%s.binsPerRow
		for k, bu := range db.rows[row] {
			v := bu.bins[col].vals
			n := 0
			for off := 0; off < len(v); off += stride {
				if _, ok := gone[s.key(v[off:])]; ok {
					n++
				}
			}
			if n == 0 {
				continue
			}
			pl := place{row, k, col}
			db.preserve(pl)
			kept := v[:0]
			for off := 0; off < len(v); off += stride {
				if _, ok := gone[s.key(v[off:])]; !ok {
					kept = append(kept, v[off:off+stride]...)
				}
			}
			bu.bins[col].vals = kept
			touched[pl] = struct{}{}
		}
	}
	return touched
}

// entry expands an item and lays out its flat bin record.
func (s *scheme) entry(item, label []byte) (expanded, []uint32) {
	limbs := make([]uint64, s.p.ItemLimbs*(1+s.labelParts))
	e := s.expand(item, limbs[:s.p.ItemLimbs])
	s.labelFelts(item, label, limbs[s.p.ItemLimbs:])
	vals := make([]uint32, len(limbs))
	for i, v := range limbs {
		vals[i] = uint32(v)
	}
	return e, vals
}

// has reports whether table bin b holds an entry with vals' item limbs.
func (db *Database) has(b int, vals []uint32) bool {
	s := db.s
	row, col := b/s.binsPerRow, b%s.binsPerRow
	limbs := vals[:s.p.ItemLimbs]
	for _, bu := range db.rows[row] {
		v := bu.bins[col].vals
		for off := 0; off < len(v); off += s.stride() {
			if slices.Equal(v[off:off+s.p.ItemLimbs], limbs) {
				return true
			}
		}
	}
	return false
}

// recompute refreshes the polynomials of the given bins on every core.
func (db *Database) recompute(touched map[place]struct{}) {
	work := make(chan place)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := db.s.newBinScratch()
			for pl := range work {
				db.s.computeBin(db.rows[pl.row][pl.bundle], pl.bin, sc)
			}
		}()
	}
	bundles := map[[2]int]bool{}
	for pl := range touched {
		work <- pl
		bundles[[2]int{pl.row, pl.bundle}] = true
	}
	close(work)
	wg.Wait()
	if db.encodeLabels {
		for rb := range bundles {
			db.encodeBundle(db.rows[rb[0]][rb[1]])
		}
	}
}

// encodeBundle re-encodes a bundle's label coefficient vectors on every
// core, with the scales the answer's Paterson-Stockmeyer sum needs.
func (db *Database) encodeBundle(bu *bundle) {
	s := db.s
	if bu.encoded == nil {
		bu.encoded = make([][]*rlwe.Plaintext, len(bu.coef))
	}
	type job struct{ poly, k int }
	work := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := &polyEval{s: s, ecd: bgv.NewEncoder(s.bgv), buf: make([]uint64, s.slots)}
			for j := range work {
				bu.encoded[j.poly][j.k] = nil
				if zero32(bu.coef[j.poly][j.k]) {
					continue
				}
				pt := bgv.NewPlaintext(s.bgv, s.bgv.MaxLevel()-1)
				if err := ev.encodeInto(pt, bu.coef[j.poly][j.k], s.coefScale(j.k)); err == nil {
					bu.encoded[j.poly][j.k] = pt
				}
			}
		}()
	}
	for poly := 1; poly < len(bu.coef); poly++ {
		if bu.encoded[poly] == nil {
			bu.encoded[poly] = make([]*rlwe.Plaintext, len(bu.coef[poly]))
		}
		for k := range bu.coef[poly] {
			work <- job{poly, k}
		}
	}
	close(work)
	wg.Wait()
}

type binScratch struct {
	xs, match []uint64
	ys, outs  [][]uint64
	interp    *interpScratch
	tree      *interpTree
}

func (s *scheme) newBinScratch() *binScratch {
	c := s.p.BinCapacity
	sc := &binScratch{xs: make([]uint64, c), match: make([]uint64, c+1), interp: newInterpScratch(c, s.labelParts)}
	if nt := s.ntt(); nt.fits(c) {
		sc.tree = &interpTree{nt: nt, f: s.t}
	}
	for range s.labelParts {
		sc.ys = append(sc.ys, make([]uint64, c))
		sc.outs = append(sc.outs, make([]uint64, c))
	}
	return sc
}

// computeBin writes bin col's polynomials, limb by limb, into the bundle's
// coefficient vectors, zeroing coefficients above the new degree.
func (s *scheme) computeBin(bu *bundle, col int, sc *binScratch) {
	stride := s.stride()
	v := bu.bins[col].vals
	n := len(v) / stride
	limbs := s.p.ItemLimbs
	for l := 0; l < limbs; l++ {
		slot := col*limbs + l
		xs := sc.xs[:n]
		for i := range xs {
			xs[i] = uint64(v[i*stride+l])
		}
		match := sc.match[:n+1]
		ys := make([][]uint64, s.labelParts)
		outs := make([][]uint64, s.labelParts)
		for part := range ys {
			ys[part] = sc.ys[part][:n]
			outs[part] = sc.outs[part][:n]
			for i := range ys[part] {
				ys[part][i] = uint64(v[i*stride+limbs*(1+part)+l])
			}
		}
		switch {
		case sc.tree != nil && sc.tree.nt.fits(n):
			sc.tree.interpolate(match, outs, xs, ys)
		default:
			s.t.rootsPoly(match, xs)
			if n > 0 && len(ys) > 0 {
				s.t.interpolate(outs, xs, ys, match, sc.interp)
			}
		}
		for j := 0; j <= s.p.BinCapacity; j++ {
			c := uint32(0)
			if j <= n {
				c = uint32(match[j])
			}
			bu.coef[0][j][slot] = c
		}
		for part := range outs {
			for j := 0; j <= s.p.BinCapacity; j++ {
				c := uint32(0)
				if j < n {
					c = uint32(outs[part][j])
				}
				bu.coef[1+part][j][slot] = c
			}
		}
	}
}

// degree is the bundle's largest bin: the degree its polynomials need.
func (s *scheme) degree(bu *bundle) int {
	d := 0
	for i := range bu.bins {
		d = max(d, len(bu.bins[i].vals)/s.stride())
	}
	return d
}
