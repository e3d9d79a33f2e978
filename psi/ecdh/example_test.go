package ecdh_test

import (
	"fmt"
	"slices"

	"github.com/riskmesh/riskmesh/psi/ecdh"
)

// Two institutions reconcile their lists; both learn which of their own
// entries the other holds. The messages are byte strings the node carries
// over QUIC and the transcript hashes.
func Example() {
	context := []byte("riskmesh/v1|blacklist|2026-03|bankA|bankB|seq=17")
	bankA := [][]byte{[]byte("phone:+8613800138000"), []byte("phone:+8613800138001"), []byte("email:a@example.com")}
	bankB := [][]byte{[]byte("email:a@example.com"), []byte("device:77aa"), []byte("phone:+8613800138000")}

	requester, err := ecdh.NewRequester(ecdh.BothLearn, context, bankA, nil)
	if err != nil {
		panic(err)
	}
	responder, err := ecdh.NewResponder(ecdh.BothLearn, context, bankB, nil)
	if err != nil {
		panic(err)
	}

	// Message 1, requester to responder.
	m1, err := requester.Request()
	if err != nil {
		panic(err)
	}
	wire1, _ := m1.MarshalBinary()
	var got1 ecdh.Request
	if err := got1.UnmarshalBinary(wire1); err != nil {
		panic(err)
	}

	// Message 2, responder to requester.
	m2, err := responder.Answer(&got1)
	if err != nil {
		panic(err)
	}
	wire2, _ := m2.MarshalBinary()
	var got2 ecdh.Reply
	if err := got2.UnmarshalBinary(wire2); err != nil {
		panic(err)
	}
	resA, m3, err := requester.Finish(&got2)
	if err != nil {
		panic(err)
	}

	// Message 3 (BothLearn only), requester to responder.
	wire3, _ := m3.MarshalBinary()
	var got3 ecdh.Return
	if err := got3.UnmarshalBinary(wire3); err != nil {
		panic(err)
	}
	resB, err := responder.Finish(&got3)
	if err != nil {
		panic(err)
	}

	for _, i := range resA.Matches {
		fmt.Printf("bank A: %s\n", bankA[i])
	}
	for _, j := range resB.Matches {
		fmt.Printf("bank B: %s\n", bankB[j])
	}
	fmt.Println("sizes learned:", resA.PeerSize, resB.PeerSize)
	fmt.Println("message bytes:", len(wire1), len(wire2), len(wire3))
	// Output:
	// bank A: phone:+8613800138000
	// bank A: email:a@example.com
	// bank B: email:a@example.com
	// bank B: phone:+8613800138000
	// sizes learned: 3 3
	// message bytes: 135 235 135
}

// Two nodes reconcile their lists chunk by chunk; every answer carries a
// proof checked against the commitment in the header, and each side gets
// its matched rows as the chunks arrive. Here the chunks are passed in
// memory; a node sends their MarshalBinary bytes over QUIC, signs a
// transcript record for each, and stores a Checkpoint after each one.
func ExampleReconciler() {
	bankA := ecdh.ItemSlice{[]byte("loan:1001"), []byte("loan:1002"), []byte("loan:1003"), []byte("loan:1004")}
	bankB := ecdh.ItemSlice{[]byte("loan:1004"), []byte("loan:2001"), []byte("loan:1002")}
	params := ecdh.ReconParams{Mode: ecdh.BothLearn, Context: []byte("header without keys"),
		RequesterSize: len(bankA), ResponderSize: len(bankB), ChunkSize: 2}

	a, err := ecdh.NewReconciler(ecdh.RoleRequester, params, bankA, nil)
	if err != nil {
		panic(err)
	}
	b, err := ecdh.NewReconciler(ecdh.RoleResponder, params, bankB, nil)
	if err != nil {
		panic(err)
	}
	// The commitments go into the header both sign.
	if err := a.Start(b.Commitment()); err != nil {
		panic(err)
	}
	if err := b.Start(a.Commitment()); err != nil {
		panic(err)
	}
	var rowsA, rowsB []int
	// Phase 1: the responder's masked items, and the requester's proved returns.
	for seq := uint32(0); seq < 2; seq++ {
		chunk, _ := b.OwnChunk(seq)
		ret, _, err := a.Answer(chunk)
		if err != nil {
			panic(err)
		}
		if _, err := b.Accept(ret); err != nil {
			panic(err)
		}
	}
	// Phase 2: the requester's masked items, and the responder's proved replies.
	for seq := uint32(0); seq < 2; seq++ {
		chunk, _ := a.OwnChunk(seq)
		reply, matched, err := b.Answer(chunk)
		if err != nil {
			panic(err)
		}
		rowsB = append(rowsB, matched...)
		matched, err = a.Accept(reply)
		if err != nil {
			panic(err)
		}
		rowsA = append(rowsA, matched...)
	}
	slices.Sort(rowsA)
	slices.Sort(rowsB)
	fmt.Println("bank A rows:", rowsA, "done:", a.Done())
	fmt.Println("bank B rows:", rowsB, "done:", b.Done())
	// Output:
	// bank A rows: [1 3] done: true
	// bank B rows: [0 2] done: true
}
