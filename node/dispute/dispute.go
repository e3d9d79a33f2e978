package dispute

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

var (
	// ErrBadVerdict: the auditor's answer is not a verdict on the disputed
	// entry by the configured auditor, or a signature does not verify
	// against the auditor's registered key.
	ErrBadVerdict = errors.New("dispute: verdict does not verify")
	// ErrNoAuditor: the configured auditor is not a registered, active
	// auditor with a TLS fingerprint and signing key.
	ErrNoAuditor = errors.New("dispute: auditor not usable")
)

// Ledger is what a requester's dispute needs from the ledger, acting as the
// requester: the auditor's registry record, the disputed entry's period
// (Auto) and Reverse.
type Ledger interface {
	Institution(ctx context.Context, mspID string) (*accounting.Institution, error)
	Period(ctx context.Context, n uint64) (*accounting.Period, error)
	Reverse(ctx context.Context, r accounting.Reverse) error
}

var _ Ledger = accounting.Ledger(nil)

// Filer files disputes: riskmeshv1.AuditorClient.
type Filer interface {
	FileDispute(ctx context.Context, in *riskmeshv1.FileDisputeRequest, opts ...grpc.CallOption) (*riskmeshv1.FileDisputeResponse, error)
}

// Config configures a Client. Ledger, Auditor and AuditorMSP are required.
type Config struct {
	// Ledger acts as this node's institution (the requester).
	Ledger Ledger
	// Auditor is the connection to the auditor service (Dial).
	Auditor Filer
	// AuditorMSP is the auditor institution whose verdicts are accepted.
	AuditorMSP string
	// Timeout bounds one dispute: filing, verification, reversal
	// (default 1 min).
	Timeout time.Duration
	// Logger receives dispute outcomes without identifiers (default:
	// discard).
	Logger *slog.Logger
}

// Client files disputes and reverses upheld ones. It is safe for concurrent
// use.
type Client struct{ cfg Config }

// New validates cfg.
func New(cfg Config) (*Client, error) {
	switch {
	case cfg.Ledger == nil:
		return nil, errors.New("dispute: Config.Ledger is required")
	case cfg.Auditor == nil:
		return nil, errors.New("dispute: Config.Auditor is required")
	case cfg.AuditorMSP == "":
		return nil, errors.New("dispute: Config.AuditorMSP is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	return &Client{cfg: cfg}, nil
}

// Outcome is how a dispute ended.
type Outcome struct {
	// Verdict is the auditor's signed verdict, checked against its
	// registered key.
	Verdict *riskmeshv1.AuditVerdict
	// Reversed reports that the entry's charge is reversed on the ledger,
	// by this dispute or an earlier one.
	Reversed bool
	// Pending reports a rejection only because the ledger has no entry for
	// the exchange yet: the provider may still record it, so file again
	// later (until the period closes, after which nothing can be billed).
	Pending bool
	// Produced, for a rejected non-delivery dispute, is the billed answer
	// the provider produced to the auditor.
	Produced *transcript.Transcript
	// LiveStep, for a rejected live dispute, is the answered homomorphic
	// step the provider showed the auditor: its receipt.
	LiveStep *audit.LiveStep
}

// Dispute files t (a transcript this institution requested) with claim
// (free text without customer identifiers, at most 512 bytes), verifies the
// verdict, and submits the reversal if the dispute is upheld.
func (c *Client) Dispute(ctx context.Context, t *transcript.Transcript, claim string) (*Outcome, error) {
	data, err := t.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("dispute: encode transcript: %w", err)
	}
	return c.file(ctx, data, audit.KeyOf(&t.Header), claim)
}

// DisputeReconciliation files d (a reconciliation this institution
// requested, with the responder's answer it refused and the chunk it
// answers: docs/reconciliation.md, "Accounting") like Dispute.
func (c *Client) DisputeReconciliation(ctx context.Context, d *audit.ReconDispute, claim string) (*Outcome, error) {
	data, err := d.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("dispute: encode reconciliation dispute: %w", err)
	}
	return c.file(ctx, data, audit.KeyOfRecon(&d.Transcript.Header), claim)
}

// file files data, the dispute of the entry under key, verifies the
// verdict and submits the reversal if it is upheld.
func (c *Client) file(ctx context.Context, data []byte, key accounting.EntryKey, claim string) (*Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	resp, err := c.cfg.Auditor.FileDispute(ctx, &riskmeshv1.FileDisputeRequest{Transcript: data, Reason: claim})
	if err != nil {
		return nil, fmt.Errorf("dispute: file with %s: %w", c.cfg.AuditorMSP, err)
	}
	v := resp.GetVerdict()
	if err := c.check(ctx, key, v); err != nil {
		return nil, err
	}
	out := &Outcome{Verdict: v}
	if v.Verdict != riskmeshv1.Verdict_VERDICT_UPHELD {
		out.Pending = entryMissing(v)
		c.log(ctx, "dispute rejected", key, v)
		return out, nil
	}
	return out, c.reverse(ctx, key, v, out)
}

// NonDelivery files a non-delivery dispute of the entry under key (this
// institution's, billed for an answer it never received) with claim,
// verifies the verdict, and submits the reversal if it is upheld. A
// rejection because the provider produced the billed answer carries that
// transcript in Outcome.Produced.
func (c *Client) NonDelivery(ctx context.Context, key accounting.EntryKey, claim string) (*Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	resp, err := c.cfg.Auditor.FileDispute(ctx, &riskmeshv1.FileDisputeRequest{NonDelivery: auditor.KeyToProto(key), Reason: claim})
	if err != nil {
		return nil, fmt.Errorf("dispute: file non-delivery with %s: %w", c.cfg.AuditorMSP, err)
	}
	v := resp.GetVerdict()
	if err := c.check(ctx, key, v); err != nil {
		return nil, err
	}
	out := &Outcome{Verdict: v}
	if v.Verdict != riskmeshv1.Verdict_VERDICT_UPHELD {
		if len(resp.GetTranscript()) > 0 {
			t, err := transcript.Parse(resp.GetTranscript())
			if err != nil || audit.KeyOf(&t.Header) != key {
				return out, fmt.Errorf("%w: the produced transcript is not of %s", ErrBadVerdict, key.String())
			}
			out.Produced = t
		}
		c.log(ctx, "non-delivery dispute rejected", key, v)
		return out, nil
	}
	return out, c.reverse(ctx, key, v, out)
}

// reverse submits the reversal of an upheld verdict and marks out.
func (c *Client) reverse(ctx context.Context, key accounting.EntryKey, v *riskmeshv1.AuditVerdict, out *Outcome) error {
	err := c.cfg.Ledger.Reverse(ctx, accounting.Reverse{
		Key: key, Auditor: v.Auditor, Verdict: accounting.VerdictUpheld, Signature: v.EndorsementSignature,
	})
	if err != nil && !errors.Is(err, accounting.ErrAlreadyReversed) {
		return fmt.Errorf("dispute: reverse %s: %w", key.String(), err)
	}
	out.Reversed = true
	c.log(ctx, "dispute upheld, entry reversed", key, v)
	return nil
}

// check verifies that v is the configured auditor's verdict on key with
// both signatures valid under its registered signing key.
func (c *Client) check(ctx context.Context, key accounting.EntryKey, v *riskmeshv1.AuditVerdict) error {
	if v == nil || v.Auditor != c.cfg.AuditorMSP || auditor.KeyFromProto(v.Key) != key {
		return fmt.Errorf("%w: not %s's verdict on %s", ErrBadVerdict, c.cfg.AuditorMSP, key.String())
	}
	inst, err := c.cfg.Ledger.Institution(ctx, v.Auditor)
	if err != nil {
		return fmt.Errorf("dispute: auditor %s: %w", v.Auditor, err)
	}
	return VerifyVerdict(inst, v)
}

// VerifyVerdict checks a verdict's endorsement and statement signatures
// against the signing keys inst registered for the entry's period or later
// (the verdict is made after the entry, perhaps after a rotation; the
// chaincode accepts the same keys), inst being the auditor the verdict
// names.
func VerifyVerdict(inst *accounting.Institution, v *riskmeshv1.AuditVerdict) error {
	key := auditor.KeyFromProto(v.Key)
	keys := inst.SigningKeysSince(key.Period)
	if inst.MSPID != v.GetAuditor() || len(keys) == 0 {
		return fmt.Errorf("%w: %s has no registered signing key", ErrBadVerdict, v.GetAuditor())
	}
	verdict := accounting.Verdict(v.Verdict)
	e, err := accounting.EndorsementDigest(key, verdict)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadVerdict, err)
	}
	if err := ecsig.VerifyAny(keys, e[:], v.EndorsementSignature); err != nil {
		return fmt.Errorf("%w: endorsement: %w", ErrBadVerdict, err)
	}
	if len(v.ResponseDigest) != transcript.DigestSize {
		return fmt.Errorf("%w: response digest of %d bytes", ErrBadVerdict, len(v.ResponseDigest))
	}
	st, err := audit.StatementDigest(key, verdict, [32]byte(v.ResponseDigest), v.Reason, v.DecidedAt.AsTime())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadVerdict, err)
	}
	if err := ecsig.VerifyAny(keys, st[:], v.StatementSignature); err != nil {
		return fmt.Errorf("%w: statement: %w", ErrBadVerdict, err)
	}
	return nil
}

// entryMissing reports a verdict whose only reason is the missing entry.
func entryMissing(v *riskmeshv1.AuditVerdict) bool {
	for _, c := range v.Checks {
		if c.Name == audit.CheckEntry {
			return c.Status == riskmeshv1.AuditStatus_AUDIT_STATUS_FAIL
		}
	}
	return false
}

func (c *Client) log(ctx context.Context, msg string, key accounting.EntryKey, v *riskmeshv1.AuditVerdict) {
	c.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, msg,
		slog.Uint64("period", key.Period), slog.Uint64("sequence", key.Sequence), slog.Uint64("dispute", v.DisputeId))
}

// Dial connects to the auditor service at addr as the institution holding
// cert, pinning the TLS fingerprint the ledger registry records for
// auditorMSP. The connection is made lazily by gRPC; close it when done.
func Dial(ctx context.Context, l Ledger, auditorMSP, addr string, cert tls.Certificate) (*grpc.ClientConn, error) {
	inst, err := l.Institution(ctx, auditorMSP)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoAuditor, auditorMSP, err)
	}
	if !inst.HasRole(accounting.RoleAuditor) || inst.Status != accounting.StatusActive || len(inst.TLSFingerprint) != len(peer.Fingerprint{}) {
		return nil, fmt.Errorf("%w: %s is not an active auditor with a registered TLS fingerprint", ErrNoAuditor, auditorMSP)
	}
	creds := credentials.NewTLS(auditor.ClientTLS(cert, peer.Fingerprint(inst.TLSFingerprint)))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("dispute: dial auditor at %s: %w", addr, err)
	}
	return conn, nil
}
