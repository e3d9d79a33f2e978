package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/bits"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Ledger is what verification reads: an accounting.Ledger of any backend
// and any identity satisfies it (the reads are open to every member).
type Ledger interface {
	Entry(ctx context.Context, key accounting.EntryKey) (*accounting.RecordedEntry, error)
	Institution(ctx context.Context, mspID string) (*accounting.Institution, error)
	Period(ctx context.Context, n uint64) (*accounting.Period, error)
}

var _ Ledger = accounting.Ledger(nil)

// KeyOf returns the ledger key of the entry that bills the exchange h
// describes.
func KeyOf(h *transcript.Header) accounting.EntryKey {
	return accounting.EntryKey{Period: h.Period, Requester: h.Requester, Responder: h.Responder, Sequence: h.Sequence}
}

// ledgerFacts is what Verify reads from the ledger for one transcript; a nil
// field is a record the ledger does not have.
type ledgerFacts struct {
	entry     *accounting.RecordedEntry
	period    *accounting.Period
	requester *accounting.Institution
	responder *accounting.Institution
}

// Verify checks the transcript t against the ledger and reports every check
// by name (see the Check* constants). It returns an error only when t is not
// a consistent transcript (its parts disagree with its header) or when the
// ledger could not be read (ErrLedger): a missing entry or institution is a
// failed check, not an error.
func Verify(ctx context.Context, t *transcript.Transcript, l Ledger) (*Report, error) {
	h := &t.Header
	d, err := t.Digests()
	if err != nil {
		return nil, fmt.Errorf("audit: transcript: %w", err)
	}
	hdr, err := h.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("audit: transcript header: %w", err)
	}
	key := KeyOf(h)
	var f ledgerFacts
	if f.entry, err = find(l.Entry(ctx, key)); err != nil {
		return nil, fmt.Errorf("%w: entry %s: %w", ErrLedger, key.String(), err)
	}
	if f.period, err = find(l.Period(ctx, h.Period)); err != nil {
		return nil, fmt.Errorf("%w: period %d: %w", ErrLedger, h.Period, err)
	}
	if f.requester, err = find(l.Institution(ctx, h.Requester)); err != nil {
		return nil, fmt.Errorf("%w: institution %s: %w", ErrLedger, h.Requester, err)
	}
	if f.responder, err = find(l.Institution(ctx, h.Responder)); err != nil {
		return nil, fmt.Errorf("%w: institution %s: %w", ErrLedger, h.Responder, err)
	}

	r := &Report{Key: key, Protocol: h.Protocol.String(), Category: h.Category, Count: h.Count}
	if f.period != nil {
		r.PeriodState = f.period.State
	}
	e := f.entry
	const noEntry = "no ledger entry to compare with"
	if e == nil {
		r.add(CheckEntry, Fail, "no entry under %s: the exchange was never billed", key.String())
		r.add(CheckHeader, Skip, noEntry)
		r.add(CheckRequestHash, Skip, noEntry)
		r.add(CheckResponseHash, Skip, noEntry)
	} else {
		r.add(CheckEntry, Pass, "recorded in transaction %s", e.TxID)
		if bytes.Equal(e.Header, hdr) {
			r.add(CheckHeader, Pass, "the stored header is the transcript's")
		} else {
			r.add(CheckHeader, Fail, "the stored header differs from the transcript's")
		}
		compareHash(r, CheckRequestHash, d.RequestHash, e.RequestHash)
		compareHash(r, CheckResponseHash, d.ResponseHash, e.ResponseHash)
	}
	// The ledger verified the stored signatures when it recorded the entry;
	// a stored signature stands for the key registered then only if the
	// stored digests are the ones recomputed here.
	var storedReq, storedResp []byte
	if e != nil && bytes.Equal(e.Header, hdr) && bytes.Equal(e.RequestHash, d.RequestHash[:]) {
		storedReq = e.RequesterSignature
		if bytes.Equal(e.ResponseHash, d.ResponseHash[:]) {
			storedResp = e.ResponderSignature
		}
	}
	checkSignature(r, CheckRequesterSignature, "requester", h.Requester, f.requester, d.RequestDigest, t.RequestSignature, storedReq)
	checkSignature(r, CheckResponderSignature, "responder", h.Responder, f.responder, d.ResponseDigest, t.ResponseSignature, storedResp)
	checkProof(r, t, f.responder)
	checkAmount(r, h, e, f.period)
	switch {
	case e == nil:
		r.add(CheckReversal, Skip, noEntry)
	case e.Reversal != nil:
		r.add(CheckReversal, Fail, "reversed with auditor %s's endorsement in transaction %s", e.Reversal.Auditor, e.Reversal.TxID)
	case r.PeriodState == accounting.PeriodSnapshotted:
		r.add(CheckReversal, Pass, "the charge stands; period %d is snapshotted, so it is final", h.Period)
	default:
		r.add(CheckReversal, Pass, "the charge stands; reversible with an endorsement until period %d is snapshotted", h.Period)
	}
	return r, nil
}

// find turns the ledger's "not found" into a nil record.
func find[T any](v *T, err error) (*T, error) {
	if errors.Is(err, accounting.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

func compareHash(r *Report, name string, computed [transcript.DigestSize]byte, stored []byte) {
	if bytes.Equal(computed[:], stored) {
		r.add(name, Pass, "%x", computed)
		return
	}
	r.add(name, Fail, "recomputed %x, ledger has %x", computed, stored)
}

// checkSignature verifies sig over digest against the party's registered
// key. If the key has been rotated since the entry was recorded, a
// signature byte-identical to the stored one (stored is nil unless the
// stored digests equal the recomputed ones) still passes: the chaincode
// verified it against the key registered at that time.
func checkSignature(r *Report, name, role, msp string, inst *accounting.Institution, digest [transcript.DigestSize]byte, sig, stored []byte) {
	switch {
	case inst == nil:
		r.add(name, Fail, "%s %s is not registered on the ledger", role, msp)
	case len(inst.SigningKey) > 0 && ecsig.Verify(inst.SigningKey, digest[:], sig) == nil:
		r.add(name, Pass, "verifies against %s's registered signing key", msp)
	case stored != nil && bytes.Equal(sig, stored):
		r.add(name, Pass, "does not verify against %s's current key, but is the signature the ledger verified when it recorded the entry (the key was rotated since)", msp)
	case len(inst.SigningKey) == 0:
		r.add(name, Fail, "%s %s has no registered signing key", role, msp)
	default:
		r.add(name, Fail, "does not verify against %s's registered signing key over the recomputed digest", msp)
	}
}

// checkProof adds the oprf-key and proof checks.
func checkProof(r *Report, t *transcript.Transcript, responder *accounting.Institution) {
	h := &t.Header
	if h.Protocol != transcript.ProtocolCatalogOPRF {
		r.add(CheckOPRFKey, Skip, "%s uses no provider OPRF key", h.Protocol)
		r.add(CheckProof, Skip, "%s answers carry no proof", h.Protocol)
		return
	}
	pub, ok := registeredKey(r, h, responder)
	if !ok {
		r.add(CheckProof, Skip, "no registered key to check the proof against")
		return
	}
	info := catalogpsi.Info(h.Category, h.Period)
	blinded := bytes.Join(t.Request.Elements, nil)
	evaluated := bytes.Join(t.Response.Evaluated, nil)
	if err := oprf.VerifyProof(pub, info, blinded, evaluated, t.Response.Proof); err != nil {
		r.add(CheckProof, Fail, "does not verify against the registered key with info %q: %v", info, err)
		return
	}
	r.add(CheckProof, Pass, "verifies against the registered key with info %q", info)
}

// registeredKey adds the oprf-key check and returns the provider's
// registered key when the header names it.
func registeredKey(r *Report, h *transcript.Header, responder *accounting.Institution) (*oprf.PublicKey, bool) {
	if h.Suite != catalogpsi.Suite {
		r.add(CheckOPRFKey, Fail, "suite %s is not the consortium's OPRF suite %s", h.Suite, catalogpsi.Suite)
		return nil, false
	}
	if responder == nil {
		r.add(CheckOPRFKey, Fail, "provider %s is not registered on the ledger", h.Responder)
		return nil, false
	}
	raw, ok := responder.OPRFKeys[h.Category]
	if !ok {
		r.add(CheckOPRFKey, Fail, "provider %s has no OPRF key registered for %s", h.Responder, h.Category)
		return nil, false
	}
	pub := new(oprf.PublicKey)
	if err := pub.UnmarshalBinary(raw); err != nil {
		r.add(CheckOPRFKey, Fail, "the registered OPRF key of %s for %s does not decode: %v", h.Responder, h.Category, err)
		return nil, false
	}
	if id := pub.KeyID(); id != h.KeyID {
		r.add(CheckOPRFKey, Fail, "the request names key %x but %s's registered key for %s is %x (rotated since, or a wrong key); the ledger keeps no earlier keys", h.KeyID, h.Responder, h.Category, id)
		return nil, false
	}
	r.add(CheckOPRFKey, Pass, "key %x is %s's registered key for %s", h.KeyID, h.Responder, h.Category)
	return pub, true
}

// checkAmount adds the amount check: the entry bills count x the price the
// period captured when it opened.
func checkAmount(r *Report, h *transcript.Header, e *accounting.RecordedEntry, p *accounting.Period) {
	if e == nil {
		r.add(CheckAmount, Skip, "no ledger entry to compare with")
		return
	}
	if p == nil {
		r.add(CheckAmount, Fail, "period %d is not on the ledger", h.Period)
		return
	}
	price, ok := p.Prices[h.Category]
	if !ok {
		r.add(CheckAmount, Fail, "period %d has no price for %s", h.Period, h.Category)
		return
	}
	hi, want := bits.Mul64(uint64(h.Count), uint64(price))
	if price < 0 || hi != 0 || want > 1<<63-1 {
		r.add(CheckAmount, Fail, "%d item(s) x %d token(s) is out of range", h.Count, price)
		return
	}
	if e.Count != h.Count || e.Amount != int64(want) {
		r.add(CheckAmount, Fail, "the ledger bills %d token(s) for %d item(s); %d item(s) x %d token(s) = %d", e.Amount, e.Count, h.Count, price, want)
		return
	}
	r.add(CheckAmount, Pass, "%d item(s) x %d token(s) = %d", h.Count, price, want)
}
