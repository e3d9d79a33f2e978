package chaincode

import (
	"bytes"
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
// parties' key tables (ecsig.TableFrom entries and more): each forgery is
// rejected with bad_signature, every honest entry around it is recorded.
func TestAdversaryForgedSignaturesInALargeBatch(t *testing.T) {
	c, st, sign := responderB(t)
	otherKey, _, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other := ecsig.NewSigner(otherKey, rand.Reader)

	n := uint64(2 * ecsig.TableFrom)
	batch := make([]Entry, n)
	for i := range batch {
		batch[i] = signedEntry(t, sign, "A", uint64(i)+1, 0)
	}
	forge := map[int]func(e *Entry){
		ecsig.TableFrom + 1: func(e *Entry) { // the requester's signature by another key
			h, _ := transcript.ParseHeader(e.Header)
			d, _ := transcript.RequestDigest(h, [32]byte(e.RequestHash))
			e.RequesterSignature, _ = other(d[:])
		},
		ecsig.TableFrom + 2: func(e *Entry) { // the responder's signature of another entry
			e.ResponderSignature = batch[0].ResponderSignature
		},
		ecsig.TableFrom + 3: func(e *Entry) { e.RequesterSignature = highS(t, e.RequesterSignature) },
		ecsig.TableFrom + 4: func(e *Entry) { e.ResponderSignature = highS(t, e.ResponderSignature) },
		ecsig.TableFrom + 5: func(e *Entry) { // a response hash the responder did not sign
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

// highS returns sig with s replaced by n - s: the same signature in its
// high-S form, which verification refuses.
func highS(t *testing.T, sig []byte) []byte {
	t.Helper()
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(sig, &rs); err != nil {
		t.Fatal(err)
	}
	b, err := asn1.Marshal(struct{ R, S *big.Int }{rs.R, new(big.Int).Sub(elliptic.P256().Params().N, rs.S)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAdversaryForgedSignaturesAfterTablesAcrossRecords plays a responder
// that first records enough small batches for both parties' keys to get
// tables kept across transactions, then hides forged signatures in small
// batches: each forgery is rejected with bad_signature, every honest entry
// is recorded, as on a contract instance that never built a table.
func TestAdversaryForgedSignaturesAfterTablesAcrossRecords(t *testing.T) {
	c, st, sign := responderB(t)
	seq := uint64(0)
	next := func() Entry { seq++; return signedEntry(t, sign, "A", seq, 0) }
	for range ecsig.TableFrom/4 + 1 {
		batch := []Entry{next(), next(), next(), next()}
		for i, o := range record(t, c, st, batch) {
			if o.Status != OutcomeRecorded {
				t.Fatalf("honest entry %d: %+v", i, o)
			}
		}
	}
	if tables := c.keys.Tables(); tables != 2 {
		t.Fatalf("%d key tables after %d entries in batches of 4, want the requester's and the responder's", tables, seq)
	}
	forgeries := []func(e *Entry){
		func(e *Entry) { e.ResponderSignature = signedEntry(t, sign, "A", 1, 0).ResponderSignature },
		func(e *Entry) { e.RequesterSignature = highS(t, e.RequesterSignature) },
		func(e *Entry) { e.ResponseHash = append([]byte{e.ResponseHash[0] ^ 1}, e.ResponseHash[1:]...) },
		func(e *Entry) {
			s := bytes.Clone(e.RequesterSignature)
			s[len(s)-1] ^= 1
			e.RequesterSignature = s
		},
	}
	for _, forge := range forgeries {
		batch := []Entry{next(), next(), next()}
		forge(&batch[1])
		for i, o := range record(t, c, st, batch) {
			if i == 1 && (o.Status != OutcomeRejected || o.Code != CodeBadSignature) {
				t.Errorf("forged entry: %+v, want rejected with bad_signature", o)
			}
			if i != 1 && o.Status != OutcomeRecorded {
				t.Errorf("honest entry %d: %+v, want recorded", i, o)
			}
		}
	}
}
