package ecdh

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestTranscriptGolden pins the bytes of every chunk of a small BothLearn
// reconciliation with fixed randomness, proofs included: masking,
// re-masking, encoding and proving may get faster, but the chunks they
// produce (the wire format and what transcripts sign) must not change.
func TestTranscriptGolden(t *testing.T) {
	x, y, _, _ := sets(t, 3, 70, 90, 20)
	p := newPair(t, BothLearn, x, y, 32, 77)
	h := sha256.New()
	chunks := 0
	_, _, err := p.run(t, func(c *Chunk) *Chunk {
		b, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
		chunks++
		return c
	})
	if err != nil {
		t.Fatal(err)
	}
	// 3 responder chunks and their returns, 3 requester chunks and replies.
	if chunks != 12 {
		t.Fatalf("%d chunks, want 12", chunks)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != goldenTranscript {
		t.Fatalf("transcript digest %s, want %s", got, goldenTranscript)
	}
}

const goldenTranscript = "fc745fe9886456e5d1d7f4224bbccd830a23a42776db77fa53b6e15ac6d33c51"
