package transcript

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/riskmesh/riskmesh/psi/ecdh"
)

// withLabels appends to a complete both-learn transcript a label exchange
// of counts[s] labels at position s, each side's chunk signed by its
// sender, the responder's answering the requester's.
func withLabels(t testing.TB, tr *ReconTranscript, a, b party, counts ...uint32) {
	t.Helper()
	hd, err := tr.Header.Digest()
	if err != nil {
		t.Fatal(err)
	}
	for seq, n := range counts {
		req := ChunkRecord{Kind: ecdh.KindRequesterLabels, Seq: uint32(seq), Count: n, Hash: ChunkHash(fmt.Appendf(nil, "req-labels-%d", seq))}
		resp := ChunkRecord{Kind: ecdh.KindResponderLabels, Seq: uint32(seq), Count: n, Hash: ChunkHash(fmt.Appendf(nil, "resp-labels-%d", seq)),
			Answers: req.Hash}
		if err := SignRecord(a.sign, hd, &req); err != nil {
			t.Fatal(err)
		}
		if err := SignRecord(b.sign, hd, &resp); err != nil {
			t.Fatal(err)
		}
		tr.Records = append(tr.Records, req, resp)
	}
}

// TestReconTranscriptLabels checks a transcript with a label exchange
// verifies, stays complete and round-trips, and that Verify refuses label
// records out of place, oversized, re-attributed or in a mode without
// labels.
func TestReconTranscriptLabels(t *testing.T) {
	a, b := newParty(t), newParty(t)
	// The test header has n = 10, m = 7 and chunks of 4: at most 7 matches,
	// two label chunks a side.
	t.Run("honest", func(t *testing.T) {
		tr := testReconTranscript(t, ProtocolECDHBothLearn, a, b)
		withLabels(t, tr, a, b, 4, 3)
		if err := tr.Verify([][]byte{a.pub}, [][]byte{b.pub}); err != nil {
			t.Fatal(err)
		}
		if !tr.Complete() {
			t.Fatal("a complete transcript with labels reported incomplete")
		}
		enc, err := tr.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseReconTranscript(enc)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := back.MarshalBinary(); !bytes.Equal(again, enc) {
			t.Fatal("re-encoding differs")
		}
	})
	for _, tc := range []struct {
		name string
		edit func(tr *ReconTranscript)
		want error
	}{
		{"labels before the matching ended", func(tr *ReconTranscript) {
			withLabels(t, tr, a, b, 1)
			n := len(tr.Records) // the requester's labels before the last reply
			tr.Records[n-3], tr.Records[n-2] = tr.Records[n-2], tr.Records[n-3]
		}, ErrRecordOrder},
		{"more labels than a chunk", func(tr *ReconTranscript) { withLabels(t, tr, a, b, 5) }, ErrRecordOrder},
		{"more labels than the smaller list", func(tr *ReconTranscript) { withLabels(t, tr, a, b, 4, 4) }, ErrRecordOrder},
		{"a third label chunk", func(tr *ReconTranscript) { withLabels(t, tr, a, b, 4, 3, 1) }, ErrRecordOrder},
		{"empty label chunk", func(tr *ReconTranscript) { withLabels(t, tr, a, b, 0) }, ErrRecordOrder},
		{"responder labels answering another chunk", func(tr *ReconTranscript) {
			withLabels(t, tr, a, b, 4)
			tr.Records[len(tr.Records)-1].Answers[0] ^= 1
		}, ErrRecordOrder},
		{"requester labels signed by the responder", func(tr *ReconTranscript) {
			withLabels(t, tr, a, b, 4)
			n := len(tr.Records)
			tr.Records[n-2].Signature = tr.Records[n-1].Signature
		}, ErrRecordSignature},
		{"labels hash changed", func(tr *ReconTranscript) {
			withLabels(t, tr, a, b, 4)
			tr.Records[len(tr.Records)-1].Hash[0] ^= 1
		}, ErrRecordSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := testReconTranscript(t, ProtocolECDHBothLearn, a, b)
			tc.edit(tr)
			if err := tr.Verify([][]byte{a.pub}, [][]byte{b.pub}); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("requester-learns has no labels", func(t *testing.T) {
		tr := testReconTranscript(t, ProtocolECDHRequesterLearns, a, b)
		withLabels(t, tr, a, b, 1)
		if err := tr.Verify([][]byte{a.pub}, [][]byte{b.pub}); !errors.Is(err, ErrRecordOrder) {
			t.Fatalf("err = %v, want ErrRecordOrder", err)
		}
	})
}
