package chaincode

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// recordTx caches what one Record transaction reads more than once: the
// caller, registry records with parsed keys, and periods.
type recordTx struct {
	st      State
	caller  string
	insts   map[string]*Institution
	keys    map[string]*ecdsa.PublicKey
	periods map[uint64]*Period
	batch   map[string]*RecordedEntry // entries recorded earlier in this batch
}

func (r *recordTx) institution(msp string) (*Institution, error) {
	if inst, ok := r.insts[msp]; ok {
		return inst, nil
	}
	inst, err := loadInstitution(r.st, msp)
	if err != nil {
		return nil, err
	}
	r.insts[msp] = inst
	return inst, nil
}

// signingKey returns msp's parsed transcript-signing key; the institution
// must be active and hold role.
func (r *recordTx) signingKey(msp string, role Role) (*ecdsa.PublicKey, error) {
	inst, err := r.institution(msp)
	if err != nil {
		return nil, err
	}
	if inst.Status != StatusActive {
		return nil, newError(CodeInactive, fmt.Sprintf("institution %s is suspended", msp))
	}
	if !inst.HasRole(role) {
		return nil, newError(CodeInactive, fmt.Sprintf("institution %s lacks the %s role", msp, role))
	}
	if k, ok := r.keys[msp]; ok {
		return k, nil
	}
	if inst.SigningKey == nil {
		return nil, newError(CodeInactive, fmt.Sprintf("institution %s has no signing key", msp))
	}
	k, err := ecsig.ParsePublicKey(inst.SigningKey)
	if err != nil {
		return nil, newError(CodeInternal, "registered key: "+err.Error())
	}
	r.keys[msp] = k
	return k, nil
}

func (r *recordTx) period(n uint64) (*Period, error) {
	if p, ok := r.periods[n]; ok {
		return p, nil
	}
	p, err := loadPeriod(r.st, n)
	if err != nil {
		return nil, err
	}
	r.periods[n] = p
	return p, nil
}

type recordEvent struct {
	TxID       string     `json:"txId"`
	Recorded   []EntryKey `json:"recorded"`
	Duplicates int        `json:"duplicates"`
	Rejected   int        `json:"rejected"`
}

// record writes a batch of entries as their responder. Each entry gets its
// own Outcome: a bad entry is rejected with a code and the rest of the batch
// is still recorded, so one poisoned entry cannot block a provider's outbox.
// Only a malformed batch or an unregistered caller fails the transaction.
//
// It reads the registry records of the parties, the entry's period record and
// the entry's own key, and writes only the entry key: no index, no balance and
// no shared counter, so concurrent records never conflict unless they carry
// the same entry. In Fabric each entry then costs every endorsement two
// synchronous state calls: the idempotency read and the write.
func (c *Contract) record(st State, arg []byte) (any, error) {
	var entries []Entry
	if err := decodeArg(arg, &entries); err != nil {
		return nil, err
	}
	if len(entries) == 0 || len(entries) > MaxBatch {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("a batch holds 1 to %d entries, got %d", MaxBatch, len(entries)))
	}
	caller, err := loadCaller(st)
	if err != nil {
		return nil, err
	}
	r := &recordTx{
		st: st, caller: caller.MSPID,
		insts:   map[string]*Institution{caller.MSPID: caller},
		keys:    map[string]*ecdsa.PublicKey{},
		periods: map[uint64]*Period{},
		batch:   map[string]*RecordedEntry{},
	}
	outcomes := make([]Outcome, len(entries))
	ev := recordEvent{TxID: st.TxID(), Recorded: []EntryKey{}}
	for i := range entries {
		o := &outcomes[i]
		o.Index = i
		key, status, err := r.one(&entries[i])
		o.Key, o.Status = key, status
		if err != nil {
			ce, ok := err.(*Error)
			if !ok || ce.Code == CodeInternal {
				return nil, err // the store failed: abort the transaction
			}
			o.Status, o.Code, o.Detail = OutcomeRejected, ce.Code, ce.Detail
		}
		switch o.Status {
		case OutcomeRecorded:
			ev.Recorded = append(ev.Recorded, key)
		case OutcomeDuplicate:
			ev.Duplicates++
		default:
			ev.Rejected++
		}
	}
	if err := c.emit(st, EventRecord, &ev); err != nil {
		return nil, err
	}
	return outcomes, nil
}

// sameEntry reports whether two submissions bill the same exchange. The
// signatures are left out: ECDSA is randomised, both were verified when the
// entry was recorded, and a second valid signature over the same digests
// adds nothing.
func sameEntry(a, b *Entry) bool {
	return bytes.Equal(a.Header, b.Header) && bytes.Equal(a.RequestHash, b.RequestHash) &&
		bytes.Equal(a.ResponseHash, b.ResponseHash) && a.Amount == b.Amount
}

// one checks and writes one entry. Every check that can make the entry a
// duplicate runs before the period check, so re-submitting an already
// recorded entry after its period closed still succeeds.
func (r *recordTx) one(e *Entry) (EntryKey, OutcomeStatus, error) {
	if len(e.Header) > transcript.MaxHeaderSize {
		return EntryKey{}, "", newError(CodeInvalidArgument, "header too long")
	}
	h, err := transcript.ParseHeader(e.Header)
	if err != nil {
		return EntryKey{}, "", newError(CodeInvalidArgument, "header: "+err.Error())
	}
	key := EntryKey{Period: h.Period, Requester: h.Requester, Responder: h.Responder, Sequence: h.Sequence}
	if err := key.Validate(); err != nil {
		return key, "", err
	}
	if h.Responder != r.caller {
		return key, "", newError(CodeForbidden, "only the header's responder records an entry")
	}
	if len(e.RequestHash) != HashSize || len(e.ResponseHash) != HashSize {
		return key, "", newError(CodeInvalidArgument, "body hashes must be 32 bytes")
	}
	for _, sig := range [][]byte{e.RequesterSignature, e.ResponderSignature} {
		if len(sig) == 0 || len(sig) > ecsig.MaxSignatureSize {
			return key, "", newError(CodeInvalidArgument, "signature missing or too long")
		}
	}
	skey := key.String()
	prev := r.batch[skey]
	if prev == nil {
		var stored RecordedEntry
		ok, err := getJSON(r.st, skey, &stored)
		if err != nil {
			return key, "", err
		}
		if ok {
			prev = &stored
		}
	}
	if prev != nil {
		if sameEntry(&prev.Entry, e) {
			return key, OutcomeDuplicate, nil
		}
		return key, "", newError(CodeConflict, "a different entry is recorded under this key")
	}

	p, err := r.period(h.Period)
	if err != nil {
		return key, "", err
	}
	if p.State != PeriodOpen && p.State != PeriodGrace {
		return key, "", newError(CodePeriodClosed, fmt.Sprintf("period %d is %s", p.Number, p.State))
	}
	reqKey, err := r.signingKey(h.Requester, RoleRequester)
	if err != nil {
		return key, "", err
	}
	respKey, err := r.signingKey(h.Responder, RoleProvider)
	if err != nil {
		return key, "", err
	}
	price, ok := p.Prices[h.Category]
	if !ok {
		return key, "", newError(CodeInvalidArgument, fmt.Sprintf("category %s has no price in period %d", h.Category, p.Number))
	}
	amount, err := amountFor(price, h.Count)
	if err != nil {
		return key, "", err
	}
	if e.Amount != amount {
		return key, "", newError(CodeWrongAmount, fmt.Sprintf("%d items x %d = %d, entry bills %d", h.Count, price, amount, e.Amount))
	}
	reqDigest, err := transcript.RequestDigest(h, [32]byte(e.RequestHash))
	if err != nil {
		return key, "", newError(CodeInvalidArgument, "request digest: "+err.Error())
	}
	if ecsig.VerifyKey(reqKey, reqDigest[:], e.RequesterSignature) != nil {
		return key, "", newError(CodeBadSignature, "requester signature does not verify")
	}
	respDigest := transcript.ResponseDigest(reqDigest, [32]byte(e.ResponseHash))
	if ecsig.VerifyKey(respKey, respDigest[:], e.ResponderSignature) != nil {
		return key, "", newError(CodeBadSignature, "responder signature does not verify")
	}

	rec := &RecordedEntry{Key: key, Entry: *e, Category: h.Category, Count: h.Count, TxID: r.st.TxID()}
	if err := putJSON(r.st, skey, rec); err != nil {
		return key, "", err
	}
	r.batch[skey] = rec
	return key, OutcomeRecorded, nil
}
