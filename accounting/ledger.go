package accounting

import "context"

// Ledger is the consortium ledger as seen by one institution: every
// transaction is made as that institution's MSP identity. It is the union of
// the small interfaces below, which callers should accept when they need
// less.
type Ledger interface {
	Registry
	Pricing
	Recorder
	Periods
	Quality
}

// Registry is the institution registry. Add, status and roles are the
// regulator's; the profile, OPRF keys and catalogs are the caller's own.
type Registry interface {
	AddInstitution(ctx context.Context, mspID, name string, roles []Role) error
	SuspendInstitution(ctx context.Context, mspID string) error
	ReactivateInstitution(ctx context.Context, mspID string) error
	SetRoles(ctx context.Context, mspID string, roles []Role) error
	UpdateProfile(ctx context.Context, p Profile) error
	SetOPRFKey(ctx context.Context, category string, key []byte) error
	PublishCatalog(ctx context.Context, c Catalog) error

	Institution(ctx context.Context, mspID string) (*Institution, error)
	Institutions(ctx context.Context) ([]Institution, error)
	Catalog(ctx context.Context, mspID, category string, period uint64) (*Catalog, error)
}

// Pricing is the consortium's price list and overdraft limits (regulator).
type Pricing interface {
	// SetPrice sets a category's catalog price, SetModePrice its price in
	// any mode; both apply from the next period.
	SetPrice(ctx context.Context, category string, price int64) error
	SetModePrice(ctx context.Context, category string, mode Mode, price int64) error
	SetLimit(ctx context.Context, mspID string, limit int64) error
	// Prices returns the current price list of every mode.
	Prices(ctx context.Context) (*PriceList, error)
}

// Recorder records and reverses accounting entries.
type Recorder interface {
	// Record submits a batch as the responder. A whole-batch error means
	// nothing was recorded; otherwise each entry has an Outcome.
	Record(ctx context.Context, entries []Entry) ([]Outcome, error)
	// Reverse reverses an entry's charge as its requester, with an auditor's
	// endorsement over EndorsementDigest(key, VerdictUpheld).
	Reverse(ctx context.Context, r Reverse) error

	Entry(ctx context.Context, key EntryKey) (*RecordedEntry, error)
	Entries(ctx context.Context, q EntriesQuery) (*EntriesPage, error)

	// ReportBacklog records, as a provider, how many entries of period its
	// journal holds that are not on the ledger yet; ClosePeriod refuses
	// while a report counts any (docs/ledger.md).
	ReportBacklog(ctx context.Context, period, pending uint64) error
	// Exposures returns every institution's exposure: settled balance,
	// limit, unsettled spend and the headroom left.
	Exposures(ctx context.Context) ([]Exposure, error)
}

// Periods is the period state machine and the balances (regulator for the
// transactions; anyone for the queries).
type Periods interface {
	// Rollover opens the next period; the current one enters its grace
	// window. The first Rollover opens period 1.
	Rollover(ctx context.Context) (*Period, error)
	// ClosePeriod ends a period's grace window. It is refused while a
	// provider's backlog report counts entries not recorded yet.
	ClosePeriod(ctx context.Context, period uint64) error
	// ForceClosePeriod ends the grace window whatever the backlog reports
	// say, keeping them in the period record (Period.Undrained).
	ForceClosePeriod(ctx context.Context, period uint64) error
	// Settle processes up to maxEntries entries of a closed period
	// (0 = chaincode.DefaultSettleStep); call it until Done.
	Settle(ctx context.Context, period uint64, maxEntries int) (*SettleResult, error)
	// TakeSnapshot records all balances for a settled period and nets them
	// to zero.
	TakeSnapshot(ctx context.Context, period uint64) (*Snapshot, error)
	// MarkPaid records that a snapshot's balances were paid off-chain,
	// which lifts the flag of the institutions it left past their limit.
	MarkPaid(ctx context.Context, period uint64) (*Snapshot, error)

	// Period returns period n, or the current period if n is 0.
	Period(ctx context.Context, n uint64) (*Period, error)
	Snapshot(ctx context.Context, period uint64) (*Snapshot, error)
	// Backlogs returns the providers' backlog reports for period.
	Backlogs(ctx context.Context, period uint64) ([]Backlog, error)
	Account(ctx context.Context, mspID string) (*Account, error)
	Accounts(ctx context.Context) ([]Account, error)
}

// Quality is the requesters' feedback on the answers they were billed for,
// the scores the contract derives from it, and the consortium's quality
// policy (docs/quality.md).
type Quality interface {
	// ReportOutcomes submits, as the entries' requester, how many of each
	// entry's hits were confirmed, wrong or unknown. A whole-batch error
	// means nothing was stored; otherwise each report has an Outcome
	// (recorded, duplicate, or rejected with a code).
	ReportOutcomes(ctx context.Context, reports []OutcomeReport) ([]Outcome, error)
	// SetQualityPolicy sets the policy the next period captures (regulator).
	SetQualityPolicy(ctx context.Context, p QualityPolicy) error
	// QualityPolicy returns the policy the next period will capture.
	QualityPolicy(ctx context.Context) (*QualityPolicy, error)
	// Scores returns the scores q selects.
	Scores(ctx context.Context, q QualityQuery) ([]QualityScore, error)
}
