package hepsi_test

import (
	"bytes"
	"testing"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// TestWithVerifiedOPRF runs the whole live-mode pipeline: the provider
// stores PRF outputs of its list with catalog labels, the requester gets
// PRF outputs of its identifiers through a verified POPRF exchange and
// only those reach the homomorphic step.
func TestWithVerifiedOPRF(t *testing.T) {
	info := []byte("riskmesh/v1|black|live")
	sk, err := oprf.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := oprf.NewEvaluator(sk, info)
	if err != nil {
		t.Fatal(err)
	}
	list := [][]byte{[]byte("phone:+8613800138000"), []byte("email:a@example.com"), []byte("card:6222020000000000000")}
	outs := make([][oprf.OutputSize]byte, len(list))
	if err := ev.EvaluateBatch(outs, list); err != nil {
		t.Fatal(err)
	}
	p, err := hepsi.ParamsFor(len(list), 16, catalog.LabelSize)
	if err != nil {
		t.Fatal(err)
	}
	db, err := hepsi.NewDatabase(p)
	if err != nil {
		t.Fatal(err)
	}
	items := make([][]byte, len(list))
	labels := make([][]byte, len(list))
	for i := range list {
		items[i] = outs[i][:]
		labels[i], err = catalog.Label{Category: 1, Reason: uint16(10 + i), Listed: 20000}.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Add(items, labels); err != nil {
		t.Fatal(err)
	}

	// Requester: verified POPRF first.
	client, err := oprf.NewClient(sk.Public(), info)
	if err != nil {
		t.Fatal(err)
	}
	batch := [][]byte{[]byte("email:a@example.com"), []byte("phone:+10000000000")}
	state, blinded, err := client.Blind(nil, batch)
	if err != nil {
		t.Fatal(err)
	}
	evaluated, proof, err := ev.BlindEvaluate(nil, blinded)
	if err != nil {
		t.Fatal(err)
	}
	prf, err := client.Finalize(state, evaluated, proof[:])
	if err != nil {
		t.Fatal(err)
	}
	r, err := hepsi.NewRequester(p)
	if err != nil {
		t.Fatal(err)
	}
	q, st, err := r.Query(nil, [][]byte{prf[0][:], prf[1][:]})
	if err != nil {
		t.Fatal(err)
	}
	qb, _ := q.MarshalBinary()
	dq, err := hepsi.DecodeQuery(p, qb)
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.Answer(nil, dq)
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := a.MarshalBinary()
	da, err := hepsi.DecodeAnswer(p, ab)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Results(da)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Found || res[1].Found {
		t.Fatalf("found %v %v, want true false", res[0].Found, res[1].Found)
	}
	var got catalog.Label
	if err := got.UnmarshalBinary(res[0].Label); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res[0].Label, labels[1]) || got.Reason != 11 {
		t.Fatalf("label %+v, want reason 11", got)
	}
}
