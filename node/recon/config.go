package recon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// List is one list a node may reconcile, as a requester or a responder.
type List struct {
	// Name is how reconciliations name it (1 to 64 bytes of
	// [A-Za-z0-9._-]); a requester names the responder's list by it.
	Name string
	// Category is the ledger category a reconciliation of this list is
	// billed under, when this node is the responder.
	Category string
	// Code is the list category code (1..255) of the rows to read.
	Code uint8
	// Source reads the rows (node/lists: a file or a PostgreSQL query).
	Source lists.Source
}

// Grant is one rule of a responder's policy: this requester may reconcile
// this list in these modes. Anything no grant admits is refused.
type Grant struct {
	// Requester is the MSP id admitted.
	Requester string
	// List names one of Config.Lists.
	List string
	// Protocols are the modes admitted: transcript.ProtocolECDHRequesterLearns
	// and/or transcript.ProtocolECDHBothLearn.
	Protocols []transcript.Protocol
	// ShareLabels agrees, in both-learn, to exchange the labels of matched
	// rows with this requester when it asks (docs/reconciliation.md,
	// "Labels, by consent"). Default false: no label leaves the node.
	ShareLabels bool
}

// SigningKeys returns an institution's transcript-signing public keys (PKIX
// DER) valid in a period, from the node's ledger view.
type SigningKeys func(ctx context.Context, mspID string, period uint64) ([][]byte, error)

// Bill records a finished reconciliation this node answered as responder
// (the accounting hook; JournalBill is the node's): the signed header is
// the entry's evidence. The node marks the reconciliation billed once it
// returns nil, and Rebill calls it again for one it did not mark.
type Bill func(ctx context.Context, t *transcript.ReconTranscript) error

// Config configures a Node. The fields up to Dir are required; every other
// zero field takes the default in its comment.
type Config struct {
	// MSPID is this institution's MSP id.
	MSPID string
	// Sign signs header and record digests with the institution's
	// registered signing key.
	Sign ecsig.Sign
	// Keys looks up a peer's signing keys.
	Keys SigningKeys
	// Dir holds each reconciliation's result file and transcript.
	Dir string
	// DB is the node's bbolt file (node.db): the state of each
	// reconciliation in progress, which a restarted node resumes from,
	// and every reconciliation's status.
	DB *bolt.DB

	// Seal, when set, seals every value the reconciliations keep in DB
	// (their secrets above all). Default none: plain.
	Seal *seal.Keyring

	// Lists are the lists this node reconciles.
	Lists []List
	// Grants is the responder's policy. Default none: every
	// reconciliation asked of this node is refused.
	Grants []Grant
	// ChunkSize is the number of points per chunk a requester asks for.
	// Default ecdh.DefaultChunkSize (4,096); at most
	// riskmeshv1.MaxReconChunk.
	ChunkSize int
	// MaxSessions bounds the reconciliations this node answers at once.
	// Default 4.
	MaxSessions int
	// IdleTimeout ends a reconciliation this node answers once its
	// requester has sent nothing for that long, freeing its slot of
	// MaxSessions. Default 2 min.
	IdleTimeout time.Duration
	// Bill records answered reconciliations. Default none: nothing is
	// billed (tests, and a node without a ledger).
	Bill Bill
	// Disputed, if set, queues the dispute of a reconciliation this node
	// requested and refused an answer of after accepting its signed record
	// (its proof failed), with the evidence kept (ReadDispute) and why:
	// the node's is node/dispute Auto.EnqueueReconciliation, which keeps
	// it in node.db until the auditor decides (docs/reconciliation.md,
	// "Disputes"). The reconciliation is marked disputed beside its
	// transcript once Disputed returns nil; QueueDisputes queues again one
	// a crash or an error left unmarked. Default none: the evidence is
	// only kept.
	Disputed func(d *audit.ReconDispute, reason string) error
	// DisputeStatus, if set, reports where the dispute of a reconciliation
	// this node requested stands (node/dispute Auto.Status), which Get and
	// List show; ok is false for one never disputed. Default none.
	DisputeStatus func(key accounting.EntryKey) (state riskmeshv1.DisputeState, reason string, ok bool)
	// Priced refuses, before any work, a reconciliation in a category the
	// ledger sets no reconciliation price for in its period: Bill could
	// never record it, so answering would hand the requester an unbilled
	// reconciliation (the node's is PriceCheck). Default none: no check.
	Priced func(ctx context.Context, period uint64, category string) error
	// Rand draws secrets, secret orders and proof nonces. Default
	// crypto/rand.
	Rand io.Reader
	// Logger receives events. Default: discard.
	Logger *slog.Logger
	// Now is the clock of IdleTimeout. Default time.Now.
	Now func() time.Time
}

// Defaults of Config's zero fields.
const (
	DefaultMaxSessions = 4
	DefaultIdleTimeout = 2 * time.Minute
)

// withDefaults validates c once and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if !names.MSPID(c.MSPID) {
		errs = append(errs, fmt.Errorf("recon: MSP id %q", c.MSPID))
	}
	if c.Sign == nil || c.Keys == nil || c.Dir == "" || c.DB == nil {
		errs = append(errs, errors.New("recon: Sign, Keys, Dir and DB are required"))
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = ecdh.DefaultChunkSize
	}
	if c.ChunkSize < 1 || c.ChunkSize > riskmeshv1.MaxReconChunk {
		errs = append(errs, fmt.Errorf("recon: chunk size %d, want 1 to %d", c.ChunkSize, riskmeshv1.MaxReconChunk))
	}
	c.MaxSessions = cmp.Or(c.MaxSessions, DefaultMaxSessions)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	if c.MaxSessions < 0 || c.IdleTimeout < 0 {
		errs = append(errs, errors.New("recon: negative MaxSessions or IdleTimeout"))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	seen := map[string]bool{}
	for _, l := range c.Lists {
		switch {
		case !names.Category(l.Name) || len(l.Name) > riskmeshv1.MaxReconList:
			errs = append(errs, fmt.Errorf("recon: list name %q", l.Name))
		case seen[l.Name]:
			errs = append(errs, fmt.Errorf("recon: list %q named twice", l.Name))
		case !names.Category(l.Category) || l.Code == 0 || l.Source == nil:
			errs = append(errs, fmt.Errorf("recon: list %q needs a category, a code and a source", l.Name))
		}
		seen[l.Name] = true
	}
	for _, g := range c.Grants {
		if !seen[g.List] {
			errs = append(errs, fmt.Errorf("recon: grant to %q names unknown list %q", g.Requester, g.List))
		}
		for _, p := range g.Protocols {
			if !p.IsECDH() {
				errs = append(errs, fmt.Errorf("recon: grant to %q: %v is not a reconciliation mode", g.Requester, p))
			}
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, errors.Join(errs...)
}

func (c *Config) list(name string) (List, bool) {
	i := slices.IndexFunc(c.Lists, func(l List) bool { return l.Name == name })
	if i < 0 {
		return List{}, false
	}
	return c.Lists[i], true
}

// admit checks the responder's policy: a grant naming this requester, list
// and mode. The error says which part no grant covers, for the refusal.
func (c *Config) admit(requester, list string, p transcript.Protocol) error {
	var forList, forRequester bool
	for _, g := range c.Grants {
		if g.List != list {
			continue
		}
		forList = true
		if g.Requester != requester {
			continue
		}
		forRequester = true
		if slices.Contains(g.Protocols, p) {
			return nil
		}
	}
	switch {
	case !forList:
		return fmt.Errorf("%w: list %q is not offered for reconciliation", ErrNotAdmitted, list)
	case !forRequester:
		return fmt.Errorf("%w: %s may not reconcile list %q", ErrNotAdmitted, requester, list)
	}
	return fmt.Errorf("%w: %s may not reconcile list %q in mode %v", ErrNotAdmitted, requester, list, p)
}

// sharesLabels reports whether a grant admitting this requester, list and
// mode also shares labels.
func (c *Config) sharesLabels(requester, list string, p transcript.Protocol) bool {
	return slices.ContainsFunc(c.Grants, func(g Grant) bool {
		return g.List == list && g.Requester == requester && g.ShareLabels && slices.Contains(g.Protocols, p)
	})
}
