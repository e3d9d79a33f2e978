package hepsi

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/bgv"
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

// Label plaintexts kept encoded between queries give the same results,
// also after updates re-encode the bundles they touch.
func TestEncodedLabels(t *testing.T) {
	p := testParams(t, 16)
	db, err := NewDatabase(p, WithEncodedLabels())
	if err != nil {
		t.Fatal(err)
	}
	items := randomItems(t, 1500, MinItemSize)
	labels := randomItems(t, len(items), 16)
	if err := db.Add(items[:1400], labels[:1400]); err != nil {
		t.Fatal(err)
	}
	r, err := NewRequester(p)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string][]byte{}
	for i := range 1400 {
		listed[string(items[i])] = labels[i]
	}
	batch := append(items[1300:1500], randomItems(t, 20, MinItemSize)...)
	checkAgainstPlain(t, roundTrip(t, db, r, batch), batch, listed)

	// The kept plaintexts are used only if the powers' scales are the
	// predicted ones: check that they are, so the test exercises them.
	q, _, err := r.Query(nil, batch)
	if err != nil {
		t.Fatal(err)
	}
	rlk := q.EvaluationKey().rlk
	c1, err := db.s.expandC1(q.seed, len(q.c0))
	if err != nil {
		t.Fatal(err)
	}
	srcs := make([]*rlwe.Ciphertext, len(q.c0))
	for k := range srcs {
		srcs[k] = bgv.NewCiphertext(db.s.bgv, 1, db.s.bgv.MaxLevel())
		srcs[k].Value[0], srcs[k].Value[1] = q.c0[k], c1[k]
	}
	powers, err := db.s.computePowers(bgv.NewEvaluator(db.s.bgv, rlwe.NewMemEvaluationKeySet(rlk)), srcs)
	if err != nil {
		t.Fatal(err)
	}
	if !db.s.predictedScales(powers) {
		t.Fatal("the powers' scales differ from the predicted ones")
	}

	if err := db.Remove(items[1300:1350]); err != nil {
		t.Fatal(err)
	}
	if err := db.Add(items[1400:], labels[1400:]); err != nil {
		t.Fatal(err)
	}
	for i := 1300; i < 1350; i++ {
		delete(listed, string(items[i]))
	}
	for i := 1400; i < 1500; i++ {
		listed[string(items[i])] = labels[i]
	}
	checkAgainstPlain(t, roundTrip(t, db, r, batch), batch, listed)
}
