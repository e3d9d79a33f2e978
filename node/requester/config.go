package requester

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/node/mirror"
	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Directory is what the requester reads of the node's registry cache
// (*registry.Directory implements it).
type Directory interface {
	View() *registry.View
	Recheck(ctx context.Context) *registry.View
	Changes() <-chan struct{}
	Catalog(ctx context.Context, msp, category string, period uint64) (*accounting.Catalog, error)
}

var _ Directory = (*registry.Directory)(nil)

// Periods reads period states from the ledger, to know which periods
// settlement has already counted in the balance.
type Periods interface {
	Period(ctx context.Context, n uint64) (*accounting.Period, error)
}

// Catalogs is the node's verified copy of providers' catalogs
// (node/mirror's *Mirror implements it): a query part is blinded against
// the catalog Ready returns, and Providers reports RemoteCatalogs.
type Catalogs interface {
	Ready(provider, category string, period uint64) (*catalogpsi.Requester, oprf.KeyID, bool)
	RemoteCatalogs() []*riskmeshv1.RemoteCatalog
}

var _ Catalogs = (*mirror.Mirror)(nil)

// Conns sends requests to providers' nodes over the node's shared
// connections (node/outbound's *Conns implements it). A failure before the
// request was written is an *outbound.NotSentError.
type Conns interface {
	Do(ctx context.Context, inst *accounting.Institution, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error)
	Reachable(msp string) bool
}

var _ Conns = (*outbound.Conns)(nil)

// Config configures a Requester. The fields up to Catalogs are required;
// every other zero field takes the default in its comment.
type Config struct {
	// MSPID is this institution.
	MSPID string
	// Directory is the node's registry cache.
	Directory Directory
	// Ledger reads period states (usually the node's accounting.Ledger).
	Ledger Periods
	// Conns reaches providers' nodes.
	Conns Conns
	// Sign signs transcript request digests with the institution's
	// registered transcript-signing key.
	Sign ecsig.Sign
	// DB is the node's bbolt file; the requester creates and uses only its
	// "requester/..." buckets.
	DB *bolt.DB
	// Seal, when set, seals the values of the query records, pending
	// results and transcripts in DB, each bound to its bucket and key.
	// Default nil: stored in plain.
	Seal *seal.Keyring
	// Catalogs is the node's catalog mirror.
	Catalogs Catalogs

	// Mode is how a query that names no mode asks each provider
	// (docs/node-requester.md, "Live mode"). Default QUERY_MODE_AUTO:
	// catalog PSI where a verified catalog is ready, live mode otherwise.
	Mode riskmeshv1.QueryMode

	// BatchWindow is the longest a query part waits, while a request to
	// the same provider is in flight, for others to share one request
	// with; with nothing in flight it goes at once. Default 2 ms; negative
	// disables coalescing.
	BatchWindow time.Duration
	// MaxBatch is the most items in one request to a provider. Default and
	// maximum oprf.MaxBatch (65,535).
	MaxBatch int
	// SplitItems, if above zero, is the fewest items per exchange when a
	// large catalog part is cut into pipelined exchanges: a provider part
	// of at least twice as many distinct identifiers goes as several
	// exchanges, the provider evaluating one while this node blinds the
	// next and verifies the one before (docs/node-requester.md,
	// "Pipelined exchanges"). Default 0: never split; on two cores shared
	// with the provider, splitting cost CPU and gained no wall time.
	SplitItems int
	// MaxIdentifiers bounds a query's identifiers. Default 100,000.
	MaxIdentifiers int
	// DefaultDeadline is a query's deadline when the request sets none.
	// Default 30 s.
	DefaultDeadline time.Duration
	// MaxDeadline caps a requested deadline. Default 10 minutes.
	MaxDeadline time.Duration
	// RetryBackoff is the first wait before retrying a provider request;
	// it doubles per attempt up to MaxRetryBackoff. Defaults 50 ms and 2 s.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// Identifiers says how the business systems' identifiers written in
	// national form are read (psi/ident.Config); the zero value refuses
	// them. It must match how the consortium's lists are written.
	Identifiers ident.Config
	// LateAnswerWindow is how long after a query's deadline a request that
	// may have reached a provider without its answer arriving is still
	// sent, byte for byte with the retry back-off: a provider bills what it
	// answers, and a late answer is verified and added to the query's
	// record. It ends sooner when the query's period is no longer accepted.
	// Default 2 minutes; negative disables it.
	LateAnswerWindow time.Duration
	// MaxLateAnswers bounds the late requests pending at once; beyond it
	// the oldest is dropped. Default 1024.
	MaxLateAnswers int
	// PhaseTimeout bounds each late request and each redelivery request.
	// Default 15 s.
	PhaseTimeout time.Duration
	// QueryRetention is how long query records are kept. Default 365 days.
	QueryRetention time.Duration
	// TranscriptPeriods is how many periods of transcripts (and sequence
	// records) are kept before the current one. Default 90.
	TranscriptPeriods uint64
	// Disputed, if set, receives every answer found DISPUTED whose
	// transcript is well-formed, with the reason, as soon as it is found:
	// the node hands it to its dispute filer (node/dispute Auto.Enqueue).
	// It is called from the query's goroutine and should not block long.
	Disputed func(t *transcript.Transcript, reason string)
	// DisputeStatus, if set, reports where the dispute of an exchange
	// stands (node/dispute Auto.Status); GetQuery shows it in each
	// ProviderResult's disputes instead of the state recorded when the
	// answer was disputed. ok is false for an exchange it does not know.
	DisputeStatus func(key accounting.EntryKey) (state riskmeshv1.DisputeState, reason string, ok bool)
	// Bills, if set, is read to reconcile the ledger entries billed to
	// this institution against the answers it verified
	// (docs/node-requester.md, "Reconciliation"); nil disables it.
	Bills Bills
	// ReconTranscript returns the transcript this node keeps of a
	// reconciliation it ran as requester (node/recon.ReadTranscript), or
	// an error if it keeps none; reconciliation entries billed to this
	// institution are matched against it. nil: this node runs no
	// reconciliations, and every such entry is disputed.
	ReconTranscript func(k accounting.EntryKey) (*transcript.ReconTranscript, error)
	// ReconDispute, if set, queues the dispute of a DISPUTED
	// reconciliation entry with the auditor, from the evidence the node
	// kept of the answer it refused (node/dispute Auto.ReconFiler, which
	// files it and reverses it if upheld); outcome says where it stands
	// (including that nothing was kept to file). An error is retried on
	// the next pass.
	ReconDispute func(ctx context.Context, k accounting.EntryKey, claim string) (outcome string, err error)
	// Quality, if set, takes the business's outcome reports to the ledger
	// and reads the providers' quality scores (docs/quality.md); nil
	// disables ReportOutcomes, the scores in Providers and the query's
	// quality options.
	Quality Quality
	// ReconcileInterval is how often reconciliation runs. Default 5
	// minutes; negative disables the background pass (Reconcile still
	// runs on demand).
	ReconcileInterval time.Duration
	// NonDeliveryAfter is how long a billed entry stays without its answer
	// (redelivery failing) before a non-delivery dispute is filed,
	// counted from MaxDeadline + LateAnswerWindow after it was first seen,
	// when no exchange can still bring the answer. Default 30 minutes.
	NonDeliveryAfter time.Duration
	// NonDelivered, if set, receives each billed entry whose answer never
	// arrived and was not redelivered, once, with why: the node hands it
	// to its dispute filer (node/dispute Auto.EnqueueNonDelivery).
	NonDelivered func(key accounting.EntryKey, reason string)
	// ProducedAnswer, if set, returns the billed answer a provider produced
	// to the auditor for a rejected non-delivery dispute (node/dispute
	// Auto.Produced): reconciliation takes it when the provider still
	// will not redeliver to this node.
	ProducedAnswer func(key accounting.EntryKey) (*transcript.Transcript, bool)
	// LiveUnanswered, if set, receives each billed live exchange whose
	// homomorphic query this node signed and sent but never got answered,
	// NonDeliveryAfter after no exchange can still bring the answer, once,
	// with the step to dispute (node/dispute Auto.LiveUnanswered;
	// docs/audit.md, "Live mode").
	LiveUnanswered func(key accounting.EntryKey, step *audit.LiveStep)
	// Recorded, if set, is called inside the bbolt transaction that
	// records each change to a query (a provider's part, the merged
	// result, a later change) or to a billed entry's reconciliation state,
	// with the change as the business API shows it; its error aborts the
	// transaction. node/push journals its events there, so a crash keeps
	// a change and its event together or neither.
	Recorded func(tx *bolt.Tx, ev *riskmeshv1.PushEvent) error
	// Pruned, if set, is called inside the bbolt transaction that deletes
	// the queries past QueryRetention (their ids) and the transcripts and
	// reconciliation records of periods before minPeriod; its error aborts
	// the transaction. No change can be recorded for what was deleted, so
	// node/push forgets those event streams there.
	Pruned func(tx *bolt.Tx, queryIDs []string, minPeriod uint64) error
	// Logger receives events without identifiers (default: discard).
	Logger *slog.Logger
	// Rand is the randomness for blinds and query ids (default
	// crypto/rand.Reader). It is read concurrently, so it must be safe for
	// concurrent use.
	Rand io.Reader
	// Now is the clock for the times recorded and reported (default
	// time.Now); deadlines and back-offs run on the real clock.
	Now func() time.Time
}

// Defaults of Config's zero fields.
const (
	DefaultBatchWindow       = 2 * time.Millisecond
	DefaultMaxIdentifiers    = 100_000
	DefaultDeadline          = 30 * time.Second
	DefaultMaxDeadline       = 10 * time.Minute
	MinDeadline              = 100 * time.Millisecond
	DefaultLateAnswerWindow  = 2 * time.Minute
	DefaultMaxLateAnswers    = 1024
	DefaultQueryRetention    = 365 * 24 * time.Hour
	DefaultTranscriptPeriods = 90
	DefaultReconcileInterval = 5 * time.Minute
	DefaultNonDeliveryAfter  = 30 * time.Minute
)

// withDefaults validates c once and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	switch {
	case !names.MSPID(c.MSPID):
		return c, fmt.Errorf("%w: MSP id %q", ErrConfig, c.MSPID)
	case c.Directory == nil || c.Ledger == nil || c.Conns == nil || c.Sign == nil || c.DB == nil || c.Catalogs == nil:
		return c, fmt.Errorf("%w: Directory, Ledger, Conns, Sign, DB and Catalogs are required", ErrConfig)
	case c.MaxBatch < 0 || c.MaxBatch > oprf.MaxBatch:
		return c, fmt.Errorf("%w: MaxBatch %d not in 0..%d", ErrConfig, c.MaxBatch, oprf.MaxBatch)
	case c.MaxIdentifiers < 0 || c.DefaultDeadline < 0 || c.MaxDeadline < 0 || c.RetryBackoff < 0 ||
		c.MaxRetryBackoff < 0 || c.PhaseTimeout < 0 || c.SplitItems < 0 || c.QueryRetention < 0 || c.MaxLateAnswers < 0 || c.NonDeliveryAfter < 0:
		return c, fmt.Errorf("%w: negative value", ErrConfig)
	case c.Mode < 0 || c.Mode > riskmeshv1.QueryMode_QUERY_MODE_LIVE:
		return c, fmt.Errorf("%w: mode %v", ErrConfig, c.Mode)
	}
	c.Mode = cmp.Or(c.Mode, riskmeshv1.QueryMode_QUERY_MODE_AUTO)
	c.BatchWindow = cmp.Or(c.BatchWindow, DefaultBatchWindow)
	c.MaxBatch = cmp.Or(c.MaxBatch, oprf.MaxBatch)
	c.MaxIdentifiers = cmp.Or(c.MaxIdentifiers, DefaultMaxIdentifiers)
	c.DefaultDeadline = cmp.Or(c.DefaultDeadline, DefaultDeadline)
	c.MaxDeadline = cmp.Or(c.MaxDeadline, DefaultMaxDeadline)
	c.RetryBackoff = cmp.Or(c.RetryBackoff, outbound.DefaultRetryBackoff)
	c.MaxRetryBackoff = cmp.Or(c.MaxRetryBackoff, outbound.DefaultMaxRetryBackoff)
	c.LateAnswerWindow = cmp.Or(c.LateAnswerWindow, DefaultLateAnswerWindow)
	c.MaxLateAnswers = cmp.Or(c.MaxLateAnswers, DefaultMaxLateAnswers)
	c.PhaseTimeout = cmp.Or(c.PhaseTimeout, outbound.DefaultPhaseTimeout)
	c.QueryRetention = cmp.Or(c.QueryRetention, DefaultQueryRetention)
	c.TranscriptPeriods = cmp.Or(c.TranscriptPeriods, DefaultTranscriptPeriods)
	c.ReconcileInterval = cmp.Or(c.ReconcileInterval, DefaultReconcileInterval)
	c.NonDeliveryAfter = cmp.Or(c.NonDeliveryAfter, DefaultNonDeliveryAfter)
	if c.DefaultDeadline < MinDeadline || c.MaxDeadline < c.DefaultDeadline {
		return c, fmt.Errorf("%w: deadlines must satisfy %v <= default <= max", ErrConfig, MinDeadline)
	}
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	c.Rand = cmp.Or(c.Rand, rand.Reader)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}
