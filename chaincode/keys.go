package chaincode

import (
	"encoding/hex"

	"github.com/riskmesh/riskmesh/internal/names"
	"strconv"
	"strings"
)

// State keys are printable ASCII (Fabric requires UTF-8 and reserves a
// leading 0x00 for composite keys), "/"-separated, with fixed-width decimal
// numbers so that lexical order is numeric order and a prefix range selects
// exactly one period or party. MSP ids and categories cannot contain "/"
// (ValidMSPID, ValidCategory), which keeps the encoding unambiguous.
const (
	keyCurrent     = "current"   // current period number
	prefixInst     = "inst/"     // inst/<msp> -> Institution
	prefixPrice    = "price/"    // price/<category> (catalog) or price/<category>/<mode> -> int64
	prefixLimit    = "limit/"    // limit/<msp> -> int64
	prefixBalance  = "balance/"  // balance/<msp> -> Account (without Limit)
	prefixPeriod   = "period/"   // period/<n> -> Period
	prefixSnapshot = "snapshot/" // snapshot/<n> -> Snapshot
	prefixCatalog  = "catalog/"  // catalog/<msp>/<category>/<n> -> Catalog
	prefixEntry    = "entry/"    // entry/<n>/<requester>/<responder>/<seq> -> RecordedEntry
	prefixOwner    = "owner/"    // owner/<kind>/<hex id> -> credentialOwner (owners.go)
	prefixSpent    = "spent/"    // spent/<n>/<requester>/<responder> -> int64, written by the responder's Records
	prefixRefund   = "refund/"   // refund/<n>/<requester> -> int64, written by the requester's Reverses
	prefixDebt     = "debt/"     // debt/<msp> -> []uint64, snapshotted periods owed past the limit, unpaid
	prefixBacklog  = "backlog/"  // backlog/<n>/<msp> -> Backlog, written by the provider itself
	prefixReport   = "report/"   // report/<n>/<requester>/<responder>/<seq> -> storedReport, written by the requester
	prefixQSum     = "qsum/"     // qsum/<n>/<responder>/<category>/<requester> -> QualitySum, written by the requester
	keyQPolicy     = "qpolicy"   // the quality policy the next Rollover captures
)

// numWidth is the width of a zero-padded uint64 (max 18446744073709551615).
const numWidth = 20

func num(n uint64) string {
	s := strconv.FormatUint(n, 10)
	return strings.Repeat("0", numWidth-len(s)) + s
}

// rangeEnd returns the exclusive end of the key range holding every key that
// starts with prefix (which ends in "/"): "/" + 1 is "0".
func rangeEnd(prefix string) string { return prefix[:len(prefix)-1] + "0" }

func periodKey(n uint64) string   { return prefixPeriod + num(n) }
func snapshotKey(n uint64) string { return prefixSnapshot + num(n) }

func instKey(msp string) string    { return prefixInst + msp }
func limitKey(msp string) string   { return prefixLimit + msp }
func balanceKey(msp string) string { return prefixBalance + msp }

// priceKey is where category's price in mode is kept. The catalog price
// keeps the key it had before modes existed; the others append the mode,
// which cannot collide since a category holds no "/".
func priceKey(category string, mode Mode) string {
	if mode == ModeCatalog {
		return prefixPrice + category
	}
	return prefixPrice + category + "/" + string(mode)
}

// parsePriceKey is priceKey's inverse; ok is false for a key priceKey
// cannot make.
func parsePriceKey(key string) (category string, mode Mode, ok bool) {
	rest, ok := strings.CutPrefix(key, prefixPrice)
	if !ok {
		return "", "", false
	}
	category, m, hasMode := strings.Cut(rest, "/")
	mode = ModeCatalog
	if hasMode {
		mode = Mode(m)
	}
	if !ValidCategory(category) || !mode.Valid() || priceKey(category, mode) != key {
		return "", "", false
	}
	return category, mode, true
}

func ownerKey(kind credentialKind, id [32]byte) string {
	return prefixOwner + string(kind) + "/" + hex.EncodeToString(id[:])
}

// spentKey is where the responder's Records add up what they billed the
// requester in a period: one key per (period, requester, responder), written
// only by that responder, so providers recording at once never conflict.
func spentKey(period uint64, requester, responder string) string {
	return prefixSpent + num(period) + "/" + requester + "/" + responder
}

// refundKey is where the requester's Reverses add up what was reversed in a
// period before it settled; only that requester writes it.
func refundKey(period uint64, requester string) string {
	return prefixRefund + num(period) + "/" + requester
}

func debtKey(msp string) string { return prefixDebt + msp }

func backlogKey(period uint64, msp string) string { return prefixBacklog + num(period) + "/" + msp }

// reportKey is where the entry's requester keeps its outcome report: the
// entry key under another prefix, so only the requester writes it.
func reportKey(k EntryKey) string {
	return prefixReport + strings.TrimPrefix(k.String(), prefixEntry)
}

// qsumKey is where a requester adds up its reports on one provider and
// category in a period. Only that requester writes it, so requesters
// reporting at once never conflict (like spentKey for providers), and a
// score reads one range per provider and period.
func qsumKey(period uint64, responder, category, requester string) string {
	return qsumPrefix(period, responder, category) + requester
}

func qsumPrefix(period uint64, responder, category string) string {
	return prefixQSum + num(period) + "/" + responder + "/" + category + "/"
}

func catalogKey(msp, category string, period uint64) string {
	return prefixCatalog + msp + "/" + category + "/" + num(period)
}

// EntryPrefix returns the prefix of every entry key of period: a
// period's entries are one key range.
func EntryPrefix(period uint64) string { return prefixEntry + num(period) + "/" }

// String returns the entry's state key.
func (k EntryKey) String() string {
	return EntryPrefix(k.Period) + k.Requester + "/" + k.Responder + "/" + num(k.Sequence)
}

// Validate checks that the key's parties are well-formed MSP ids.
func (k EntryKey) Validate() error {
	if !ValidMSPID(k.Requester) || !ValidMSPID(k.Responder) {
		return newError(CodeInvalidArgument, "entry key: invalid party")
	}
	if k.Requester == k.Responder {
		return newError(CodeInvalidArgument, "entry key: requester and responder are the same")
	}
	if k.Period == 0 {
		return newError(CodeInvalidArgument, "entry key: period 0")
	}
	return nil
}

// Input bounds. Everything a caller sends is checked against them before use.
const (
	// MaxMSPIDLen and MaxCategoryLen are the consortium's naming bounds
	// (internal/names), shared with transcripts and catalogs.
	MaxMSPIDLen    = names.MaxMSPIDLen
	MaxCategoryLen = names.MaxCategoryLen
	// MaxNameLen and MaxEndpointLen bound registry strings.
	MaxNameLen     = 256
	MaxEndpointLen = 256
	// MaxBatch bounds the entries of one Record transaction.
	MaxBatch = 1000
	// DefaultPageSize and MaxPageSize bound one page of a paginated query.
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// DefaultSettleStep and MaxSettleStep bound the entries one Settle
	// transaction reads, so settlement of any period size streams in
	// bounded transactions. A step reads one entry more than its size (to
	// know whether it is the last), which must stay below Fabric's
	// ledger.state.totalQueryLimit (default 100,000): past it a peer's range
	// iterator ends silently and a step would wrongly look final.
	DefaultSettleStep = 10000
	MaxSettleStep     = 50000
	// MaxCategories bounds the categories priced in each mode, and so the
	// price list captured into a period.
	MaxCategories = 256
	// MaxPastSigningKeys bounds an institution's replaced signing keys.
	// A rotation past it drops the oldest key once the last period it
	// covered is snapshotted (nothing can be reversed there any more), and
	// is refused before.
	MaxPastSigningKeys = 8
	// MaxArgSize bounds one JSON argument (a full batch of entries is about
	// 600 KiB).
	MaxArgSize = 4 << 20
	// FingerprintSize, OPRFKeySize and CatalogDigestSize are fixed lengths.
	FingerprintSize   = 32
	OPRFKeySize       = 32
	CatalogDigestSize = 32
	HashSize          = 32
)

// ValidMSPID reports whether s is a usable MSP id: 1 to MaxMSPIDLen bytes of
// [A-Za-z0-9._-].
func ValidMSPID(s string) bool { return names.MSPID(s) }

// ValidCategory reports whether s is a usable category: 1 to MaxCategoryLen
// bytes of [A-Za-z0-9._-], the transcript header's rule.
func ValidCategory(s string) bool { return names.Category(s) }
