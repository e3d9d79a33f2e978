package chaincode

import (
	"maps"
	"math"
	"slices"
)

// Records are stored and returned as JSON. []byte fields are base64 in JSON;
// amounts and balances are int64 tokens, never floats.

// Role is what an institution may do in the network; the regulator sets it.
type Role string

const (
	RoleProvider  Role = "provider"
	RoleRequester Role = "requester"
	RoleAuditor   Role = "auditor"
)

// Status is an institution's registry status.
type Status string

const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
)

// Institution is one registry record, keyed by MSP id.
type Institution struct {
	MSPID  string `json:"mspId"`
	Name   string `json:"name"`
	Status Status `json:"status"`
	Roles  []Role `json:"roles"`
	// Endpoint is the node's QUIC address (host:port), set by the institution.
	Endpoint string `json:"endpoint,omitempty"`
	// TLSFingerprint is SHA-256 of the node's TLS certificate (32 bytes).
	TLSFingerprint []byte `json:"tlsFingerprint,omitempty"`
	// SigningKey is the current transcript-signing public key, PKIX DER,
	// P-256, valid from period SigningKeyFrom on.
	SigningKey     []byte `json:"signingKey,omitempty"`
	SigningKeyFrom uint64 `json:"signingKeyFrom,omitempty"`
	// PastSigningKeys are the keys SigningKey replaced, oldest first, each
	// still valid in the periods it covered: entries queued in an outbox
	// and transcripts kept for audit were signed under them. At most
	// MaxPastSigningKeys are kept.
	PastSigningKeys []KeyVersion `json:"pastSigningKeys,omitempty"`
	// OPRFKeys maps a category the institution provides to the 32-byte OPRF
	// public key its next catalogs are built under (Catalog holds the key of
	// each published one).
	OPRFKeys map[string][]byte `json:"oprfKeys,omitempty"`
	// SuspendedIn is the period that was current when the institution was
	// suspended (0 if none was open yet); it is kept only while Status is
	// suspended. RolesRemovedIn maps each role the institution held and
	// lost to the period that was current then. Entries of those periods
	// and earlier still record: suspension and role removal stop new
	// answers (providers refuse), they never void the bills for answers
	// given before (docs/ledger.md).
	SuspendedIn    uint64          `json:"suspendedIn,omitempty"`
	RolesRemovedIn map[Role]uint64 `json:"rolesRemovedIn,omitempty"`
}

// KeyVersion is a replaced signing key and the periods From..Until
// (inclusive) in which signatures under it are accepted.
type KeyVersion struct {
	Key   []byte `json:"key"`
	From  uint64 `json:"from"`
	Until uint64 `json:"until"`
}

// SigningKeysIn returns the signing keys valid in period, the current one
// first. During a rotation's overlap there are two: the old key until the
// end of the period it was replaced in, the new one from the oldest period
// still accepting records.
func (i *Institution) SigningKeysIn(period uint64) [][]byte {
	return i.signingKeys(func(from, until uint64) bool { return from <= period && period <= until })
}

// SigningKeysSince returns the signing keys valid in period or any later
// one, the current one first: those an endorsement about an entry of
// period may have been signed with, since it is made after the entry.
func (i *Institution) SigningKeysSince(period uint64) [][]byte {
	return i.signingKeys(func(_, until uint64) bool { return period <= until })
}

func (i *Institution) signingKeys(valid func(from, until uint64) bool) [][]byte {
	var out [][]byte
	if i.SigningKey != nil && valid(i.SigningKeyFrom, math.MaxUint64) {
		out = append(out, i.SigningKey)
	}
	for _, v := range slices.Backward(i.PastSigningKeys) {
		if valid(v.From, v.Until) {
			out = append(out, v.Key)
		}
	}
	return out
}

// HasRole reports whether the institution holds r.
func (i *Institution) HasRole(r Role) bool {
	for _, x := range i.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Profile is what an institution sets on its own registry record. Empty
// fields are left unchanged.
type Profile struct {
	Endpoint       string `json:"endpoint,omitempty"`
	TLSFingerprint []byte `json:"tlsFingerprint,omitempty"`
	SigningKey     []byte `json:"signingKey,omitempty"`
}

// Catalog is the digest of a provider's catalog for one category and
// period and the OPRF public key it was built under. Both are fixed once
// published, so the key a period's exchanges used stays on record when the
// provider rotates it: requesters and auditors verify proofs against this
// key, not against the registry's current one.
type Catalog struct {
	MSPID    string `json:"mspId"`
	Category string `json:"category"`
	Period   uint64 `json:"period"`
	Digest   []byte `json:"digest"`
	OPRFKey  []byte `json:"oprfKey"`
	// Stats is what the provider declares about the catalog; fixed with
	// the digest.
	Stats *CatalogStats `json:"stats,omitempty"`
}

// PeriodState is a step of the period state machine:
//
//	open -> grace -> closed -> settling -> settled -> snapshotted
//
// open: records accepted; grace: the next period is open, late records for
// this one still accepted; closed: no more records; settling: Settle has
// processed part of the entries; settled: balances updated; snapshotted:
// balances recorded and netted, reversals no longer allowed.
type PeriodState string

const (
	PeriodOpen        PeriodState = "open"
	PeriodGrace       PeriodState = "grace"
	PeriodClosed      PeriodState = "closed"
	PeriodSettling    PeriodState = "settling"
	PeriodSettled     PeriodState = "settled"
	PeriodSnapshotted PeriodState = "snapshotted"
)

// PriceList is the consortium's price per item of each category, per mode
// (GetPrices, and captured into each Period). Catalog prices are in Prices,
// where they were before modes existed, so a period record made then reads
// as one with catalog prices only; the other modes are in ModePrices.
type PriceList struct {
	// Prices are the catalog prices per category.
	Prices map[string]int64 `json:"prices"`
	// ModePrices are the other modes' prices per category; a mode or a
	// category absent here has no price in that mode.
	ModePrices map[Mode]map[string]int64 `json:"modePrices,omitempty"`
}

// Base returns category's price in mode before any quality factor; ok is
// false if it has none. A mode without its own price has none: it never
// falls back to the catalog price.
func (l *PriceList) Base(category string, mode Mode) (price int64, ok bool) {
	price, ok = l.of(mode)[category]
	return price, ok
}

// Equal reports whether l and o hold the same prices.
func (l *PriceList) Equal(o *PriceList) bool {
	return maps.Equal(l.Prices, o.Prices) && maps.EqualFunc(l.ModePrices, o.ModePrices, maps.Equal)
}

// of returns mode's prices (nil if it has none).
func (l *PriceList) of(mode Mode) map[string]int64 {
	if mode == ModeCatalog {
		return l.Prices
	}
	return l.ModePrices[mode]
}

// set sets category's price in mode; l.Prices must not be nil.
func (l *PriceList) set(category string, mode Mode, price int64) {
	if mode == ModeCatalog {
		l.Prices[category] = price
		return
	}
	if l.ModePrices == nil {
		l.ModePrices = map[Mode]map[string]int64{}
	}
	if l.ModePrices[mode] == nil {
		l.ModePrices[mode] = map[string]int64{}
	}
	l.ModePrices[mode][category] = price
}

// Period is one accounting period.
type Period struct {
	Number uint64      `json:"number"`
	State  PeriodState `json:"state"`
	// PriceList is the price list captured when the period opened: a price
	// change applies from the next period.
	PriceList
	// Net is the balance change per institution from this period's entries
	// minus reversals: partial while settling, final once settled (adjusted
	// by reversals made after settlement).
	Net map[string]int64 `json:"net,omitempty"`
	// Entries and Reversed count what settlement has processed.
	Entries  uint64 `json:"entries,omitempty"`
	Reversed uint64 `json:"reversed,omitempty"`
	// Cursor is the last entry key settlement processed (settling only).
	Cursor string `json:"cursor,omitempty"`
	// Undrained lists, for a period the regulator closed with Force, the
	// providers' backlog reports that still counted pending entries then,
	// and the active providers that had not reported: bills that may be
	// lost, on the record.
	Undrained []Backlog `json:"undrained,omitempty"`
	// Quality is the quality policy captured when the period opened, and
	// Factors the price multipliers it gave each scored provider and
	// category then, keyed by FactorKey (chaincode/quality_policy.go).
	Quality *QualityPolicy         `json:"quality,omitempty"`
	Factors map[string]PriceFactor `json:"factors,omitempty"`
	// Snapshot is, once the period is snapshotted, the id (first period)
	// of the snapshot that covers it. A period snapshotted before
	// snapshots covered ranges has none: its snapshot is its own number.
	Snapshot uint64 `json:"snapshot,omitempty"`
	// EntryBuckets is set on the periods opened since entries are kept
	// entryBucketSize consecutive sequence numbers to a state key
	// (docs/ledger.md, "Entry buckets"); the entries of a period opened
	// before keep one key each. Fixed when the period opens.
	EntryBuckets bool `json:"entryBuckets,omitempty"`
}

// ClosePeriodArgs closes a period in grace. Without Force the contract
// refuses while a provider's backlog report counts entries of the period
// not yet recorded; Force closes anyway and keeps the reports in
// Period.Undrained.
type ClosePeriodArgs struct {
	Period uint64 `json:"period"`
	Force  bool   `json:"force,omitempty"`
}

// Backlog is a provider's report of how many entries of a period its
// journal holds that are not on the ledger yet. The provider writes its
// own report (ReportBacklog); ClosePeriod reads them all. Missing is set
// only in Period.Undrained, for an active provider that never reported.
type Backlog struct {
	MSPID   string `json:"mspId"`
	Period  uint64 `json:"period"`
	Pending uint64 `json:"pending"`
	Missing bool   `json:"missing,omitempty"`
	TxID    string `json:"txId,omitempty"`
}

// Exposure is what an institution owes as a requester, settled and not:
// providers refuse it new answers once Headroom does not cover them.
type Exposure struct {
	MSPID string `json:"mspId"`
	// Balance is the settled balance and Limit the overdraft limit.
	Balance int64 `json:"balance"`
	Limit   int64 `json:"limit"`
	// Unsettled is what it was billed in periods not settled yet (open,
	// grace, closed, settling), minus what was reversed there.
	Unsettled int64 `json:"unsettled"`
	// Headroom is Balance + Limit - Unsettled, clamped to the int64 range:
	// what it may still be billed before it passes its limit.
	Headroom int64 `json:"headroom"`
	// Flagged is Account.Flagged: past its limit at a settlement, or owing
	// a snapshot the regulator has not marked paid.
	Flagged bool `json:"flagged"`
}

// EntryKey identifies an entry: the requester's sequence number is unique per
// period and (requester, responder) pair.
type EntryKey struct {
	Period    uint64 `json:"period"`
	Requester string `json:"requester"`
	Responder string `json:"responder"`
	Sequence  uint64 `json:"sequence"`
}

// Entry is what a responder submits: the transcript header encoding, the two
// body hashes, both signatures and the amount it bills. The chaincode derives
// the key, category and item count from the header.
type Entry struct {
	Header             []byte `json:"header"`
	RequestHash        []byte `json:"requestHash"`
	ResponseHash       []byte `json:"responseHash"`
	RequesterSignature []byte `json:"requesterSignature"`
	ResponderSignature []byte `json:"responderSignature"`
	Amount             int64  `json:"amount"`
}

// Verdict is an auditor's decision on a disputed entry.
type Verdict uint8

const (
	// VerdictUpheld: the dispute is upheld and the charge may be reversed.
	VerdictUpheld Verdict = 1
	// VerdictRejected: the dispute is rejected; it cannot reverse anything.
	VerdictRejected Verdict = 2
)

// Reversal records that an entry's charge was reversed.
type Reversal struct {
	Auditor   string  `json:"auditor"`
	Verdict   Verdict `json:"verdict"`
	Signature []byte  `json:"signature"`
	TxID      string  `json:"txId"`
}

// RecordedEntry is an entry as stored on the ledger.
type RecordedEntry struct {
	Key EntryKey `json:"key"`
	Entry
	Category string    `json:"category"`
	Count    uint32    `json:"count"`
	TxID     string    `json:"txId"`
	Reversal *Reversal `json:"reversal,omitempty"`
}

// OutcomeStatus is what happened to one entry of a Record batch.
type OutcomeStatus string

const (
	OutcomeRecorded OutcomeStatus = "recorded"
	// OutcomeDuplicate: an identical entry was already recorded; no-op.
	OutcomeDuplicate OutcomeStatus = "duplicate"
	// OutcomeRejected: the entry was not recorded; Code says why.
	OutcomeRejected OutcomeStatus = "rejected"
)

// Outcome reports one entry of a Record batch, in submission order. Key is
// zero if the header could not be parsed.
type Outcome struct {
	Index  int           `json:"index"`
	Key    EntryKey      `json:"key"`
	Status OutcomeStatus `json:"status"`
	Code   Code          `json:"code,omitempty"`
	Detail string        `json:"detail,omitempty"`
}

// Reverse asks to reverse an entry's charge with an auditor's endorsement.
type Reverse struct {
	Key       EntryKey `json:"key"`
	Auditor   string   `json:"auditor"`
	Verdict   Verdict  `json:"verdict"`
	Signature []byte   `json:"signature"`
}

// Account is an institution's balance and overdraft state.
type Account struct {
	MSPID   string `json:"mspId"`
	Balance int64  `json:"balance"`
	// Limit is the overdraft limit: the balance may go down to -Limit.
	Limit int64 `json:"limit"`
	// Flagged is Balance < -Limit, or UnpaidSince is set.
	Flagged bool `json:"flagged"`
	// UnpaidSince is the first period of the oldest snapshot that left
	// the institution past its limit and that the regulator has not
	// marked paid (MarkPaid); 0 if there is none.
	UnpaidSince uint64 `json:"unpaidSince,omitempty"`
}

// Snapshot is the record of the balances a run of settled periods left,
// taken out of the balances for off-chain money settlement.
type Snapshot struct {
	// Period is the first period the snapshot covers and its id
	// (snapshot/<Period>); Through is the last one. A snapshot stored
	// before snapshots covered ranges has no Through: it covers Period
	// alone, and loadSnapshot fills Through in.
	Period  uint64 `json:"period"`
	Through uint64 `json:"through,omitempty"`
	// Balances is each institution's sum of the covered periods' net
	// changes.
	Balances map[string]int64 `json:"balances"`
	TxID     string           `json:"txId"`
	// Flagged lists the institutions whose recorded balance was past
	// their overdraft limit; they stay flagged until MarkPaid.
	Flagged []string `json:"flagged,omitempty"`
	// PaidTxID is the MarkPaid transaction that recorded the snapshot's
	// balances as paid off-chain; empty until then.
	PaidTxID string `json:"paidTxId,omitempty"`
	// Payments is PaymentsDigest of the snapshot's payment instructions
	// (PaymentsCSV), recorded by RecordPayments in transaction
	// PaymentsTxID; empty until then.
	Payments     []byte `json:"payments,omitempty"`
	PaymentsTxID string `json:"paymentsTxId,omitempty"`
}

// SettleResult reports one Settle step.
type SettleResult struct {
	Period uint64 `json:"period"`
	// Processed is the number of entries this step read.
	Processed uint64 `json:"processed"`
	// Done is true when the period is settled.
	Done bool `json:"done"`
	// Flagged lists, on the last step, the institutions whose balance is
	// now below minus their overdraft limit.
	Flagged []string `json:"flagged,omitempty"`
}

// EntriesQuery selects one party's entries of a period, a page at a time.
type EntriesQuery struct {
	Period uint64 `json:"period"`
	Party  string `json:"party"`
	// AsResponder selects entries where Party answered; otherwise entries
	// where Party asked.
	AsResponder bool `json:"asResponder,omitempty"`
	// PageSize is 1 to MaxPageSize; 0 means DefaultPageSize.
	PageSize int `json:"pageSize,omitempty"`
	// Bookmark is the previous page's Bookmark; empty for the first page.
	Bookmark string `json:"bookmark,omitempty"`
}

// EntriesPage is one page of entries. Bookmark is empty on the last page.
type EntriesPage struct {
	Entries  []RecordedEntry `json:"entries"`
	Bookmark string          `json:"bookmark,omitempty"`
}
