package chaincode

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"fmt"
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
	forge := map[int]func(e *Entry){
		tableFrom + 1: func(e *Entry) { // the requester's signature by another key
			h, _ := transcript.ParseHeader(e.Header)
			d, _ := transcript.RequestDigest(h, [32]byte(e.RequestHash))
			e.RequesterSignature, _ = other(d[:])
		},
		tableFrom + 2: func(e *Entry) { // the responder's signature of another entry
			e.ResponderSignature = batch[0].ResponderSignature
		},
		tableFrom + 3: func(e *Entry) { e.RequesterSignature = highS(t, e.RequesterSignature) },
		tableFrom + 4: func(e *Entry) { e.ResponderSignature = highS(t, e.ResponderSignature) },
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
	for range tableFrom/4 + 1 {
		batch := []Entry{next(), next(), next(), next()}
		for i, o := range record(t, c, st, batch) {
			if o.Status != OutcomeRecorded {
				t.Fatalf("honest entry %d: %+v", i, o)
			}
		}
	}
	c.tables.mu.Lock()
	tables := len(c.tables.tables)
	c.tables.mu.Unlock()
	if tables != 2 {
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

// TestKeyTables checks when a key gets a table kept across transactions:
// once it has been named for tableFrom verifications in all, in one batch
// or several; at most maxTables are kept, the least recently used leaving
// first; and the uses of keys without one are counted for at most
// maxCounted keys.
func TestKeyTables(t *testing.T) {
	keys := make([]*ecdsa.PublicKey, maxTables+1)
	for i := range keys {
		_, pub, err := ecsig.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if keys[i], err = ecsig.ParsePublicKey(pub); err != nil {
			t.Fatal(err)
		}
	}
	der := func(i int) string { return fmt.Sprint("key", i) }
	t.Run("one batch", func(t *testing.T) {
		var kt keyTables
		if kt.table(der(0), keys[0], tableFrom-1) != nil {
			t.Errorf("a table after %d uses", tableFrom-1)
		}
		if kt.table(der(1), keys[1], tableFrom) == nil {
			t.Errorf("no table after %d uses", tableFrom)
		}
	})
	t.Run("several batches", func(t *testing.T) {
		var kt keyTables
		for range tableFrom/8 - 1 {
			if kt.table(der(0), keys[0], 8) != nil {
				t.Fatal("a table before tableFrom uses")
			}
		}
		first := kt.table(der(0), keys[0], 8)
		if first == nil {
			t.Fatalf("no table after %d uses", tableFrom)
		}
		if kt.table(der(0), keys[0], 1) != first {
			t.Error("the table was not kept")
		}
	})
	t.Run("least recently used leaves", func(t *testing.T) {
		var kt keyTables
		for i := range maxTables {
			kt.table(der(i), keys[i], tableFrom)
		}
		kt.table(der(0), keys[0], 1) // key 1 is now the least recently used
		kt.table(der(maxTables), keys[maxTables], tableFrom)
		if len(kt.tables) != maxTables || kt.tables[der(1)] != nil || kt.tables[der(0)] == nil || kt.tables[der(maxTables)] == nil {
			t.Errorf("after %d keys: %d tables, key 1's %v, key 0's %v", maxTables+1, len(kt.tables), kt.tables[der(1)] != nil, kt.tables[der(0)] != nil)
		}
	})
	t.Run("counts are bounded", func(t *testing.T) {
		var kt keyTables
		kt.table(der(0), keys[0], tableFrom-1)
		for i := range maxCounted {
			kt.table(fmt.Sprint("other", i), keys[1], 1)
		}
		if len(kt.uses) > maxCounted {
			t.Fatalf("%d keys counted, bound %d", len(kt.uses), maxCounted)
		}
		if kt.table(der(0), keys[0], 1) != nil {
			t.Error("a table from a count that should have started again")
		}
	})
}
