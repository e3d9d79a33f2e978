package hepsi

import "slices"

// A consistent snapshot for WriteTo that does not hold updates back.
// Writing a database takes seconds at 10^6 entries; holding the read lock
// that long would keep every Add and Remove waiting. Instead Snapshot
// freezes the database's state (its size and its bundles per row) between
// two updates (under db.updating, which answers do not take, so freezing
// never waits for a running answer: TestSnapshotDuringAnswer), and its
// WriteTo copies it piece by piece (a bundle's entry counts,
// one bin's entries, one coefficient vector) under short read locks and
// packs and writes each piece unlocked. An update that changes a frozen
// bin while WriteTo runs first keeps that bin as it was (its entries and
// its slots of every coefficient vector: copy on write, preserve), and
// WriteTo reads the kept bin instead. So the bytes written are the
// database exactly as it stood when WriteTo began (TestPersistWhileUpdating),
// and the memory this costs is the bins updated meanwhile.

// frozen is the state WriteTo writes.
type frozen struct {
	size    int
	bundles []int // per row: bundles added later are not written
	// saved holds the frozen bins updates have changed since, by place;
	// cols lists them per (row, bundle).
	saved map[place]*savedBin
	cols  map[[2]int][]int
}

// savedBin is one bin as frozen: its entries and, for each polynomial and
// degree up to BinCapacity, its ItemLimbs slots of the coefficient vector
// (at ((poly·(BinCapacity+1)) + degree)·ItemLimbs). It never changes.
type savedBin struct {
	vals []uint32
	coef []uint32
}

// Snapshot is a database frozen as it stood when Snapshot returned it, to
// write (WriteTo) while updates go on. Until Release, each bin an update
// changes is kept as it was, so a snapshot costs memory for the bins
// updated meanwhile; Release it exactly once, when written.
type Snapshot struct {
	db *Database
	f  *frozen
}

// Snapshot freezes the database as it stands. One snapshot exists at a
// time: Snapshot waits until the previous one is released.
func (db *Database) Snapshot() *Snapshot {
	db.writing.Lock()
	return &Snapshot{db: db, f: db.freeze()}
}

// Release ends the snapshot: updates stop keeping bins for it.
func (snap *Snapshot) Release() {
	snap.db.thaw()
	snap.db.writing.Unlock()
}

// freeze starts a snapshot of the database as it stands. The caller holds
// db.writing and calls thaw when done. Holding db.updating excludes the
// only writers of what it reads and of db.frozen.
func (db *Database) freeze() *frozen {
	db.updating.Lock()
	defer db.updating.Unlock()
	f := &frozen{size: db.size, bundles: make([]int, len(db.rows)), saved: map[place]*savedBin{}, cols: map[[2]int][]int{}}
	for row := range db.rows {
		f.bundles[row] = len(db.rows[row])
	}
	db.frozen = f
	return f
}

// thaw ends the snapshot: updates stop keeping bins.
func (db *Database) thaw() {
	db.updating.Lock()
	defer db.updating.Unlock()
	db.frozen = nil
}

// preserve keeps bin pl as it stands, if a snapshot is running and has not
// kept it yet, before an update changes it. db.mu is held for writing.
func (db *Database) preserve(pl place) {
	f := db.frozen
	if f == nil || pl.bundle >= f.bundles[pl.row] {
		return
	}
	if _, ok := f.saved[pl]; ok {
		return
	}
	s := db.s
	limbs, degrees := s.p.ItemLimbs, s.p.BinCapacity+1
	bu := db.rows[pl.row][pl.bundle]
	sv := &savedBin{vals: slices.Clone(bu.bins[pl.bin].vals), coef: make([]uint32, len(bu.coef)*degrees*limbs)}
	for poly := range bu.coef {
		for j := range degrees {
			copy(sv.coef[(poly*degrees+j)*limbs:], bu.coef[poly][j][pl.bin*limbs:(pl.bin+1)*limbs])
		}
	}
	f.saved[pl] = sv
	k := [2]int{pl.row, pl.bundle}
	f.cols[k] = append(f.cols[k], pl.bin)
}

// frozenCounts returns the entry counts of bundle (row, k)'s bins as
// frozen.
func (db *Database) frozenCounts(f *frozen, row, k int) []int {
	db.mu.RLock()
	defer db.mu.RUnlock()
	s := db.s
	bu := db.rows[row][k]
	counts := make([]int, len(bu.bins))
	for col := range bu.bins {
		v := bu.bins[col].vals
		if sv := f.saved[place{row, k, col}]; sv != nil {
			v = sv.vals
		}
		counts[col] = len(v) / s.stride()
	}
	return counts
}

// frozenBin returns the entries of bin col of bundle (row, k) as frozen,
// in memory no update changes.
func (db *Database) frozenBin(f *frozen, row, k, col int) []uint32 {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if sv := f.saved[place{row, k, col}]; sv != nil {
		return sv.vals
	}
	return slices.Clone(db.rows[row][k].bins[col].vals)
}

// frozenCoef copies coefficient vector (poly, j) of bundle (row, k) as
// frozen into dst.
func (db *Database) frozenCoef(dst []uint32, f *frozen, row, k, poly, j int) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	s := db.s
	limbs, degrees := s.p.ItemLimbs, s.p.BinCapacity+1
	copy(dst, db.rows[row][k].coef[poly][j])
	for _, col := range f.cols[[2]int{row, k}] {
		sv := f.saved[place{row, k, col}]
		copy(dst[col*limbs:(col+1)*limbs], sv.coef[(poly*degrees+j)*limbs:])
	}
}
