package hepsi

import (
	"errors"
	"slices"
	"testing"
)

// snapshot copies every coefficient of every bundle.
func snapshot(db *Database) [][][][]uint32 {
	var out [][][][]uint32
	for _, bundles := range db.rows {
		for _, bu := range bundles {
			polys := make([][][]uint32, len(bu.coef))
			for i := range bu.coef {
				for _, c := range bu.coef[i] {
					polys[i] = append(polys[i], slices.Clone(c))
				}
			}
			out = append(out, polys)
		}
	}
	return out
}

// changedSlots lists the slots whose coefficients differ between two
// snapshots of the same bundles.
func changedSlots(a, b [][][][]uint32) map[int]bool {
	out := map[int]bool{}
	for k := range a {
		for i := range a[k] {
			for j := range a[k][i] {
				for slot := range a[k][i][j] {
					if a[k][i][j][slot] != b[k][i][j][slot] {
						out[slot] = true
					}
				}
			}
		}
	}
	return out
}

func TestUpdates(t *testing.T) {
	p := testParams(t, 16)
	s, _ := p.scheme()
	db, err := NewDatabase(p)
	if err != nil {
		t.Fatal(err)
	}
	items := randomItems(t, 800, MinItemSize)
	labels := randomItems(t, len(items), 16)
	if err := db.Add(items, labels); err != nil {
		t.Fatal(err)
	}
	r, err := NewRequester(p)
	if err != nil {
		t.Fatal(err)
	}
	fresh := randomItems(t, 1, MinItemSize)[0]
	freshLabel := randomItems(t, 1, 16)[0]
	ownSlots := func(it []byte) map[int]bool {
		e := s.expand(it, make([]uint64, s.p.ItemLimbs))
		out := map[int]bool{}
		for _, b := range s.distinctBins(e) {
			for l := range s.p.ItemLimbs {
				out[b*s.p.ItemLimbs+l] = true
			}
		}
		return out
	}

	t.Run("add touches only the item's bins", func(t *testing.T) {
		before := snapshot(db)
		if err := db.Add([][]byte{fresh}, [][]byte{freshLabel}); err != nil {
			t.Fatal(err)
		}
		after := snapshot(db)
		if len(after) != len(before) {
			t.Skip("the item opened a new bundle") // not expected at this load
		}
		changed, own := changedSlots(before, after), ownSlots(fresh)
		if len(changed) == 0 {
			t.Fatal("no coefficient changed")
		}
		for slot := range changed {
			if !own[slot] {
				t.Fatalf("slot %d changed, not in the item's bins", slot)
			}
		}
		res := roundTrip(t, db, r, [][]byte{fresh, items[0]})
		checkAgainstPlain(t, res, [][]byte{fresh, items[0]}, map[string][]byte{string(fresh): freshLabel, string(items[0]): labels[0]})
	})

	t.Run("remove touches only the item's bins", func(t *testing.T) {
		before := snapshot(db)
		if err := db.Remove([][]byte{items[0]}); err != nil {
			t.Fatal(err)
		}
		changed, own := changedSlots(before, snapshot(db)), ownSlots(items[0])
		if len(changed) == 0 {
			t.Fatal("no coefficient changed")
		}
		for slot := range changed {
			if !own[slot] {
				t.Fatalf("slot %d changed, not in the item's bins", slot)
			}
		}
		res := roundTrip(t, db, r, [][]byte{fresh, items[0], items[1]})
		checkAgainstPlain(t, res, [][]byte{fresh, items[0], items[1]}, map[string][]byte{string(fresh): freshLabel, string(items[1]): labels[1]})
	})

	t.Run("relabel is remove then add", func(t *testing.T) {
		newLabel := randomItems(t, 1, 16)[0]
		if err := db.Remove([][]byte{items[1]}); err != nil {
			t.Fatal(err)
		}
		if err := db.Add([][]byte{items[1]}, [][]byte{newLabel}); err != nil {
			t.Fatal(err)
		}
		res := roundTrip(t, db, r, [][]byte{items[1]})
		checkAgainstPlain(t, res, [][]byte{items[1]}, map[string][]byte{string(items[1]): newLabel})
	})

	t.Run("refused changes leave the database as it was", func(t *testing.T) {
		before, n := snapshot(db), db.Len()
		other := randomItems(t, 2, MinItemSize)
		cases := []struct {
			name string
			do   func() error
			want error
		}{
			{"add listed item", func() error { return db.Add([][]byte{other[0], items[5]}, [][]byte{freshLabel, freshLabel}) }, ErrDuplicate},
			{"add twice in a batch", func() error { return db.Add([][]byte{other[0], other[0]}, [][]byte{freshLabel, freshLabel}) }, ErrDuplicate},
			{"add short item", func() error { return db.Add([][]byte{other[0][:31]}, [][]byte{freshLabel}) }, ErrItem},
			{"add wrong label size", func() error { return db.Add([][]byte{other[0]}, [][]byte{freshLabel[:15]}) }, ErrLabel},
			{"remove unlisted item", func() error { return db.Remove([][]byte{items[6], other[1]}) }, ErrNotFound},
			{"remove twice in a batch", func() error { return db.Remove([][]byte{items[6], items[6]}) }, ErrDuplicate},
		}
		for _, c := range cases {
			if err := c.do(); !errors.Is(err, c.want) {
				t.Fatalf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		if db.Len() != n || len(changedSlots(before, snapshot(db))) != 0 {
			t.Fatal("a refused change modified the database")
		}
	})
}

func TestDatabaseFull(t *testing.T) {
	p := testParams(t, 16)
	p.MaxBundles = 1
	s, _ := p.scheme()
	db, err := NewDatabase(p)
	if err != nil {
		t.Fatal(err)
	}
	crowded := itemsInBin(t, s, p.BinCapacity+1)
	labels := randomItems(t, len(crowded), 16)
	if err := db.Add(crowded[:p.BinCapacity-1], labels[:p.BinCapacity-1]); err != nil {
		t.Fatal(err)
	}
	before := snapshot(db)
	if err := db.Add(crowded[p.BinCapacity-1:], labels[p.BinCapacity-1:]); !errors.Is(err, ErrFull) {
		t.Fatalf("overfull bin: %v, want ErrFull", err)
	}
	if db.Len() != p.BinCapacity-1 || len(changedSlots(before, snapshot(db))) != 0 {
		t.Fatal("the refused batch modified the database")
	}
}

// A bin large enough for the subproduct tree gets exactly the polynomials
// the power-sum reference computes from the same entries, and answers
// against the plain intersection.
func TestTreeBins(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("large bins are slow to fill")
	}
	p := testParams(t, 16)
	p.BinCapacity, p.PSLow = 256, 16
	s, err := p.scheme()
	if err != nil {
		t.Fatal(err)
	}
	items := itemsInBin(t, s, fastFrom+30)
	db, r, listed := listedDB(t, p, items, randomItems(t, len(items), 16))
	bu := db.rows[0][0]
	v := bu.bins[0].vals
	stride, limbs := s.stride(), s.p.ItemLimbs
	n := len(v) / stride
	if n < fastFrom {
		t.Fatalf("bin holds %d entries, too few for the tree", n)
	}
	for l := range limbs {
		xs := make([]uint64, n)
		ys := make([][]uint64, s.labelParts)
		for part := range ys {
			ys[part] = make([]uint64, n)
		}
		for i := range n {
			xs[i] = uint64(v[i*stride+l])
			for part := range ys {
				ys[part][i] = uint64(v[i*stride+limbs*(1+part)+l])
			}
		}
		match := make([]uint64, n+1)
		s.t.rootsPoly(match, xs)
		outs := make([][]uint64, s.labelParts)
		for part := range outs {
			outs[part] = make([]uint64, n)
		}
		s.t.interpolate(outs, xs, ys, match, newInterpScratch(n, s.labelParts))
		for j := 0; j <= p.BinCapacity; j++ {
			want := uint64(0)
			if j <= n {
				want = match[j]
			}
			if got := uint64(bu.coef[0][j][l]); got != want {
				t.Fatalf("limb %d: matching coefficient %d is %d, want %d", l, j, got, want)
			}
			for part := range outs {
				want := uint64(0)
				if j < n {
					want = outs[part][j]
				}
				if got := uint64(bu.coef[1+part][j][l]); got != want {
					t.Fatalf("limb %d: label %d coefficient %d is %d, want %d", l, part, j, got, want)
				}
			}
		}
	}
	batch := append(items[:10], randomItems(t, 10, MinItemSize)...)
	checkAgainstPlain(t, roundTrip(t, db, r, batch), batch, listed)
}

// distinctBins lists an item's candidate bins once each: an item whose two
// hashes agree is stored once in that bin.
func (s *scheme) distinctBins(e expanded) []int {
	out := make([]int, 0, s.p.HashCount)
	for _, b := range e.bins[:s.p.HashCount] {
		if !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}
