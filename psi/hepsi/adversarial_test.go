package hepsi

import (
	"bytes"
	"errors"
	"testing"
)

// itemsInBin returns n random items whose first candidate bin is bin 0,
// found by rejection sampling.
func itemsInBin(t testing.TB, s *scheme, n int) [][]byte {
	t.Helper()
	var out [][]byte
	limbs := make([]uint64, s.p.ItemLimbs)
	for len(out) < n {
		it := randomItems(t, 1, MinItemSize)[0]
		if s.expand(it, limbs).bins[0] == 0 {
			out = append(out, it)
		}
	}
	return out
}

func TestQueryCases(t *testing.T) {
	p := testParams(t, 16)
	s, err := p.scheme()
	if err != nil {
		t.Fatal(err)
	}
	listedItems := randomItems(t, 500, MinItemSize)
	// Twenty items sharing one bin: more than BinCapacity, so the bin
	// spills into further bundles.
	crowded := itemsInBin(t, s, 20)
	listedItems = append(listedItems, crowded...)
	db, r, listed := listedDB(t, p, listedItems, randomItems(t, len(listedItems), 16))
	if got := len(db.rows[0]); got < 3 {
		t.Fatalf("crowded bin uses %d bundles, want at least 3", got)
	}
	unlisted := randomItems(t, 100, MinItemSize)
	cases := []struct {
		name  string
		batch [][]byte
	}{
		{"batch of one, listed", listedItems[:1]},
		{"batch of one, unlisted", unlisted[:1]},
		{"all hit", listedItems[100:200]},
		{"no hit", unlisted},
		{"duplicates", [][]byte{listedItems[3], unlisted[0], listedItems[3], unlisted[0], listedItems[3]}},
		{"crowded bin", append(append([][]byte{}, crowded...), unlisted[:5]...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := roundTrip(t, db, r, c.batch)
			checkAgainstPlain(t, res, c.batch, listed)
		})
	}
}

func TestEmptyDatabase(t *testing.T) {
	p := testParams(t, 16)
	db, err := NewDatabase(p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRequester(p)
	if err != nil {
		t.Fatal(err)
	}
	batch := randomItems(t, 10, MinItemSize)
	res := roundTrip(t, db, r, batch)
	checkAgainstPlain(t, res, batch, nil)
}

func TestLargestLabels(t *testing.T) {
	p := testParams(t, MaxLabelSize)
	items := randomItems(t, 200, MinItemSize)
	labels := randomItems(t, len(items), MaxLabelSize)
	for i := range labels[:20] {
		labels[i] = bytes.Repeat([]byte{0xff}, MaxLabelSize) // every bit set
	}
	db, r, listed := listedDB(t, p, items, labels)
	batch := append(items[:30], randomItems(t, 5, MinItemSize)...)
	checkAgainstPlain(t, roundTrip(t, db, r, batch), batch, listed)
}

// A batch of 4,096 needs four rows (8,192 bins) to keep the cuckoo table
// at most half full.
func TestLargestBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("four rows of ciphertexts")
	}
	p := testParams(t, 16)
	p.Rows, p.MaxBatch = 4, 4096
	items := randomItems(t, 2000, MinItemSize)
	db, r, listed := listedDB(t, p, items, randomItems(t, len(items), 16))
	batch := append(randomItems(t, 4096-1000, MinItemSize), items[:1000]...)
	checkAgainstPlain(t, roundTrip(t, db, r, batch), batch, listed)
	if _, _, err := r.Query(nil, append(batch, items[1000])); !errors.Is(err, ErrBatch) {
		t.Fatalf("batch of 4,097: %v, want ErrBatch", err)
	}
}
