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
	Catalog(ctx context.Context, provider, category string, period uint64) (*accounting.Catalog, error)
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
	catalog   *accounting.Catalog // the responder's for the header's category and period
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
	if provesOPRF(h.Protocol) {
		if f.catalog, err = find(l.Catalog(ctx, h.Responder, h.Category, h.Period)); err != nil {
			return nil, fmt.Errorf("%w: catalog of %s for %s in period %d: %w", ErrLedger, h.Responder, h.Category, h.Period, err)
		}
	}

	r := &Report{Key: key, Protocol: h.Protocol.String(), Category: h.Category, Count: h.Count}
	if provesOPRF(h.Protocol) {
		r.ProofRule = h.ProofRule.String()
	}
	if f.period != nil {
		r.PeriodState = f.period.State
	}
	e := f.entry
	checkStored(r, "exchange", e, hdr, d.RequestHash, d.ResponseHash)
	checkSignature(r, CheckRequesterSignature, "requester", h, h.Requester, f.requester, d.RequestDigest, t.RequestSignature)
	checkSignature(r, CheckResponderSignature, "responder", h, h.Responder, f.responder, d.ResponseDigest, t.ResponseSignature)
	checkProof(r, t, f.catalog, f.responder)
	checkAmount(r, h, e, f.period)
	checkReversal(r, e)
	if h.Protocol == transcript.ProtocolLiveHE {
		r.add(CheckLiveStep, Skip, liveUndecidable)
	}
	return r, nil
}

// liveUndecidable is why the homomorphic step of a live exchange is never
// decided (docs/protocol/hepsi.md section 8).
const liveUndecidable = "undecidable: the homomorphic answer carries no proof, and the auditor holds neither the provider's list nor the requester's secret key, so whether it was computed from the provider's list cannot be established; only the POPRF step is checked"

// provesOPRF reports whether exchanges of protocol p carry a batched DLEQ
// proof under the provider's OPRF key: catalog PSI and live mode's POPRF
// step.
func provesOPRF(p transcript.Protocol) bool {
	return p == transcript.ProtocolCatalogOPRF || p == transcript.ProtocolLiveHE
}

// find turns the ledger's "not found" into a nil record.
func find[T any](v *T, err error) (*T, error) {
	if errors.Is(err, accounting.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// checkReversal adds the reversal check of the entry under r.Key (nil if
// none).
func checkReversal(r *Report, e *accounting.RecordedEntry) {
	switch {
	case e == nil:
		r.add(CheckReversal, Skip, noEntry)
	case e.Reversal != nil:
		r.add(CheckReversal, Fail, "reversed with auditor %s's endorsement in transaction %s", e.Reversal.Auditor, e.Reversal.TxID)
	case r.PeriodState == accounting.PeriodSnapshotted:
		r.add(CheckReversal, Pass, "the charge stands; period %d is snapshotted, so it is final", r.Key.Period)
	default:
		r.add(CheckReversal, Pass, "the charge stands; reversible with an endorsement until period %d is snapshotted", r.Key.Period)
	}
}

// noEntry is the detail of a check skipped for want of a ledger entry.
const noEntry = "no ledger entry to compare with"

// checkStored adds the entry, header and hash checks: the ledger's entry
// under r.Key (nil if none) against the header and body hashes recomputed
// from a transcript of what (an exchange, a reconciliation).
func checkStored(r *Report, what string, e *accounting.RecordedEntry, hdr []byte, requestHash, responseHash [transcript.DigestSize]byte) {
	if e == nil {
		r.add(CheckEntry, Fail, "no entry under %s: the %s was never billed", r.Key.String(), what)
		r.add(CheckHeader, Skip, noEntry)
		r.add(CheckRequestHash, Skip, noEntry)
		r.add(CheckResponseHash, Skip, noEntry)
		return
	}
	r.add(CheckEntry, Pass, "recorded in transaction %s", e.TxID)
	if bytes.Equal(e.Header, hdr) {
		r.add(CheckHeader, Pass, "the stored header is the transcript's")
	} else {
		r.add(CheckHeader, Fail, "the stored header differs from the transcript's")
	}
	compareHash(r, CheckRequestHash, requestHash, e.RequestHash)
	compareHash(r, CheckResponseHash, responseHash, e.ResponseHash)
}

func compareHash(r *Report, name string, computed [transcript.DigestSize]byte, stored []byte) {
	if bytes.Equal(computed[:], stored) {
		r.add(name, Pass, "%x", computed)
		return
	}
	r.add(name, Fail, "recomputed %x, ledger has %x", computed, stored)
}

// checkSignature verifies sig over digest against the party's signing
// keys registered for the header's period: the ledger keeps replaced keys
// with the periods they cover.
func checkSignature(r *Report, name, role string, h *transcript.Header, msp string, inst *accounting.Institution, digest [transcript.DigestSize]byte, sig []byte) {
	if inst == nil {
		r.add(name, Fail, "%s %s is not registered on the ledger", role, msp)
		return
	}
	keys := inst.SigningKeysIn(h.Period)
	switch {
	case len(keys) == 0:
		r.add(name, Fail, "%s %s has no signing key on record for period %d", role, msp, h.Period)
	case ecsig.VerifyAny(keys, digest[:], sig) == nil:
		r.add(name, Pass, "verifies against a signing key %s registered for period %d", msp, h.Period)
	default:
		r.add(name, Fail, "does not verify against the signing keys %s registered for period %d over the recomputed digest", msp, h.Period)
	}
}

// checkProof adds the oprf-key and proof checks.
func checkProof(r *Report, t *transcript.Transcript, cat *accounting.Catalog, responder *accounting.Institution) {
	h := &t.Header
	if !provesOPRF(h.Protocol) {
		r.add(CheckOPRFKey, Skip, "%s uses no provider OPRF key", h.Protocol)
		r.add(CheckProof, Skip, "%s answers carry no proof", h.Protocol)
		return
	}
	var pub *oprf.PublicKey
	var ok bool
	if h.Protocol == transcript.ProtocolLiveHE && cat == nil {
		pub, ok = registeredKey(r, h, responder)
	} else {
		pub, ok = publishedKey(r, h, cat)
	}
	if !ok {
		r.add(CheckProof, Skip, "no published key to check the proof against")
		return
	}
	info := catalogpsi.Info(h.Category, h.Period)
	blinded := bytes.Join(t.Request.Elements, nil)
	evaluated := bytes.Join(t.Response.Evaluated, nil)
	if err := catalogpsi.VerifyProof(h, pub, blinded, evaluated, t.Response.Proof); err != nil {
		r.add(CheckProof, Fail, "does not verify under the %v proof rule against the published key with info %q: %v", h.ProofRule, info, err)
		return
	}
	r.add(CheckProof, Pass, "verifies under the %v proof rule against the published key with info %q", h.ProofRule, info)
}

// publishedKey adds the oprf-key check and returns the OPRF key the
// provider published with its catalog for the header's category and
// period, when the header names it. That key stays on the ledger however
// often the provider rotates its current one.
func publishedKey(r *Report, h *transcript.Header, cat *accounting.Catalog) (*oprf.PublicKey, bool) {
	if h.Suite != catalogpsi.Suite {
		r.add(CheckOPRFKey, Fail, "suite %s is not the consortium's OPRF suite %s", h.Suite, catalogpsi.Suite)
		return nil, false
	}
	if cat == nil {
		r.add(CheckOPRFKey, Fail, "provider %s published no catalog for %s in period %d", h.Responder, h.Category, h.Period)
		return nil, false
	}
	pub := new(oprf.PublicKey)
	if err := pub.UnmarshalBinary(cat.OPRFKey); err != nil {
		r.add(CheckOPRFKey, Fail, "the OPRF key of %s's catalog for %s in period %d does not decode: %v", h.Responder, h.Category, h.Period, err)
		return nil, false
	}
	if id := pub.KeyID(); id != h.KeyID {
		r.add(CheckOPRFKey, Fail, "the request names key %x but %s's catalog for %s in period %d was published under key %x", h.KeyID, h.Responder, h.Category, h.Period, id)
		return nil, false
	}
	r.add(CheckOPRFKey, Pass, "key %x is the one %s published its %s catalog of period %d under", h.KeyID, h.Responder, h.Category, h.Period)
	return pub, true
}

// registeredKey adds the oprf-key check for a live exchange of a period
// in which the provider published no catalog: the key is the one its
// registry record holds for the category. That record holds the current
// key only, so after a rotation an older exchange's key no longer matches
// and the proof cannot be checked (docs/audit.md, "Live mode").
func registeredKey(r *Report, h *transcript.Header, responder *accounting.Institution) (*oprf.PublicKey, bool) {
	if h.Suite != catalogpsi.Suite {
		r.add(CheckOPRFKey, Fail, "suite %s is not the consortium's OPRF suite %s", h.Suite, catalogpsi.Suite)
		return nil, false
	}
	if responder == nil || responder.OPRFKeys[h.Category] == nil {
		r.add(CheckOPRFKey, Fail, "provider %s published no catalog for %s in period %d and registers no OPRF key for it", h.Responder, h.Category, h.Period)
		return nil, false
	}
	pub := new(oprf.PublicKey)
	if err := pub.UnmarshalBinary(responder.OPRFKeys[h.Category]); err != nil {
		r.add(CheckOPRFKey, Fail, "the OPRF key %s registers for %s does not decode: %v", h.Responder, h.Category, err)
		return nil, false
	}
	if id := pub.KeyID(); id != h.KeyID {
		r.add(CheckOPRFKey, Fail, "the request names key %x but %s registers key %x for %s (no catalog fixes period %d's key)", h.KeyID, h.Responder, id, h.Category, h.Period)
		return nil, false
	}
	r.add(CheckOPRFKey, Pass, "key %x is the one %s registers for %s (no catalog in period %d)", h.KeyID, h.Responder, h.Category, h.Period)
	return pub, true
}

// checkAmount adds the amount check: the entry bills count x the price the
// period captured when it opened, times the responder's quality factor.
func checkAmount(r *Report, h *transcript.Header, e *accounting.RecordedEntry, p *accounting.Period) {
	if e == nil {
		r.add(CheckAmount, Skip, "no ledger entry to compare with")
		return
	}
	if p == nil {
		r.add(CheckAmount, Fail, "period %d is not on the ledger", h.Period)
		return
	}
	mode, _ := accounting.ModeOf(h.Protocol) // a protocol without a mode has no price
	price, ok := p.Price(h.Category, mode, h.Responder)
	if !ok {
		r.add(CheckAmount, Fail, "period %d has no usable %s price for %s", h.Period, mode, h.Category)
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
