package chaincode

import (
	"bytes"
	"fmt"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Reconciliation entries (docs/reconciliation.md, "Accounting"). A
// reconciliation is billed like a catalog answer, by its responder, but its
// evidence is the ReconHeader both parties signed before the first chunk:
//
//   - Header is the encoded transcript.ReconHeader;
//   - RequestHash and ResponseHash are both the header's digest, which is
//     what both signatures are over (a reconciliation has no request and
//     response bodies; its chunks are recorded in the transcript each side
//     keeps, which a dispute presents);
//   - RequesterSignature and ResponderSignature are the two header
//     signatures;
//   - Amount is (n + m) × the reconciliation price of the header's category
//     for the responder, n and m being the sizes the header fixes.
//
// The requester is billed and the responder records, as for every entry.

// NewReconEntry builds the entry that bills a reconciliation: h's
// encoding, its digest as both hashes, the two parties' signatures over
// that digest, and amount.
func NewReconEntry(h *transcript.ReconHeader, requesterSignature, responderSignature []byte, amount int64) (Entry, error) {
	hdr, err := h.MarshalBinary()
	if err != nil {
		return Entry{}, err
	}
	d, err := h.Digest()
	if err != nil {
		return Entry{}, err
	}
	return Entry{Header: hdr, RequestHash: d[:], ResponseHash: bytes.Clone(d[:]),
		RequesterSignature: bytes.Clone(requesterSignature), ResponderSignature: bytes.Clone(responderSignature),
		Amount: amount}, nil
}

// isReconHeader reports whether an entry's header is a reconciliation
// header: its protocol byte (the second, in both header formats) names an
// ECDH-PSI mode. Anything else is parsed as a catalog header.
func isReconHeader(header []byte) bool {
	return len(header) >= 2 && transcript.Protocol(header[1]).IsECDH()
}

// EntryKeyOf derives the ledger key of an entry from its header, either
// format, as Record does.
func EntryKeyOf(header []byte) (EntryKey, error) {
	if isReconHeader(header) {
		h, err := transcript.ParseReconHeader(header)
		if err != nil {
			return EntryKey{}, err
		}
		return EntryKey{Period: h.Period, Requester: h.Requester, Responder: h.Responder, Sequence: h.Sequence}, nil
	}
	h, err := transcript.ParseHeader(header)
	if err != nil {
		return EntryKey{}, err
	}
	return EntryKey{Period: h.Period, Requester: h.Requester, Responder: h.Responder, Sequence: h.Sequence}, nil
}

// parseRecon is parse for a reconciliation entry: the header, its key,
// that the caller is its responder, that both hashes are the header's
// digest and the signatures' sizes. The parsed header is kept for one.
func (r *recordTx) parseRecon(e *Entry) (EntryKey, error) {
	if len(e.Header) > transcript.MaxReconHeaderSize {
		return EntryKey{}, newError(CodeInvalidArgument, "reconciliation header too long")
	}
	h, err := transcript.ParseReconHeader(e.Header)
	if err != nil {
		return EntryKey{}, newError(CodeInvalidArgument, "reconciliation header: "+err.Error())
	}
	key := EntryKey{Period: h.Period, Requester: h.Requester, Responder: h.Responder, Sequence: h.Sequence}
	if err := key.Validate(); err != nil {
		return key, err
	}
	if h.Responder != r.caller {
		return key, newError(CodeForbidden, "only the header's responder records an entry")
	}
	d, err := h.Digest()
	if err != nil {
		return key, newError(CodeInvalidArgument, "reconciliation header: "+err.Error())
	}
	if !bytes.Equal(e.RequestHash, d[:]) || !bytes.Equal(e.ResponseHash, d[:]) {
		return key, newError(CodeInvalidArgument, "a reconciliation entry's hashes are its header's digest")
	}
	for _, sig := range [][]byte{e.RequesterSignature, e.ResponderSignature} {
		if len(sig) == 0 || len(sig) > ecsig.MaxSignatureSize {
			return key, newError(CodeInvalidArgument, "signature missing or too long")
		}
	}
	r.recons[e] = h
	return key, nil
}

// oneRecon checks a reconciliation entry that parseRecon accepted, once
// one has found it is no duplicate, its period open and the parties'
// registered keys (the requester billable as a requester, the responder as
// a provider): the amount, (n + m) items at the reconciliation price, and
// both header signatures. A category without a reconciliation price is
// refused: no catalog or live price stands in for it.
func (r *recordTx) oneRecon(e *Entry, h *transcript.ReconHeader, key EntryKey, p *Period, reqKeys, respKeys []ecsig.Verifier) (OutcomeStatus, error) {
	price, ok := p.Price(h.Category, ModeReconcile, h.Responder)
	if !ok {
		return "", newError(CodeInvalidArgument, fmt.Sprintf("category %s has no usable %s price in period %d", h.Category, ModeReconcile, p.Number))
	}
	// Each size is at most ecdh.MaxReconItems (2^24): the sum fits.
	count := h.RequesterSize + h.ResponderSize
	amount, err := amountFor(price, count)
	if err != nil {
		return "", err
	}
	if e.Amount != amount {
		return "", newError(CodeWrongAmount, fmt.Sprintf("%d + %d items x %d = %d, entry bills %d",
			h.RequesterSize, h.ResponderSize, price, amount, e.Amount))
	}
	if !verifiesUnder(reqKeys, e.RequestHash, e.RequesterSignature) {
		return "", newError(CodeBadSignature, "requester signature over the reconciliation header does not verify")
	}
	if !verifiesUnder(respKeys, e.ResponseHash, e.ResponderSignature) {
		return "", newError(CodeBadSignature, "responder signature over the reconciliation header does not verify")
	}
	return r.put(e, key, h.Category, count)
}
