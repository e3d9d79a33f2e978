package chaincode

import (
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// TestAdversaryForgedSignaturesInALargeBatch plays a responder that hides
// forged signatures in a batch large enough for Record to verify with the
// parties' key tables (tableFrom entries and more): each forgery is
// rejected with bad_signature, every honest entry around it is recorded.
func TestAdversaryForgedSignaturesInALargeBatch(t *testing.T) {
	c, st, sign := responderB(t)
	otherKey, _, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other := ecsig.NewSigner(otherKey, rand.Reader)

	n := uint64(2 * tableFrom)
	batch := make([]Entry, n)
	for i := range batch {
		batch[i] = signedEntry(t, sign, "A", uint64(i)+1, 0)
	}
	highS := func(sig []byte) []byte {
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(sig, &rs); err != nil {
			t.Fatal(err)
		}
		b, _ := asn1.Marshal(struct{ R, S *big.Int }{rs.R, new(big.Int).Sub(elliptic.P256().Params().N, rs.S)})
		return b
	}
	forge := map[int]func(e *Entry){
		tableFrom + 1: func(e *Entry) { // the requester's signature by another key
			h, _ := transcript.ParseHeader(e.Header)
			d, _ := transcript.RequestDigest(h, [32]byte(e.RequestHash))
			e.RequesterSignature, _ = other(d[:])
		},
		tableFrom + 2: func(e *Entry) { // the responder's signature of another entry
			e.ResponderSignature = batch[0].ResponderSignature
		},
		tableFrom + 3: func(e *Entry) { e.RequesterSignature = highS(e.RequesterSignature) },
		tableFrom + 4: func(e *Entry) { e.ResponderSignature = highS(e.ResponderSignature) },
		tableFrom + 5: func(e *Entry) { // a response hash the responder did not sign
			e.ResponseHash = append([]byte{e.ResponseHash[0] ^ 1}, e.ResponseHash[1:]...)
		},
		int(n) - 1: func(e *Entry) { // one flipped bit in the requester's signature
			s := append([]byte(nil), e.RequesterSignature...)
			s[len(s)-1] ^= 1
			e.RequesterSignature = s
		},
	}
	for i, f := range forge {
		f(&batch[i])
	}
	for i, o := range record(t, c, st, batch) {
		if forge[i] != nil {
			if o.Status != OutcomeRejected || o.Code != CodeBadSignature {
				t.Errorf("forged entry %d: %+v, want rejected with bad_signature", i, o)
			}
		} else if o.Status != OutcomeRecorded {
			t.Errorf("honest entry %d: %+v, want recorded", i, o)
		}
	}
}

// TestSignerBuildsATableFromTableFrom checks where Record switches to a
// key table: at tableFrom entries naming the party, not below.
func TestSignerBuildsATableFromTableFrom(t *testing.T) {
	_, pub, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecsig.ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if newSigner(key, tableFrom-1).table != nil {
		t.Errorf("a table for %d entries", tableFrom-1)
	}
	if newSigner(key, tableFrom).table == nil {
		t.Errorf("no table for %d entries", tableFrom)
	}
}
