package hepsi

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestTiming(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("HEPSI_N"))
	if n == 0 {
		t.Skip()
	}
	b := &testing.B{}
	_ = b
	p, _ := ParamsFor(n, 1024, 16)
	db, _ := NewDatabase(p)
	items := randomItems(t, n, ItemSize)
	labels := randomItems(t, n, 16)
	st0 := time.Now()
	db.Add(items, labels)
	t.Log("build", time.Since(st0))
	r, _ := NewRequester(p)
	batch := append(randomItems(t, 512, ItemSize), items[:512]...)
	for range 2 {
		t0 := time.Now()
		q, st, _ := r.Query(nil, batch)
		t1 := time.Now()
		q2, _ := DecodeQuery(p, q.enc)
		t2 := time.Now()
		a, err := db.Answer(nil, q2)
		if err != nil {
			t.Fatal(err)
		}
		t3 := time.Now()
		ab, _ := a.MarshalBinary()
		a2, _ := DecodeAnswer(p, ab)
		t4 := time.Now()
		st.Results(a2)
		t5 := time.Now()
		t.Log("query", t1.Sub(t0), "decode", t2.Sub(t1), "answer", t3.Sub(t2), "ans-wire", t4.Sub(t3), "results", t5.Sub(t4))
	}
}
