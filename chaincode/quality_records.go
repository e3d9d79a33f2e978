package chaincode

// The quality records: what requesters report about the answers they were
// billed for, the scores the contract derives from the reports, and the
// consortium policy that turns scores into price multipliers
// (docs/quality.md). Rates are integers in basis points (1/10000), never
// floats, so every endorser computes the same figures.

// BasisPoints is the scale of rates and multipliers: 10000 is 100 % (a rate)
// or x1 (a multiplier).
const BasisPoints = 10000

// OutcomeReport is a requester's feedback on one recorded entry it was
// billed for: of the entry's hits, how many its business confirmed, how
// many turned out wrong and how many are still unknown. Counts only: the
// report never names an identifier or which item hit. Confirmed + Wrong +
// Unknown is the entry's hit count and cannot exceed the items it billed.
type OutcomeReport struct {
	Key       EntryKey `json:"key"`
	Confirmed uint32   `json:"confirmed"`
	Wrong     uint32   `json:"wrong"`
	Unknown   uint32   `json:"unknown"`
}

// Hits returns the report's hit count.
func (r *OutcomeReport) Hits() uint64 {
	return uint64(r.Confirmed) + uint64(r.Wrong) + uint64(r.Unknown)
}

// storedReport is an OutcomeReport as kept on the ledger, with the entry
// figures its requester's summary counted it under.
type storedReport struct {
	OutcomeReport
	Category string `json:"category"`
	Items    uint32 `json:"items"`
	TxID     string `json:"txId"`
}

// QualitySum adds up one requester's reports on one provider's entries of
// one category in one period. Only that requester writes it.
type QualitySum struct {
	Entries   uint64 `json:"entries"`
	Items     uint64 `json:"items"`
	Confirmed uint64 `json:"confirmed"`
	Wrong     uint64 `json:"wrong"`
	Unknown   uint64 `json:"unknown"`
}

// QualityQuery selects scores: those of Period (0 = the current one), of
// one provider or category or all of them, over the Window periods ending
// at Period (0 = the policy's window; 1 = the period alone).
type QualityQuery struct {
	Period   uint64 `json:"period,omitempty"`
	Provider string `json:"provider,omitempty"`
	Category string `json:"category,omitempty"`
	Window   uint32 `json:"window,omitempty"`
}

// Rate is one score: the median across requesters of each requester's own
// rate. It is shown only when at least the policy's MinRequesters
// requesters define it; otherwise BP is 0 and Values empty.
type Rate struct {
	// BP is the median in basis points.
	BP uint32 `json:"bp"`
	// Requesters is the number of requesters whose reports define the rate.
	Requesters uint32 `json:"requesters"`
	Shown      bool   `json:"shown"`
	// Values are the requesters' own rates, sorted, without their names:
	// the figures the median was taken from, so anyone can check it and
	// the bound on how far one requester moves it (docs/quality.md).
	Values []uint32 `json:"values,omitempty"`
}

// QualityScore is a provider's score in one category over periods
// From..To, with the provider's own declared catalog statistics of period To.
type QualityScore struct {
	Provider string `json:"provider"`
	Category string `json:"category"`
	From     uint64 `json:"from"`
	To       uint64 `json:"to"`
	// Coverage is the number of requesters that reported; Entries, Items
	// and the hit counts add up all their reports.
	Coverage  uint32 `json:"coverage"`
	Entries   uint64 `json:"entries"`
	Items     uint64 `json:"items"`
	Confirmed uint64 `json:"confirmed"`
	Wrong     uint64 `json:"wrong"`
	Unknown   uint64 `json:"unknown"`
	// HitRate is hits per item answered; Confirmation is confirmed per
	// resolved hit (confirmed + wrong); WrongRate is wrong per hit.
	HitRate      Rate `json:"hitRate"`
	Confirmation Rate `json:"confirmation"`
	WrongRate    Rate `json:"wrongRate"`
	// Declared is what the provider published with its catalog of period
	// To; nil if it published none.
	Declared *CatalogStats `json:"declared,omitempty"`
}

// CatalogStats is what a provider declares about a catalog when it
// publishes it: claims, shown beside the requesters' scores, that the
// contract cannot check.
type CatalogStats struct {
	// Entries is the number of identifiers in the catalog.
	Entries uint64 `json:"entries"`
	// Added and Removed count the identifiers added and removed since the
	// provider's previous catalog of the category.
	Added   uint64 `json:"added"`
	Removed uint64 `json:"removed"`
	// MeanAgeDays is the mean age of the entries, in days since listed.
	MeanAgeDays uint32 `json:"meanAgeDays"`
}

// QualityPolicy is the consortium's quality policy. The regulator sets it
// as it sets prices; a Rollover captures it into the period it opens, with
// the price factors it yields, so a change applies from the next period.
type QualityPolicy struct {
	// MinRequesters is how many requesters must report before a rate is
	// shown or moves a price (at least MinPolicyRequesters).
	MinRequesters uint32 `json:"minRequesters"`
	// Window is how many periods a rolling score covers (1 to MaxWindow).
	Window uint32 `json:"window"`
	// Tiers map the confirmation rate to a price multiplier, best first:
	// a provider is in the first tier whose MinConfirmation its rolling
	// confirmation rate reaches. The last tier's MinConfirmation is 0.
	Tiers []QualityTier `json:"tiers"`
}

// QualityTier is one step of the policy.
type QualityTier struct {
	MinConfirmation uint32 `json:"minConfirmation"`
	// Multiplier scales the category's price, in basis points (10000 = x1).
	Multiplier uint32 `json:"multiplier"`
}

// PriceFactor is the multiplier a period applies to one provider's price
// in one category, and why: the rolling confirmation rate it was placed by,
// over periods From..To, and the tier of the period's policy it reached.
type PriceFactor struct {
	Provider     string `json:"provider"`
	Category     string `json:"category"`
	Tier         int    `json:"tier"`
	Multiplier   uint32 `json:"multiplier"`
	Confirmation Rate   `json:"confirmation"`
	From         uint64 `json:"from"`
	To           uint64 `json:"to"`
}
