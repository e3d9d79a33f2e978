package chaincode

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// recordTx caches what one Record transaction reads more than once: the
// caller, registry records with parsed keys, and periods.
type recordTx struct {
	c      *Contract
	st     State
	caller string
	insts  map[string]*Institution
	keys   map[string]ecsig.Verifier // by the key's DER
	// named counts the entries of the batch that parsed naming each
	// institution, as requester or responder: the verifications its keys
	// are counted for toward their tables (signer.go).
	named   map[string]int
	periods map[uint64]*Period
	batch   map[string]*RecordedEntry // entries recorded earlier in this batch
	// stored holds what prefetch read: the stored value of each entry key
	// it covered, nil for a key with no entry.
	stored map[string][]byte
	// spent adds up the amounts recorded in this batch per period and
	// requester, for addSpent.
	spent map[spentGroup]int64
	// recons holds the parsed header of each reconciliation entry of the
	// batch (parseRecon).
	recons map[*Entry]*transcript.ReconHeader
}

type spentGroup struct {
	period    uint64
	requester string
}

// addSpent adds what the batch recorded to the responder's spent keys, one
// per (period, requester) it billed: read once and written once each, in
// key order so that every endorser makes the same reads. Only this
// responder writes these keys, so its Records conflict with no other
// provider's; its own outbox submits one batch at a time.
func (r *recordTx) addSpent() error {
	groups := slices.Collect(maps.Keys(r.spent))
	slices.SortFunc(groups, func(a, b spentGroup) int {
		if c := cmp.Compare(a.period, b.period); c != 0 {
			return c
		}
		return strings.Compare(a.requester, b.requester)
	})
	for _, g := range groups {
		key := spentKey(g.period, g.requester, r.caller)
		total, err := loadInt64(r.st, key)
		if err != nil {
			return err
		}
		if total, err = addTokens(total, r.spent[g]); err != nil {
			return err
		}
		if err := putJSON(r.st, key, total); err != nil {
			return err
		}
	}
	return nil
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

// signingKeys returns msp's parsed transcript-signing keys valid in
// period; the institution must be billable in role in that period.
func (r *recordTx) signingKeys(msp string, role Role, period uint64) ([]ecsig.Verifier, error) {
	inst, err := r.institution(msp)
	if err != nil {
		return nil, err
	}
	if err := inst.billableIn(role, period); err != nil {
		return nil, err
	}
	raw := inst.SigningKeysIn(period)
	if len(raw) == 0 {
		return nil, newError(CodeInactive, fmt.Sprintf("institution %s has no signing key for period %d", msp, period))
	}
	keys := make([]ecsig.Verifier, len(raw))
	for i, b := range raw {
		v, ok := r.keys[string(b)]
		if !ok {
			var err error
			if v, err = r.c.keys.Key(b, r.named[msp]); err != nil {
				return nil, newError(CodeInternal, "registered key: "+err.Error())
			}
			r.keys[string(b)] = v
		}
		keys[i] = v
	}
	return keys, nil
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
// the entry's own key, and writes the entry key; per (period, requester) of
// the batch it also adds the recorded amounts to the responder's own spent
// key (addSpent). No index, no balance and no counter shared between
// providers, so records of different providers never conflict unless they
// carry the same entry. In a bucketed period (entrystore.go) the entry
// keys' reads and writes are their buckets': a batch of consecutive
// sequence numbers costs every endorsement one range read of its buckets
// and one write per bucket of 32 entries, and each requester of the batch
// two state calls for its spent key.
func (c *Contract) record(st State, arg []byte) (any, error) {
	entries, err := decodeBatch[Entry](arg, "entries")
	if err != nil {
		return nil, err
	}
	caller, err := loadCaller(st)
	if err != nil {
		return nil, err
	}
	r := &recordTx{
		c: c, st: st, caller: caller.MSPID,
		insts:   map[string]*Institution{caller.MSPID: caller},
		keys:    map[string]ecsig.Verifier{},
		named:   map[string]int{},
		periods: map[uint64]*Period{},
		batch:   map[string]*RecordedEntry{},
		stored:  map[string][]byte{},
		spent:   map[spentGroup]int64{},
		recons:  map[*Entry]*transcript.ReconHeader{},
	}
	headers := make([]*transcript.Header, len(entries))
	keys := make([]EntryKey, len(entries))
	errs := make([]error, len(entries))
	for i := range entries {
		headers[i], keys[i], errs[i] = r.parse(&entries[i])
		if errs[i] == nil {
			r.named[keys[i].Requester]++
			r.named[keys[i].Responder]++
		}
	}
	if err := r.prefetch(keys, errs); err != nil {
		return nil, err
	}
	outcomes := make([]Outcome, len(entries))
	ev := recordEvent{TxID: st.TxID(), Recorded: []EntryKey{}}
	for i := range entries {
		o := &outcomes[i]
		o.Index = i
		key, status, err := keys[i], OutcomeStatus(""), errs[i]
		if err == nil {
			status, err = r.one(&entries[i], headers[i], key)
		}
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
	if err := r.addSpent(); err != nil {
		return nil, err
	}
	if err := c.emit(st, EventRecord, &ev); err != nil {
		return nil, err
	}
	return outcomes, nil
}

// decodeBatch decodes a JSON array of 1 to MaxBatch elements. The
// elements are counted before decoding: MaxArgSize of empty ones ("{},"
// each) would otherwise decode to about 1.4 million values in every
// endorser before the batch size is looked at.
func decodeBatch[T any](arg []byte, what string) ([]T, error) {
	if n := arrayLen(arg, MaxBatch); n > MaxBatch {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("a batch holds 1 to %d %s, got more", MaxBatch, what))
	}
	var batch []T
	if err := decodeArg(arg, &batch); err != nil {
		return nil, err
	}
	if len(batch) == 0 || len(batch) > MaxBatch {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("a batch holds 1 to %d %s, got %d", MaxBatch, what, len(batch)))
	}
	return batch, nil
}

// arrayLen counts the elements of the JSON array that arg holds, without
// decoding or allocating, and stops counting past limit. Anything that is
// not an array, or is malformed, counts as what was seen so far: the
// decoder that runs next rejects it.
func arrayLen(arg []byte, limit int) int {
	n, depth := 0, 0
	inString, escaped, inElement := false, false, false
	for _, c := range arg {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case ']', '}':
			if depth--; depth <= 0 {
				return n
			}
			continue
		case ',':
			if depth == 1 {
				inElement = false
				continue
			}
		}
		if depth == 0 && c != '[' {
			return n
		}
		if depth == 1 && !inElement {
			inElement = true
			if n++; n > limit {
				return n
			}
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
		}
	}
	return n
}

// sameEntry reports whether two submissions bill the same exchange. The
// signatures are left out: ECDSA is randomised, both were verified when the
// entry was recorded, and a second valid signature over the same digests
// adds nothing.
func sameEntry(a, b *Entry) bool {
	return bytes.Equal(a.Header, b.Header) && bytes.Equal(a.RequestHash, b.RequestHash) &&
		bytes.Equal(a.ResponseHash, b.ResponseHash) && a.Amount == b.Amount
}

// parse checks the shape of one entry, reading no state: its header, the
// key derived from it, that the caller is its responder, and the sizes of
// its hashes and signatures.
func (r *recordTx) parse(e *Entry) (*transcript.Header, EntryKey, error) {
	if isReconHeader(e.Header) {
		key, err := r.parseRecon(e)
		return nil, key, err
	}
	if len(e.Header) > transcript.MaxHeaderSize {
		return nil, EntryKey{}, newError(CodeInvalidArgument, "header too long")
	}
	h, err := transcript.ParseHeader(e.Header)
	if err != nil {
		return nil, EntryKey{}, newError(CodeInvalidArgument, "header: "+err.Error())
	}
	key := EntryKey{Period: h.Period, Requester: h.Requester, Responder: h.Responder, Sequence: h.Sequence}
	if err := key.Validate(); err != nil {
		return nil, key, err
	}
	if h.Responder != r.caller {
		return nil, key, newError(CodeForbidden, "only the header's responder records an entry")
	}
	// Catalog-OPRF and live-mode entries (the live exchange's POPRF step,
	// docs/protocol/hepsi.md "Served by the node") are checked alike and
	// billed at their mode's price; a reconciliation entry has its own
	// header format (parseRecon), so an ECDH protocol here is refused.
	if h.Protocol != transcript.ProtocolCatalogOPRF && h.Protocol != transcript.ProtocolLiveHE {
		return nil, key, newError(CodeInvalidArgument, fmt.Sprintf("%v entries are not recorded", h.Protocol))
	}
	if len(e.RequestHash) != HashSize || len(e.ResponseHash) != HashSize {
		return nil, key, newError(CodeInvalidArgument, "body hashes must be 32 bytes")
	}
	for _, sig := range [][]byte{e.RequesterSignature, e.ResponderSignature} {
		if len(sig) == 0 || len(sig) > ecsig.MaxSignatureSize {
			return nil, key, newError(CodeInvalidArgument, "signature missing or too long")
		}
	}
	return h, key, nil
}

// minRun is the shortest run of consecutive sequence numbers that prefetch
// reads with one range query. In Fabric a range read costs two round trips
// to the peer (the query and closing the iterator), a Get one.
const minRun = 3

// prefetch reads the stored values of the batch's entry keys (those that
// parsed: errs[i] == nil) that form runs of at least minRun consecutive
// sequence numbers of one requester in one period, one range read per run,
// instead of one Get per key: a node's batch for one responder holds the
// requester's consecutive sequence numbers, so a batch is a few runs. A run's
// range holds exactly the run's keys (the fixed-width sequence number ends
// the key), so the transaction reads the same keys as with one Get each and
// conflicts with the same transactions: only a Record of one of those keys.
//
// The reads run in a fixed order (period, then requester, then sequence):
// Fabric keeps a transaction's range reads in the order they were made, and
// every endorser must produce the same read-write set.
func (r *recordTx) prefetch(keys []EntryKey, errs []error) error {
	type group struct {
		period    uint64
		requester string
	}
	seqs := map[group][]uint64{}
	var groups []group
	for i, k := range keys {
		if errs[i] == nil {
			g := group{k.Period, k.Requester}
			if _, ok := seqs[g]; !ok {
				groups = append(groups, g)
			}
			seqs[g] = append(seqs[g], k.Sequence)
		}
	}
	slices.SortFunc(groups, func(a, b group) int {
		if c := cmp.Compare(a.period, b.period); c != 0 {
			return c
		}
		return strings.Compare(a.requester, b.requester)
	})
	for _, g := range groups {
		ss := seqs[g]
		slices.Sort(ss)
		ss = slices.Compact(ss)
		for start := 0; start < len(ss); {
			end := start + 1
			for end < len(ss) && ss[end] == ss[end-1]+1 {
				end++
			}
			if end-start >= minRun {
				if err := r.readRun(g.period, g.requester, ss[start:end]); err != nil {
					return err
				}
			}
			start = end
		}
	}
	return nil
}

// readRun reads the caller's entry keys of one run of consecutive sequence
// numbers with one range read, and records each key's stored value (nil if
// there is none) in r.stored.
func (r *recordTx) readRun(period uint64, requester string, run []uint64) error {
	key := EntryKey{Period: period, Requester: requester, Responder: r.caller}
	for _, seq := range run {
		key.Sequence = seq
		r.stored[key.String()] = nil
	}
	key.Sequence = run[0]
	start := key.String()
	key.Sequence = run[len(run)-1]
	end := key.String() + "\x00" // the first key after the run's last
	return scan(r.st, start, end, func(k string, v []byte) (bool, error) {
		// Copied: a host may reuse the value's memory after the read.
		r.stored[k] = bytes.Clone(v)
		return true, nil
	})
}

// one checks and writes one entry whose shape parse accepted (h is nil for
// a reconciliation entry, which oneRecon checks). Every check that can make
// the entry a duplicate runs before the period check, so re-submitting an
// already recorded entry after its period closed still succeeds.
func (r *recordTx) one(e *Entry, h *transcript.Header, key EntryKey) (OutcomeStatus, error) {
	skey := key.String()
	prev := r.batch[skey]
	if prev == nil {
		v, fetched := r.stored[skey]
		if !fetched {
			var err error
			if v, err = r.st.Get(skey); err != nil {
				return "", err
			}
		}
		if v != nil {
			prev = &RecordedEntry{}
			if err := decodeStored(skey, v, prev); err != nil {
				return "", err
			}
		}
	}
	if prev != nil {
		if sameEntry(&prev.Entry, e) {
			return OutcomeDuplicate, nil
		}
		return "", newError(CodeConflict, "a different entry is recorded under this key")
	}

	p, err := r.period(key.Period)
	if err != nil {
		return "", err
	}
	if p.State != PeriodOpen && p.State != PeriodGrace {
		return "", newError(CodePeriodClosed, fmt.Sprintf("period %d is %s", p.Number, p.State))
	}
	reqKeys, err := r.signingKeys(key.Requester, RoleRequester, key.Period)
	if err != nil {
		return "", err
	}
	respKeys, err := r.signingKeys(key.Responder, RoleProvider, key.Period)
	if err != nil {
		return "", err
	}
	if h == nil {
		return r.oneRecon(e, r.recons[e], key, p, reqKeys, respKeys)
	}
	mode, _ := ModeOf(h.Protocol) // a protocol without a mode has no price
	price, ok := p.Price(h.Category, mode, h.Responder)
	if !ok {
		return "", newError(CodeInvalidArgument, fmt.Sprintf("category %s has no usable %s price in period %d", h.Category, mode, p.Number))
	}
	amount, err := amountFor(price, h.Count)
	if err != nil {
		return "", err
	}
	if e.Amount != amount {
		return "", newError(CodeWrongAmount, fmt.Sprintf("%d items x %d = %d, entry bills %d", h.Count, price, amount, e.Amount))
	}
	reqDigest, err := transcript.RequestDigest(h, [32]byte(e.RequestHash))
	if err != nil {
		return "", newError(CodeInvalidArgument, "request digest: "+err.Error())
	}
	if !verifiesUnder(reqKeys, reqDigest[:], e.RequesterSignature) {
		return "", newError(CodeBadSignature, "requester signature does not verify")
	}
	respDigest := transcript.ResponseDigest(reqDigest, [32]byte(e.ResponseHash))
	if !verifiesUnder(respKeys, respDigest[:], e.ResponderSignature) {
		return "", newError(CodeBadSignature, "responder signature does not verify")
	}

	return r.put(e, key, h.Category, h.Count)
}

// put writes an entry that passed its checks and adds its amount to the
// batch's spent total of its period and requester.
func (r *recordTx) put(e *Entry, key EntryKey, category string, count uint32) (OutcomeStatus, error) {
	g := spentGroup{key.Period, key.Requester}
	spent, err := addTokens(r.spent[g], e.Amount)
	if err != nil {
		return "", err
	}
	skey := key.String()
	rec := &RecordedEntry{Key: key, Entry: *e, Category: category, Count: count, TxID: r.st.TxID()}
	if err := putJSON(r.st, skey, rec); err != nil {
		return "", err
	}
	r.batch[skey], r.spent[g] = rec, spent
	return OutcomeRecorded, nil
}
