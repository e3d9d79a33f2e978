package auditor

import (
	"cmp"
	"errors"
	"log/slog"
	"time"

	"go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/peer"
)

// Config configures a Service. MSPID, Ledger, Sign, DB and Authorizer are
// required; the zero value of every other field works.
type Config struct {
	// MSPID is the auditor institution; it must hold the active auditor
	// role on the ledger when a dispute is judged.
	MSPID string
	// Ledger is read for every dispute: the verification's facts and the
	// auditor's own registry record (any identity may read them).
	Ledger audit.Ledger
	// Sign signs verdicts with the key registered as MSPID's signing key.
	Sign ecsig.Sign
	// DB is the auditor's bbolt file; the service creates its buckets.
	DB *bbolt.DB
	// Authorizer maps a caller's certificate fingerprint to an active
	// institution (registry.Directory.Authorize).
	Authorizer peer.Authorizer

	// Redeliver asks the provider of a billed entry for the answer it
	// billed (a RedeliverRequest on the peer protocol, PeerRedeliver), for
	// non-delivery disputes. Nil refuses them with ErrNoRedeliver.
	Redeliver Redeliver
	// RedeliverLive asks the provider of a billed live exchange for the
	// homomorphic step it recorded (PeerRedeliverLive), for live disputes.
	// Nil refuses them with ErrNoRedeliver.
	RedeliverLive RedeliverLive

	// MaxTranscriptSize bounds a disputed transcript (default 8 MiB).
	MaxTranscriptSize int
	// MaxInFlight bounds the disputes one institution has judged at a time
	// (default 2): verifying a full batch costs seconds of CPU, so a
	// member filing in a loop gets ErrBusy instead of the auditor's cores.
	MaxInFlight int
	// Timeout bounds one dispute's ledger reads (default 30 s).
	Timeout time.Duration
	// GracePeriod bounds a graceful stop of Serve (default 5 s).
	GracePeriod time.Duration
	// Logger receives dispute events without identifiers (default: discard).
	Logger *slog.Logger
	// Now is the clock verdicts are dated with (default time.Now).
	Now func() time.Time
}

// MaxClaimLen bounds the requester's claim text.
const MaxClaimLen = 512

func (c *Config) validate() error {
	switch {
	case c.MSPID == "":
		return errors.New("auditor: Config.MSPID is required")
	case c.Ledger == nil:
		return errors.New("auditor: Config.Ledger is required")
	case c.Sign == nil:
		return errors.New("auditor: Config.Sign is required")
	case c.DB == nil:
		return errors.New("auditor: Config.DB is required")
	case c.Authorizer == nil:
		return errors.New("auditor: Config.Authorizer is required")
	}
	if c.MaxTranscriptSize <= 0 {
		c.MaxTranscriptSize = 8 << 20
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 2
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.GracePeriod <= 0 {
		c.GracePeriod = 5 * time.Second
	}
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}
