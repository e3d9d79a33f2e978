package demo

import "github.com/riskmesh/riskmesh/accounting"

// Summary is what --json prints.
type Summary struct {
	OK        bool   `json:"ok"`
	Error     string `json:"error,omitempty"`
	Dir       string `json:"dir"`
	Scale     int    `json:"scale"`
	Seed      uint64 `json:"seed"`
	Requester string `json:"requester"`
	Category  string `json:"category"`
	Batch     int    `json:"batch"`
	// Hits and Expected count the identifiers with at least one hit, as
	// answered and as planted; Checked is true when every item's hits and
	// labels matched the expectation.
	Hits     int  `json:"hits"`
	Expected int  `json:"expected"`
	Checked  bool `json:"checked"`
	// Audited is the number of answers whose transcripts passed every
	// audit check (and an altered copy failed).
	Audited int `json:"audited"`
	// Rotated names the institutions whose signing keys the rotation scene
	// replaced; ReAudited counts the earlier transcripts that still passed
	// every check afterwards.
	Rotated   []string `json:"rotated"`
	ReAudited int      `json:"re_audited"`
	// Amount is what the query cost the requester, in tokens.
	Amount int64 `json:"amount"`
	// Entries are the period's entries: the query's, then the disputed
	// one, reversed.
	Entries []Entry `json:"entries"`
	// Dispute is the dispute scene's outcome.
	Dispute *Dispute `json:"dispute,omitempty"`
	// Claim is the rejected dispute of an honest answer.
	Claim *Claim `json:"claim,omitempty"`
	// Quality is the quality scene's outcome.
	Quality *Quality `json:"quality,omitempty"`
	// BalancesBefore are after settlement, before the snapshot; Snapshot
	// is what the snapshot recorded; BalancesAfter are after it.
	BalancesBefore map[string]int64 `json:"balances_before"`
	Snapshot       map[string]int64 `json:"snapshot"`
	BalancesAfter  map[string]int64 `json:"balances_after"`
	// TimingsMS are the steps' wall-clock durations in milliseconds.
	TimingsMS map[string]int64 `json:"timings_ms"`
}

type Entry struct {
	Requester string `json:"requester"`
	Responder string `json:"responder"`
	Category  string `json:"category"`
	Items     uint32 `json:"items"`
	Amount    int64  `json:"amount"`
	// Reversed names the auditor that reversed the entry's charge, empty
	// if it stands.
	Reversed string `json:"reversed,omitempty"`
}

// Dispute is the dispute scene's outcome: the misbehaving
// provider's part of the query as the requester saw it, and the dispute as
// GetQuery reports it once the requester's node acted on the verdict.
type Dispute struct {
	Provider string `json:"provider"`
	// Status is the provider's part of the query ("DISPUTED"); State the
	// dispute's ("REVERSED").
	Status string `json:"status"`
	State  string `json:"state"`
	// Items and Amount are what the provider billed, then saw reversed.
	Items  uint32 `json:"items"`
	Amount int64  `json:"amount"`
	// Auditor upheld the dispute; Reversed counts the ledger entries whose
	// charge it reversed.
	Auditor  string `json:"auditor"`
	Reversed int    `json:"reversed"`
}

// Claim is the claim scene's outcome: the entry disputed, the
// auditor's verdict and whether the charge still stands on the ledger.
type Claim struct {
	Responder string `json:"responder"`
	Sequence  uint64 `json:"sequence"`
	Verdict   string `json:"verdict"`
	Stands    bool   `json:"stands"`
}

// Quality is the quality scene's outcome: the feedback on period 1's
// answers, the scores the ledger derived from it, and the period they
// priced.
type Quality struct {
	// Provider is the institution whose list carries planted false
	// positives.
	Provider string                   `json:"provider"`
	Policy   accounting.QualityPolicy `json:"policy"`
	// Entries are the period 1 entries of the scene's queries, one or more
	// per requester and provider.
	Entries []Entry `json:"entries"`
	// Reports are what each requester reported on each provider's hits.
	Reports []Report `json:"reports"`
	// Scores are each provider's scores from period 1's reports, as the
	// ledger and the business API showed them, with what they set in
	// Period.
	Scores []Score `json:"scores"`
	// Period is the period the policy priced.
	Period uint64 `json:"period"`
	// Priced are the entries of the requester's ranked query in Period.
	Priced []Entry `json:"priced"`
	// RankedLast counts the ranked query's identifiers on which Provider's
	// hit came after another provider's.
	RankedLast int `json:"ranked_last"`
}

// Report is one requester's outcomes on one provider's hits.
type Report struct {
	Requester string `json:"requester"`
	Provider  string `json:"provider"`
	Confirmed uint64 `json:"confirmed"`
	Wrong     uint64 `json:"wrong"`
}

// Score is one provider's score in the queried category, in basis points,
// and the tier, multiplier and price per item it set in the priced period
// (tier 0, x1 without a shown score).
type Score struct {
	Provider  string `json:"provider"`
	Coverage  uint32 `json:"coverage"`
	Confirmed uint64 `json:"confirmed"`
	Wrong     uint64 `json:"wrong"`
	Shown     bool   `json:"shown"`
	// ConfirmationBP is the median of the requesters' confirmation rates,
	// Values; WrongRateBP the median of their wrong-hit rates.
	ConfirmationBP uint32   `json:"confirmation_bp"`
	Values         []uint32 `json:"values,omitempty"`
	WrongRateBP    uint32   `json:"wrong_rate_bp"`
	Tier           int      `json:"tier"`
	MultiplierBP   uint32   `json:"multiplier_bp"`
	Price          int64    `json:"price"`
}

// score returns provider's score, nil if it has none.
func (q *Quality) score(provider string) *Score {
	for i := range q.Scores {
		if q.Scores[i].Provider == provider {
			return &q.Scores[i]
		}
	}
	return nil
}
