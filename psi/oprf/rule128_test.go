package oprf

import (
	"crypto/sha512"
	"encoding/binary"
	"testing"

	"filippo.io/edwards25519"
)

// ProofBinding128's weights are what docs/protocol/oprf.md says, computed
// here from the formulas with crypto/sha512 alone: the seed hashes B, the
// rule's label, n and the batch; block j hashes the weight label, the seed
// and j; weight i is the little-endian quarter i mod 4 of block ⌊i/4⌋,
// below 2^128. Computed over chunks starting mid-block, as the cores'
// last chunks of a batch do, the weights are the same.
func TestBinding128WeightsFollowTheDoc(t *testing.T) {
	c, blinded, evaluated, _ := goldenAnswer(t, ProofBinding128)
	n := len(blinded) / ElementSize
	ctx := labelVersion + "\x02-" + SuiteID

	frame := func(b []byte) []byte { return binary.BigEndian.AppendUint16(nil, uint16(len(b))) }
	h := sha512.New()
	h.Write(frame(c.bEnc[:]))
	h.Write(c.bEnc[:])
	dst := []byte("RiskMesh-BatchSeed128-V1-" + ctx)
	h.Write(frame(dst))
	h.Write(dst)
	h.Write(binary.BigEndian.AppendUint16(nil, uint16(n)))
	h.Write(evaluated) // POPRF: C = evaluated, D = blinded
	h.Write(blinded)
	var seed [sha512.Size]byte
	h.Sum(seed[:0])
	if got := c.p.batchSeed(ProofBinding128, &c.seed, &c.bEnc, evaluated, blinded); got != seed {
		t.Fatal("batch seed differs from the documented one")
	}

	want := make([][32]byte, n)
	wdst := []byte("RiskMesh-Weights128-V1-" + ctx)
	for i := range want {
		h.Reset()
		h.Write(frame(wdst))
		h.Write(wdst)
		h.Write(seed[:])
		h.Write(binary.BigEndian.AppendUint16(nil, uint16(i/4)))
		blk := h.Sum(nil)
		copy(want[i][:16], blk[16*(i%4):16*(i%4)+16])
	}
	for _, lo := range []int{0, 1, 3, 6} {
		w := make([]edwards25519.Scalar, n-lo)
		c.p.compositeWeights(ProofBinding128, w, lo, &seed, evaluated, blinded)
		for k := range w {
			if got := [32]byte(w[k].Bytes()); got != want[lo+k] {
				t.Fatalf("chunk from %d: weight %d is %x, want %x", lo, lo+k, got, want[lo+k])
			}
		}
	}
}
