package ecdh_test

import (
	"fmt"

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
