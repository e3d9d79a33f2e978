package accounting

import (
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// The ledger's record types. They are defined once, in package chaincode,
// because they are the contract's wire format; these aliases let callers
// depend on accounting alone.
type (
	Role          = chaincode.Role
	Status        = chaincode.Status
	Institution   = chaincode.Institution
	KeyVersion    = chaincode.KeyVersion
	Profile       = chaincode.Profile
	Catalog       = chaincode.Catalog
	PeriodState   = chaincode.PeriodState
	Period        = chaincode.Period
	Mode          = chaincode.Mode
	PriceList     = chaincode.PriceList
	EntryKey      = chaincode.EntryKey
	Entry         = chaincode.Entry
	RecordedEntry = chaincode.RecordedEntry
	Verdict       = chaincode.Verdict
	Reversal      = chaincode.Reversal
	Outcome       = chaincode.Outcome
	OutcomeStatus = chaincode.OutcomeStatus
	Reverse       = chaincode.Reverse
	Account       = chaincode.Account
	Snapshot      = chaincode.Snapshot
	SettleResult  = chaincode.SettleResult
	EntriesQuery  = chaincode.EntriesQuery
	EntriesPage   = chaincode.EntriesPage
	Exposure      = chaincode.Exposure
	Backlog       = chaincode.Backlog
	OutcomeReport = chaincode.OutcomeReport
	QualityQuery  = chaincode.QualityQuery
	QualityScore  = chaincode.QualityScore
	QualityPolicy = chaincode.QualityPolicy
	QualityTier   = chaincode.QualityTier
	PriceFactor   = chaincode.PriceFactor
	Rate          = chaincode.Rate
	CatalogStats  = chaincode.CatalogStats

	GovernanceRule = chaincode.Governance
	Proposal       = chaincode.Proposal
	ProposalView   = chaincode.ProposalView
	ProposalsQuery = chaincode.ProposalsQuery
	ProposalsPage  = chaincode.ProposalsPage
	Approval       = chaincode.Approval
)

// EntryKeyOf derives the ledger key of an entry from its header (a
// catalog or live transcript header, or a reconciliation header), as the
// contract does.
func EntryKeyOf(header []byte) (EntryKey, error) { return chaincode.EntryKeyOf(header) }

// NewReconEntry builds the entry that bills a reconciliation
// (docs/reconciliation.md, "Accounting").
func NewReconEntry(h *transcript.ReconHeader, requesterSignature, responderSignature []byte, amount int64) (Entry, error) {
	return chaincode.NewReconEntry(h, requesterSignature, responderSignature, amount)
}

// Constants re-exported for callers of this package.
const (
	RoleProvider  = chaincode.RoleProvider
	RoleRequester = chaincode.RoleRequester
	RoleAuditor   = chaincode.RoleAuditor

	StatusActive    = chaincode.StatusActive
	StatusSuspended = chaincode.StatusSuspended

	PeriodOpen        = chaincode.PeriodOpen
	PeriodGrace       = chaincode.PeriodGrace
	PeriodClosed      = chaincode.PeriodClosed
	PeriodSettling    = chaincode.PeriodSettling
	PeriodSettled     = chaincode.PeriodSettled
	PeriodSnapshotted = chaincode.PeriodSnapshotted

	VerdictUpheld   = chaincode.VerdictUpheld
	VerdictRejected = chaincode.VerdictRejected

	OutcomeRecorded  = chaincode.OutcomeRecorded
	OutcomeDuplicate = chaincode.OutcomeDuplicate
	OutcomeRejected  = chaincode.OutcomeRejected

	ModeCatalog   = chaincode.ModeCatalog
	ModeLive      = chaincode.ModeLive
	ModeReconcile = chaincode.ModeReconcile
)

// Modes lists every price mode, catalog first.
var Modes = chaincode.Modes

// ModeOf returns the price mode an exchange of protocol p is billed in (see
// chaincode.ModeOf).
func ModeOf(p transcript.Protocol) (Mode, bool) { return chaincode.ModeOf(p) }

// EndorsementDigest is the digest an auditor signs to endorse a verdict on an
// entry (see chaincode.EndorsementDigest).
func EndorsementDigest(k EntryKey, v Verdict) ([32]byte, error) {
	d, err := chaincode.EndorsementDigest(k, v)
	return d, mapError(err)
}
