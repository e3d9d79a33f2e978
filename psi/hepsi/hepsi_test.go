package hepsi

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// testParams are small enough for -race: bins of at most 8 items, one row.
func testParams(t testing.TB, labelSize int) Params {
	t.Helper()
	p := Params{
		LogN: presetLogN, PlainModulus: presetT, Q: presetQ, P: presetP,
		ItemLimbs: presetItemLimbs, LabelSize: labelSize, Rows: 1, HashCount: presetHashes,
		MaxBatch: 1024, BinCapacity: 8, PSLow: 3, MaxBundles: 64,
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func randomItems(t testing.TB, n, size int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
		if _, err := rand.Read(out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// roundTrip runs one query through the wire encodings and returns the results.
func roundTrip(t testing.TB, db *Database, r *Requester, batch [][]byte) []Result {
	t.Helper()
	q, st, err := r.Query(nil, batch)
	if err != nil {
		t.Fatal(err)
	}
	qb, err := q.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	q2, err := DecodeQuery(db.Params(), qb)
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.Answer(nil, q2)
	if err != nil {
		t.Fatal(err)
	}
	ab, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	a2, err := DecodeAnswer(db.Params(), ab)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Results(a2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(batch) {
		t.Fatalf("%d results for %d items", len(res), len(batch))
	}
	return res
}

// checkAgainstPlain compares results with the plain intersection.
func checkAgainstPlain(t testing.TB, res []Result, batch [][]byte, listed map[string][]byte) {
	t.Helper()
	for i, it := range batch {
		label, in := listed[string(it)]
		if res[i].Found != in {
			t.Fatalf("item %d: found %v, listed %v", i, res[i].Found, in)
		}
		if in && !bytes.Equal(res[i].Label, label) {
			t.Fatalf("item %d: label %x, want %x", i, res[i].Label, label)
		}
	}
}

func TestQueryMatchesPlainIntersection(t *testing.T) {
	items := randomItems(t, 3000, MinItemSize)
	db, r, listed := listedDB(t, testParams(t, 16), items, randomItems(t, len(items), 16))
	batch := append(randomItems(t, 40, MinItemSize), items[:60]...)
	res := roundTrip(t, db, r, batch)
	checkAgainstPlain(t, res, batch, listed)
}

// listedDB builds a database of items with labels under p, a requester
// for it and the plain list the results must agree with.
func listedDB(t testing.TB, p Params, items, labels [][]byte) (*Database, *Requester, map[string][]byte) {
	t.Helper()
	db, err := NewDatabase(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Add(items, labels); err != nil {
		t.Fatal(err)
	}
	listed := make(map[string][]byte, len(items))
	for i := range items {
		listed[string(items[i])] = labels[i]
	}
	r, err := NewRequester(p)
	if err != nil {
		t.Fatal(err)
	}
	return db, r, listed
}
