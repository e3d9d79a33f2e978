package transcript

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/riskmesh/riskmesh/psi/ecdh"
)

func testReconHeader(t testing.TB, p Protocol) *ReconHeader {
	t.Helper()
	h := &ReconHeader{
		Protocol: p, Suite: SuiteRistretto255SHA512, Category: "loans", Period: 20261206,
		Requester: "BankAMSP", Responder: "LenderBMSP", Sequence: 9,
		RequesterSize: 10, ResponderSize: 7, ChunkSize: 4,
	}
	h.RequesterKey[0], h.ResponderKey[0] = 1, 2
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	return h
}

// testReconTranscript returns a complete transcript whose records carry the
// hashes of stand-in chunk bodies, signed by the right parties, in the
// order an honest run sends them.
func testReconTranscript(t testing.TB, p Protocol, a, b party) *ReconTranscript {
	t.Helper()
	h := testReconHeader(t, p)
	tr := &ReconTranscript{Header: *h}
	hd, err := h.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if tr.RequesterSignature, err = SignRequest(a.sign, hd); err != nil {
		t.Fatal(err)
	}
	if tr.ResponderSignature, err = SignResponse(b.sign, hd); err != nil {
		t.Fatal(err)
	}
	add := func(kind ecdh.ChunkKind, seq uint32, size int, answers [DigestSize]byte) [DigestSize]byte {
		c := int(h.ChunkSize)
		r := ChunkRecord{Kind: kind, Seq: seq, Count: uint32(min(c, size-int(seq)*c)),
			Hash: ChunkHash(fmt.Appendf(nil, "%v-%d", kind, seq)), Answers: answers}
		signer := a
		if who, _ := h.Sender(kind); who == h.Responder {
			signer = b
		}
		if err := SignRecord(signer.sign, hd, &r); err != nil {
			t.Fatal(err)
		}
		tr.Records = append(tr.Records, r)
		return r.Hash
	}
	for seq := uint32(0); int(seq)*int(h.ChunkSize) < int(h.ResponderSize); seq++ {
		hash := add(ecdh.KindResponderMasked, seq, int(h.ResponderSize), [DigestSize]byte{})
		if p == ProtocolECDHBothLearn {
			add(ecdh.KindRequesterReturn, seq, int(h.ResponderSize), hash)
		}
	}
	for seq := uint32(0); int(seq)*int(h.ChunkSize) < int(h.RequesterSize); seq++ {
		hash := add(ecdh.KindRequesterMasked, seq, int(h.RequesterSize), [DigestSize]byte{})
		add(ecdh.KindResponderReply, seq, int(h.RequesterSize), hash)
	}
	return tr
}

func TestReconTranscriptRoundTrip(t *testing.T) {
	a, b := newParty(t), newParty(t)
	for _, p := range []Protocol{ProtocolECDHBothLearn, ProtocolECDHRequesterLearns} {
		tr := testReconTranscript(t, p, a, b)
		if err := tr.Verify([][]byte{a.pub}, [][]byte{b.pub}); err != nil {
			t.Fatalf("%v: Verify: %v", p, err)
		}
		if !tr.Complete() {
			t.Fatalf("%v: complete transcript reported incomplete", p)
		}
		enc, err := tr.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseReconTranscript(enc)
		if err != nil {
			t.Fatalf("%v: parse: %v", p, err)
		}
		again, _ := back.MarshalBinary()
		if !bytes.Equal(again, enc) {
			t.Fatalf("%v: re-encoding differs", p)
		}
		if err := back.Verify([][]byte{a.pub}, [][]byte{b.pub}); err != nil {
			t.Fatalf("%v: parsed transcript: %v", p, err)
		}
	}
}

// TestReconTranscriptRejects edits an honest transcript the way a party
// presenting it to an auditor might, and expects Verify to say so.
func TestReconTranscriptRejects(t *testing.T) {
	a, b := newParty(t), newParty(t)
	cases := []struct {
		name string
		edit func(tr *ReconTranscript)
		want error
	}{
		{"reordered records", func(tr *ReconTranscript) {
			tr.Records[0], tr.Records[2] = tr.Records[2], tr.Records[0]
		}, ErrRecordOrder},
		{"replayed record", func(tr *ReconTranscript) {
			tr.Records = append(tr.Records[:3], tr.Records[2:]...)
		}, ErrRecordOrder},
		{"answer to another chunk", func(tr *ReconTranscript) {
			tr.Records[1].Answers = tr.Records[2].Hash
		}, ErrRecordOrder},
		{"wrong count", func(tr *ReconTranscript) { tr.Records[0].Count-- }, ErrRecordOrder},
		{"protocol changed after signing", func(tr *ReconTranscript) {
			tr.Header.Protocol = ProtocolECDHRequesterLearns
		}, ErrRequestSignature},
		{"chunk hash changed", func(tr *ReconTranscript) { tr.Records[0].Hash[0] ^= 1 }, ErrRecordSignature},
		{"record signed by the other party", func(tr *ReconTranscript) {
			tr.Records[0].Signature = tr.Records[1].Signature
		}, ErrRecordSignature},
		{"header sizes changed", func(tr *ReconTranscript) { tr.Header.ResponderSize++ }, ErrRequestSignature},
		{"responder key changed", func(tr *ReconTranscript) { tr.Header.ResponderKey[1] ^= 1 }, ErrRequestSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := testReconTranscript(t, ProtocolECDHBothLearn, a, b)
			tc.edit(tr)
			err := tr.Verify([][]byte{a.pub}, [][]byte{b.pub})
			if err == nil {
				t.Fatal("Verify accepted an edited transcript")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("truncated stream is incomplete", func(t *testing.T) {
		tr := testReconTranscript(t, ProtocolECDHBothLearn, a, b)
		tr.Records = tr.Records[:len(tr.Records)-1]
		if err := tr.Verify([][]byte{a.pub}, [][]byte{b.pub}); err != nil {
			t.Fatal(err)
		}
		if tr.Complete() {
			t.Fatal("a transcript missing its last reply is complete")
		}
	})
}

func TestReconHeaderSessionContextIgnoresKeys(t *testing.T) {
	h := testReconHeader(t, ProtocolECDHBothLearn)
	c1, err := h.SessionContext()
	if err != nil {
		t.Fatal(err)
	}
	h.RequesterKey[5] = 9
	c2, _ := h.SessionContext()
	if !bytes.Equal(c1, c2) {
		t.Fatal("session context depends on the keys")
	}
	h.Sequence++
	c3, _ := h.SessionContext()
	if bytes.Equal(c1, c3) {
		t.Fatal("session context does not depend on the sequence number")
	}
}

func FuzzParseReconTranscript(f *testing.F) {
	a, b := newParty(f), newParty(f)
	for _, p := range []Protocol{ProtocolECDHBothLearn, ProtocolECDHRequesterLearns} {
		enc, err := testReconTranscript(f, p, a, b).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
		f.Add(enc[:len(enc)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseReconTranscript(data)
		if err != nil {
			return
		}
		reencodes(t, data, tr)
		if len(tr.Records) > tr.Header.maxRecords() {
			t.Fatalf("%d records accepted, header allows %d", len(tr.Records), tr.Header.maxRecords())
		}
	})
}

// FuzzParseReconHeader: the header parser alone, which a node runs on the
// peer's proposal before it signs anything.
func FuzzParseReconHeader(f *testing.F) {
	for _, p := range []Protocol{ProtocolECDHBothLearn, ProtocolECDHRequesterLearns} {
		enc, err := testReconHeader(f, p).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseReconHeader(data)
		if err != nil {
			return
		}
		reencodes(t, data, h)
		if _, err := h.Params(); err != nil {
			t.Fatalf("parsed header gives no session parameters: %v", err)
		}
	})
}

// reencodes fails t unless v, just parsed from data, encodes back to
// exactly data: the parser accepts canonical encodings only.
func reencodes(t *testing.T, data []byte, v interface{ MarshalBinary() ([]byte, error) }) {
	t.Helper()
	enc, err := v.MarshalBinary()
	if err != nil {
		t.Fatalf("parsed %T does not re-encode: %v", v, err)
	}
	if !bytes.Equal(enc, data) {
		t.Fatalf("non-canonical %T accepted:\n in %x\nout %x", v, data, enc)
	}
}
