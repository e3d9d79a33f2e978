package audit

import (
	"bytes"
	"context"
	"fmt"
	"math/bits"

	"golang.org/x/crypto/cryptobyte"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Reconciliation bills (docs/reconciliation.md, "Accounting"; docs/audit.md,
// "Reconciliations"). A reconciliation entry carries the ReconHeader both
// parties signed, its digest as both hashes and the two header
// signatures; VerifyRecon checks such an entry against the transcript a
// party kept, and JudgeReconciliation decides a requester's dispute over
// one of the responder's answers.

// CheckRecords: every chunk record of a reconciliation transcript is
// signed by its sender, in its place, answering the chunk it names; the
// detail says whether every stream reached its end.
const CheckRecords = "records"

// reconFacts is what VerifyRecon reads from the ledger.
type reconFacts struct {
	entry                   *accounting.RecordedEntry
	period                  *accounting.Period
	requesterKeys, respKeys [][]byte // registered for the header's period
}

// KeyOfRecon returns the ledger key of the entry that bills the
// reconciliation h describes.
func KeyOfRecon(h *transcript.ReconHeader) accounting.EntryKey {
	return accounting.EntryKey{Period: h.Period, Requester: h.Requester, Responder: h.Responder, Sequence: h.Sequence}
}

// VerifyRecon checks a reconciliation transcript against the ledger, as
// Verify does a catalog transcript: the entry, its header, its hashes (the
// header digest), both header signatures under the keys the parties
// registered for the period, the chunk records, the amount ((n + m) × the
// period's reconciliation price) and whether the charge stands. It
// returns an error only when the ledger could not be read.
func VerifyRecon(ctx context.Context, t *transcript.ReconTranscript, l Ledger) (*Report, error) {
	r, _, err := verifyRecon(ctx, t, l)
	return r, err
}

func verifyRecon(ctx context.Context, t *transcript.ReconTranscript, l Ledger) (*Report, *reconFacts, error) {
	h := &t.Header
	hdr, err := h.MarshalBinary()
	if err != nil {
		return nil, nil, fmt.Errorf("audit: reconciliation header: %w", err)
	}
	d, err := h.Digest()
	if err != nil {
		return nil, nil, fmt.Errorf("audit: reconciliation header: %w", err)
	}
	key := KeyOfRecon(h)
	f := &reconFacts{}
	if f.entry, err = find(l.Entry(ctx, key)); err != nil {
		return nil, nil, fmt.Errorf("%w: entry %s: %w", ErrLedger, key.String(), err)
	}
	if f.period, err = find(l.Period(ctx, h.Period)); err != nil {
		return nil, nil, fmt.Errorf("%w: period %d: %w", ErrLedger, h.Period, err)
	}
	r := &Report{Key: key, Protocol: h.Protocol.String(), Category: h.Category, Count: h.RequesterSize + h.ResponderSize}
	if f.period != nil {
		r.PeriodState = f.period.State
	}
	e := f.entry
	checkStored(r, "reconciliation", e, hdr, d, d)
	for _, p := range []struct {
		name, role, msp string
		keys            *[][]byte
		sig             []byte
	}{
		{CheckRequesterSignature, "requester", h.Requester, &f.requesterKeys, t.RequesterSignature},
		{CheckResponderSignature, "responder", h.Responder, &f.respKeys, t.ResponderSignature},
	} {
		inst, err := find(l.Institution(ctx, p.msp))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: institution %s: %w", ErrLedger, p.msp, err)
		}
		if inst != nil {
			*p.keys = inst.SigningKeysIn(h.Period)
		}
		switch {
		case inst == nil:
			r.add(p.name, Fail, "%s %s is not registered on the ledger", p.role, p.msp)
		case len(*p.keys) == 0:
			r.add(p.name, Fail, "%s %s has no signing key on record for period %d", p.role, p.msp, h.Period)
		case ecsig.VerifyAny(*p.keys, d[:], p.sig) == nil:
			r.add(p.name, Pass, "signs the header under a key %s registered for period %d", p.msp, h.Period)
		default:
			r.add(p.name, Fail, "does not verify over the header digest against the keys %s registered for period %d", p.msp, h.Period)
		}
	}
	switch err := t.Verify(f.requesterKeys, f.respKeys); {
	case err != nil:
		r.add(CheckRecords, Fail, "%v", err)
	case t.Complete():
		r.add(CheckRecords, Pass, "all %d records signed by their senders, every stream to its end", len(t.Records))
	default:
		r.add(CheckRecords, Pass, "%d records signed by their senders; the streams stop before their end", len(t.Records))
	}
	checkReconAmount(r, h, e, f.period)
	checkReversal(r, e)
	return r, f, nil
}

// checkReconAmount adds the amount check: (n + m) items at the period's
// reconciliation price for the header's category and responder.
func checkReconAmount(r *Report, h *transcript.ReconHeader, e *accounting.RecordedEntry, p *accounting.Period) {
	switch {
	case e == nil:
		r.add(CheckAmount, Skip, noEntry)
		return
	case p == nil:
		r.add(CheckAmount, Fail, "period %d is not on the ledger", h.Period)
		return
	}
	price, ok := p.Price(h.Category, accounting.ModeReconcile, h.Responder)
	if !ok {
		r.add(CheckAmount, Fail, "period %d has no usable %s price for %s", h.Period, accounting.ModeReconcile, h.Category)
		return
	}
	count := uint64(h.RequesterSize) + uint64(h.ResponderSize)
	hi, want := bits.Mul64(count, uint64(price))
	if price < 0 || hi != 0 || want > 1<<63-1 {
		r.add(CheckAmount, Fail, "%d item(s) x %d token(s) is out of range", count, price)
		return
	}
	if uint64(e.Count) != count || e.Amount != int64(want) {
		r.add(CheckAmount, Fail, "the ledger bills %d token(s) for %d item(s); %d + %d item(s) x %d token(s) = %d",
			e.Amount, e.Count, h.RequesterSize, h.ResponderSize, price, want)
		return
	}
	r.add(CheckAmount, Pass, "%d + %d item(s) x %d token(s) = %d", h.RequesterSize, h.ResponderSize, price, want)
}

// JudgeReconciliation decides a requester's dispute over one of the
// responder's answers (a reply to one of its masked chunks). The dispute
// must bill something: the transcript's entry must be on the ledger under
// the transcript's header, both header signatures verifying under the
// registered keys. The answer must be one the responder sent: a requester
// disputing one of its own returns would have signed the very fault it
// claims. Then DecideReconciliation decides from the two chunk bodies.
func JudgeReconciliation(ctx context.Context, d *ReconDispute, l Ledger) (*Report, Decision, error) {
	reject := func(format string, args ...any) Decision {
		return Decision{Verdict: accounting.VerdictRejected, Reason: fmt.Sprintf(format, args...)}
	}
	if d == nil || d.Transcript == nil {
		return nil, Decision{}, fmt.Errorf("audit: no reconciliation transcript")
	}
	r, f, err := verifyRecon(ctx, d.Transcript, l)
	if err != nil {
		return nil, Decision{}, err
	}
	for _, name := range []string{CheckEntry, CheckHeader, CheckRequesterSignature, CheckResponderSignature} {
		if c, _ := r.Check(name); c.Status != Pass {
			return r, reject("the billed reconciliation is not established (%s: %s)", name, c.Detail), nil
		}
	}
	if rec := findRecord(d.Transcript, transcript.ChunkHash(d.Answer)); rec != nil && rec.Kind != ecdh.KindResponderReply {
		return r, reject("the disputed %v %d was sent by the requester itself", rec.Kind, rec.Seq), nil
	}
	return r, DecideReconciliation(d, f.requesterKeys, f.respKeys), nil
}

// reconDisputeMagic starts an encoded ReconDispute; a catalog transcript
// file starts with "RMTX".
const reconDisputeMagic = "RMRD"

// MaxReconChunkBytes bounds each chunk body of an encoded ReconDispute:
// a chunk of ecdh.MaxChunkSize points with its header.
const MaxReconChunkBytes = 64 + ecdh.MaxChunkSize*ecdh.PointSize

// IsReconDispute reports whether data is an encoded ReconDispute (rather
// than a catalog transcript): what the auditor service is filed.
func IsReconDispute(data []byte) bool {
	return len(data) >= len(reconDisputeMagic) && string(data[:len(reconDisputeMagic)]) == reconDisputeMagic
}

// MarshalBinary encodes d for filing with the auditor service:
//
//	"RMRD" | u32-prefixed ReconTranscript | u32-prefixed answered chunk |
//	u32-prefixed answer chunk
func (d *ReconDispute) MarshalBinary() ([]byte, error) {
	if d.Transcript == nil {
		return nil, fmt.Errorf("audit: no reconciliation transcript")
	}
	if len(d.Answered) > MaxReconChunkBytes || len(d.Answer) > MaxReconChunkBytes {
		return nil, fmt.Errorf("audit: chunk body over %d bytes", MaxReconChunkBytes)
	}
	t, err := d.Transcript.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(reconDisputeMagic)+12+len(t)+len(d.Answered)+len(d.Answer)))
	b.AddBytes([]byte(reconDisputeMagic))
	for _, part := range [][]byte{t, d.Answered, d.Answer} {
		b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(part) })
	}
	return b.Bytes()
}

// ParseReconDispute parses MarshalBinary's output. Each part is bounded
// by the bytes present (and the chunks by MaxReconChunkBytes) before it is
// copied; the transcript's own parser bounds its records.
func ParseReconDispute(data []byte) (*ReconDispute, error) {
	if !IsReconDispute(data) {
		return nil, fmt.Errorf("%w: not a reconciliation dispute", transcript.ErrMagic)
	}
	s := cryptobyte.String(data[len(reconDisputeMagic):])
	var t, answered, answer []byte
	for _, part := range []*[]byte{&t, &answered, &answer} {
		var n uint32
		if !s.ReadUint32(&n) || !s.ReadBytes(part, int(n)) {
			return nil, transcript.ErrMalformed
		}
	}
	if !s.Empty() {
		return nil, transcript.ErrTrailingData
	}
	if len(answered) > MaxReconChunkBytes || len(answer) > MaxReconChunkBytes {
		return nil, fmt.Errorf("%w: chunk body over %d bytes", transcript.ErrMalformed, MaxReconChunkBytes)
	}
	tr, err := transcript.ParseReconTranscript(t)
	if err != nil {
		return nil, err
	}
	return &ReconDispute{Transcript: tr, Answered: bytes.Clone(answered), Answer: bytes.Clone(answer)}, nil
}
