package hepsi_test

import (
	"bytes"
	"crypto/rand"
	"fmt"

	"github.com/riskmesh/riskmesh/psi/hepsi"
)

// A provider holds PRF outputs of its list with labels; a requester asks
// about two PRF outputs of its own and learns membership and labels only.
func Example() {
	p, _ := hepsi.ParamsFor(1000, 16, 16)
	listed := make([]byte, 64)
	rand.Read(listed)
	label := bytes.Repeat([]byte{7}, 16)

	db, _ := hepsi.NewDatabase(p)
	_ = db.Add([][]byte{listed}, [][]byte{label})

	r, _ := hepsi.NewRequester(p)
	other := make([]byte, 64)
	rand.Read(other)
	query, state, _ := r.Query(nil, [][]byte{listed, other})
	wire, _ := query.MarshalBinary()

	// The provider decodes and answers.
	received, _ := hepsi.DecodeQuery(p, wire)
	answer, _ := db.Answer(nil, received)
	reply, _ := answer.MarshalBinary()

	decoded, _ := hepsi.DecodeAnswer(p, reply)
	results, err := state.Results(decoded)
	fmt.Println(err, results[0].Found, bytes.Equal(results[0].Label, label), results[1].Found)
	// Output: <nil> true true false
}

// An entry added to a served database is found by the next query; only
// the bins it hashes to are recomputed.
func ExampleDatabase_Add() {
	p, _ := hepsi.ParamsFor(1000, 16, 0)
	db, _ := hepsi.NewDatabase(p)
	item := bytes.Repeat([]byte{1}, 32)
	fmt.Println(db.Add([][]byte{item}, [][]byte{{}}), db.Len())
	fmt.Println(db.Remove([][]byte{item}), db.Len())
	// Output:
	// <nil> 1
	// <nil> 0
}
