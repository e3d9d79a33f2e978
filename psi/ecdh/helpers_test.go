package ecdh

import (
	"encoding"
	"fmt"
	mathrand "math/rand/v2"
	"slices"
	"testing"
)

// testRand returns a deterministic randomness source so failures reproduce.
func testRand(seed uint64) *mathrand.ChaCha8 {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return mathrand.NewChaCha8(s)
}

// sets returns a requester set of n items and a responder set of m items
// sharing exactly overlap items at random positions, and the indices of the
// shared items in each set.
func sets(t testing.TB, seed uint64, n, m, overlap int) (x, y [][]byte, wantX, wantY []int) {
	t.Helper()
	if overlap > min(n, m) {
		t.Fatalf("overlap %d larger than a set (%d, %d)", overlap, n, m)
	}
	rng := mathrand.New(testRand(seed))
	for i := range n {
		x = append(x, fmt.Appendf(nil, "phone:+86138%08d-x%d", rng.Uint32(), i))
	}
	for j := range m {
		y = append(y, fmt.Appendf(nil, "phone:+86139%08d-y%d", rng.Uint32(), j))
	}
	px, py := rng.Perm(n)[:overlap], rng.Perm(m)[:overlap]
	for k := range overlap {
		shared := fmt.Appendf(nil, "idcard:shared-%d-%d", seed, k)
		x[px[k]], y[py[k]] = shared, slices.Clone(shared)
	}
	wantX, wantY = slices.Sorted(slices.Values(px)), slices.Sorted(slices.Values(py))
	return x, y, wantX, wantY
}

// wire sends a message through its encoding, as the node will.
func wire[M encoding.BinaryMarshaler, PM interface {
	*T
	encoding.BinaryUnmarshaler
}, T any](t testing.TB, m M) *T {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatalf("marshal %T: %v", m, err)
	}
	out := new(T)
	if err := PM(out).UnmarshalBinary(b); err != nil {
		t.Fatalf("unmarshal %T: %v", out, err)
	}
	return out
}

// outcome is what both parties learned in one run.
type outcome struct {
	requester *Result
	responder *Result // nil in RequesterLearns
}

// run executes a whole session over the wire encodings.
func run(t testing.TB, mode Mode, context []byte, x, y [][]byte, seed uint64) outcome {
	t.Helper()
	req, err := NewRequester(mode, context, x, testRand(seed))
	if err != nil {
		t.Fatalf("NewRequester: %v", err)
	}
	resp, err := NewResponder(mode, context, y, testRand(seed+1))
	if err != nil {
		t.Fatalf("NewResponder: %v", err)
	}
	m1, err := req.Request()
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	m2, err := resp.Answer(wire[*Request, *Request](t, m1))
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	res, m3, err := req.Finish(wire[*Reply, *Reply](t, m2))
	if err != nil {
		t.Fatalf("Requester.Finish: %v", err)
	}
	out := outcome{requester: res}
	if mode == RequesterLearns {
		if m3 != nil {
			t.Fatalf("RequesterLearns produced a Return message")
		}
		return out
	}
	if m3 == nil {
		t.Fatalf("BothLearn produced no Return message")
	}
	if out.responder, err = resp.Finish(wire[*Return, *Return](t, m3)); err != nil {
		t.Fatalf("Responder.Finish: %v", err)
	}
	return out
}

func checkResult(t testing.TB, who string, got *Result, want []int, peerSize int) {
	t.Helper()
	if !slices.Equal(got.Matches, want) {
		t.Errorf("%s matches = %v, want %v", who, truncate(got.Matches), truncate(want))
	}
	if got.PeerSize != peerSize {
		t.Errorf("%s PeerSize = %d, want %d", who, got.PeerSize, peerSize)
	}
}

func truncate(v []int) []int {
	if len(v) > 20 {
		return v[:20]
	}
	return v
}
