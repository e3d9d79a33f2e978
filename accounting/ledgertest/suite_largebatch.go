package ledgertest

import (
	"crypto/elliptic"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
)

const (
	// largeBatch is the size of the batch recordLargeBatch sends: well past
	// the 64 entries naming a party from which Record verifies that party's
	// signatures with a table of its key's multiples (docs/ledger.md, Record,
	// step 8), so that path is the one checked on every backend.
	largeBatch = 150
	// largeBatchPrice is the catalog price of the step's own category.
	largeBatchPrice = 2
)

// recordLargeBatch plays a responder hiding forged signatures in a batch
// large enough for both parties' key tables, past its 64th entry: another
// organisation's signature in the requester's place and in the
// responder's, a high-S copy of a valid signature, a response hash the
// responder did not sign, another entry's responder signature, one bit
// flipped. It also repeats an entry of the batch (duplicate) and puts a
// different entry under an earlier entry's key (conflict). Each forgery is
// refused with bad_signature and not stored, every honest entry is
// recorded once, and the requester's exposure grows by exactly the honest
// entries' amounts. Sent again, the batch records nothing new and refuses
// the forgeries again.
func (s *scenario) recordLargeBatch(t *testing.T) {
	b1, b2, b3 := &s.h.Bank1, &s.h.Bank2, &s.h.Bank3
	cat := s.category("large")
	p := s.openPriced(t, categoryPrices{category: cat, catalog: largeBatchPrice})
	entry := func(count uint32, o entryOpts) accounting.Entry {
		return s.entry(t, b1, b3, cat, p.Number, count, largeBatchPrice, o)
	}
	batch := make([]accounting.Entry, largeBatch)
	for i := range batch {
		batch[i] = entry(uint32(i%7+1), entryOpts{})
	}
	forged := map[int]accounting.Entry{
		70:  entry(3, entryOpts{requesterSign: b2}),
		80:  entry(3, entryOpts{responderSign: b2}),
		90:  withSignatures(batch[90], highS(t, batch[90].RequesterSignature), batch[90].ResponderSignature),
		100: withResponseHash(batch[100], flipLastBit(batch[100].ResponseHash)),
		110: withSignatures(batch[110], batch[110].RequesterSignature, batch[0].ResponderSignature),
		largeBatch - 1: withSignatures(batch[largeBatch-1], flipLastBit(batch[largeBatch-1].RequesterSignature),
			batch[largeBatch-1].ResponderSignature),
	}
	for i, e := range forged {
		batch[i] = e
	}
	const dup, conflicting = 120, 121
	batch[dup] = batch[5]
	batch[conflicting] = entry(2, entryOpts{seq: keyOf(t, batch[6]).Sequence, responseSalt: 1})

	before := s.unsettled(t, Bank1MSP)
	outs, err := b3.Ledger.Record(ctx(t), batch)
	must(t, err)
	var billed int64
	for i, o := range outs {
		switch _, bad := forged[i]; {
		case bad:
			wantOutcome(t, o, accounting.OutcomeRejected, chaincode.CodeBadSignature)
		case i == dup:
			wantOutcome(t, o, accounting.OutcomeDuplicate, "")
		case i == conflicting:
			wantOutcome(t, o, accounting.OutcomeRejected, chaincode.CodeConflict)
		default:
			wantOutcome(t, o, accounting.OutcomeRecorded, "")
			billed += batch[i].Amount
		}
	}
	for i := range forged {
		_, err := b1.Ledger.Entry(ctx(t), keyOf(t, batch[i]))
		wantErr(t, err, accounting.ErrNotFound)
	}
	if got := s.unsettled(t, Bank1MSP); got != before+billed {
		t.Fatalf("Bank1's unsettled spend %d after the batch, want %d + %d", got, before, billed)
	}

	outs, err = b3.Ledger.Record(ctx(t), batch)
	must(t, err)
	for i, o := range outs {
		switch _, bad := forged[i]; {
		case bad:
			wantOutcome(t, o, accounting.OutcomeRejected, chaincode.CodeBadSignature)
		case i == conflicting:
			wantOutcome(t, o, accounting.OutcomeRejected, chaincode.CodeConflict)
		default:
			wantOutcome(t, o, accounting.OutcomeDuplicate, "")
		}
	}
	if got := s.unsettled(t, Bank1MSP); got != before+billed {
		t.Fatalf("Bank1's unsettled spend %d after the batch was sent again, want %d", got, before+billed)
	}
}

// Sizes of recordSmallBatches: enough small batches to name both parties
// past the 64 verifications from which a contract instance keeps their
// key tables across transactions (the contract's ecsig.Keys), then forgeries in
// batches of a few entries, as a node sends them one at a time.
const (
	smallBatches   = 8
	smallBatchSize = 9
)

// recordSmallBatches plays a responder whose node sends a few entries per
// Record, one Record after another, so that the ledger verifies its
// entries with key tables kept from earlier transactions: forged
// signatures hidden in later small batches (another organisation's in the
// requester's place, a high-S copy, a flipped bit, another entry's
// responder signature) are each refused with bad_signature, and the honest
// entries around them are recorded and billed once.
func (s *scenario) recordSmallBatches(t *testing.T) {
	b1, b2, b3 := &s.h.Bank1, &s.h.Bank2, &s.h.Bank3
	cat := s.category("small")
	p := s.openPriced(t, categoryPrices{category: cat, catalog: largeBatchPrice})
	entry := func(o entryOpts) accounting.Entry {
		return s.entry(t, b1, b3, cat, p.Number, 2, largeBatchPrice, o)
	}
	before := s.unsettled(t, Bank1MSP)
	var billed int64
	for range smallBatches {
		batch := make([]accounting.Entry, smallBatchSize)
		for i := range batch {
			batch[i] = entry(entryOpts{})
		}
		outs, err := b3.Ledger.Record(ctx(t), batch)
		must(t, err)
		for i, o := range outs {
			wantOutcome(t, o, accounting.OutcomeRecorded, "")
			billed += batch[i].Amount
		}
	}
	honest := entry(entryOpts{})
	forgeries := []accounting.Entry{
		entry(entryOpts{requesterSign: b2}),
		withSignatures(honest, highS(t, honest.RequesterSignature), honest.ResponderSignature),
		withSignatures(honest, flipLastBit(honest.RequesterSignature), honest.ResponderSignature),
		withSignatures(honest, honest.RequesterSignature, entry(entryOpts{}).ResponderSignature),
	}
	for _, forged := range forgeries {
		batch := []accounting.Entry{entry(entryOpts{}), forged, entry(entryOpts{})}
		outs, err := b3.Ledger.Record(ctx(t), batch)
		must(t, err)
		for i, o := range outs {
			if i == 1 {
				wantOutcome(t, o, accounting.OutcomeRejected, chaincode.CodeBadSignature)
				continue
			}
			wantOutcome(t, o, accounting.OutcomeRecorded, "")
			billed += batch[i].Amount
		}
		_, err = b1.Ledger.Entry(ctx(t), keyOf(t, forged))
		wantErr(t, err, accounting.ErrNotFound)
	}
	if got := s.unsettled(t, Bank1MSP); got != before+billed {
		t.Fatalf("Bank1's unsettled spend %d after the small batches, want %d + %d", got, before, billed)
	}
}

// unsettled returns msp's unsettled spend from the exposures.
func (s *scenario) unsettled(t *testing.T, msp string) int64 {
	t.Helper()
	got, err := s.h.Bank2.Ledger.Exposures(ctx(t))
	must(t, err)
	for _, x := range got {
		if x.MSPID == msp {
			return x.Unsettled
		}
	}
	t.Fatalf("no exposure of %s", msp)
	return 0
}

func withSignatures(e accounting.Entry, requester, responder []byte) accounting.Entry {
	e.RequesterSignature, e.ResponderSignature = requester, responder
	return e
}

func withResponseHash(e accounting.Entry, h []byte) accounting.Entry {
	e.ResponseHash = h
	return e
}

func flipLastBit(b []byte) []byte {
	out := append([]byte(nil), b...)
	out[len(out)-1] ^= 1
	return out
}

// highS returns the other valid-looking form of an ECDSA signature, (r,
// n − s), which the contract refuses (low-S only) so that a signature has
// one encoding.
func highS(t *testing.T, sig []byte) []byte {
	t.Helper()
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 {
		t.Fatalf("signature does not parse: %v", err)
	}
	out, err := asn1.Marshal(struct{ R, S *big.Int }{rs.R, new(big.Int).Sub(elliptic.P256().Params().N, rs.S)})
	must(t, err)
	return out
}
