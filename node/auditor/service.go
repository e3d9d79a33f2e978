package auditor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Service judges disputes. It is safe for concurrent use.
type Service struct {
	riskmeshv1.UnimplementedAuditorServer
	cfg   Config
	store *store

	mu       sync.Mutex
	inFlight map[string]int // disputes being judged, by caller
}

var _ riskmeshv1.AuditorServer = (*Service)(nil)

// New validates cfg and opens the dispute store in cfg.DB.
func New(cfg Config) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	st, err := openStore(cfg.DB, cfg.MaxTranscriptSize)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: st, inFlight: map[string]int{}}, nil
}

// FileDispute is the gRPC method: it judges the dispute as the caller the
// TLS handshake authenticated.
func (s *Service) FileDispute(ctx context.Context, req *riskmeshv1.FileDisputeRequest) (*riskmeshv1.FileDisputeResponse, error) {
	caller, err := s.caller(ctx)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	if lu := req.GetLiveUnanswered(); lu != nil {
		v, produced, err := s.JudgeLiveUnanswered(ctx, caller, KeyFromProto(lu.GetEntry()), lu.GetLiveStep(), req.GetReason())
		if err != nil {
			return nil, status.Error(code(err), err.Error())
		}
		return &riskmeshv1.FileDisputeResponse{Verdict: v, LiveStep: produced}, nil
	}
	if nd := req.GetNonDelivery(); nd != nil {
		v, produced, err := s.JudgeNonDelivery(ctx, caller, KeyFromProto(nd), req.GetReason())
		if err != nil {
			return nil, status.Error(code(err), err.Error())
		}
		return &riskmeshv1.FileDisputeResponse{Verdict: v, Transcript: produced}, nil
	}
	v, err := s.Judge(ctx, caller, req.GetTranscript(), req.GetReason())
	if err != nil {
		return nil, status.Error(code(err), err.Error())
	}
	return &riskmeshv1.FileDisputeResponse{Verdict: v}, nil
}

// code maps the service's errors to gRPC codes.
func code(err error) codes.Code {
	switch {
	case errors.Is(err, ErrNotRequester):
		return codes.PermissionDenied
	case errors.Is(err, ErrTranscript), errors.Is(err, ErrClaim), errors.Is(err, ErrKey):
		return codes.InvalidArgument
	case errors.Is(err, ErrNotAuditor), errors.Is(err, ErrNoRedeliver):
		return codes.FailedPrecondition
	case errors.Is(err, ErrBusy):
		return codes.ResourceExhausted
	case errors.Is(err, audit.ErrLedger), errors.Is(err, context.DeadlineExceeded):
		return codes.Unavailable
	default:
		return codes.Internal
	}
}

// Judge verifies the transcript data (a psi/transcript file, or a
// reconciliation dispute: audit.ReconDispute's encoding) that caller
// disputes with claim, and returns the signed verdict. Verdicts on billed
// entries are stored, one per entry: an upheld one is final and returned
// as stored; a rejected one is judged again when filed again (the ledger
// may have changed) and replaced. A verdict on an entry the ledger does
// not have is not stored and has dispute id 0.
func (s *Service) Judge(ctx context.Context, caller string, data []byte, claim string) (*riskmeshv1.AuditVerdict, error) {
	if len(data) > s.cfg.MaxTranscriptSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrTranscript, len(data), s.cfg.MaxTranscriptSize)
	}
	if len(claim) > MaxClaimLen || !utf8.ValidString(claim) {
		return nil, fmt.Errorf("%w: at most %d bytes of UTF-8", ErrClaim, MaxClaimLen)
	}
	f, err := parseFiled(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTranscript, err)
	}
	if caller != f.key.Requester {
		return nil, ErrNotRequester
	}
	if !s.acquire(caller) {
		return nil, ErrBusy
	}
	defer s.release(caller)
	entry := f.key.String()
	prev, err := s.store.byEntry(entry)
	if err != nil {
		return nil, err
	}
	if prev != nil && prev.Verdict.Verdict == riskmeshv1.Verdict_VERDICT_UPHELD {
		return prev.Verdict, nil
	}

	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.mayJudge(ctx, f.key); err != nil {
		return nil, err
	}
	r, dec, err := f.judge(ctx, s.cfg.Ledger)
	if err != nil {
		if errors.Is(err, audit.ErrLedger) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrTranscript, err)
	}
	v, err := s.sign(r, dec, f.digest)
	if err != nil {
		return nil, err
	}
	// A transcript of an entry the ledger does not have is answered but
	// not kept: nothing was billed, and keeping it would let a member grow
	// the store without bound.
	if c, _ := r.Check(audit.CheckEntry); c.Status == audit.Pass {
		rec := &riskmeshv1.StoredDispute{Verdict: v, Transcript: data, Claim: claim, FiledAt: v.DecidedAt}
		if err := s.store.put(entry, rec); err != nil {
			return nil, err
		}
	}
	// Ids, periods, verdicts and check names only: never claim texts.
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "dispute judged",
		slog.Uint64("dispute", v.DisputeId), slog.Uint64("period", r.Key.Period),
		slog.String("verdict", v.Verdict.String()), slog.String("failed", strings.Join(r.Failed(), ",")))
	return v, nil
}

// acquire takes one of caller's MaxInFlight slots.
func (s *Service) acquire(caller string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[caller] >= s.cfg.MaxInFlight {
		return false
	}
	s.inFlight[caller]++
	return true
}

func (s *Service) release(caller string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[caller]--; s.inFlight[caller] == 0 {
		delete(s.inFlight, caller)
	}
}

// mayJudge checks that this institution holds the active auditor role and
// is not a party to the entry: the ledger would refuse its endorsement
// otherwise.
func (s *Service) mayJudge(ctx context.Context, k accounting.EntryKey) error {
	if k.Requester == s.cfg.MSPID || k.Responder == s.cfg.MSPID {
		return fmt.Errorf("%w: the auditor is a party to the entry", ErrNotAuditor)
	}
	inst, err := s.cfg.Ledger.Institution(ctx, s.cfg.MSPID)
	switch {
	case errors.Is(err, accounting.ErrNotFound):
		return fmt.Errorf("%w: %s is not registered", ErrNotAuditor, s.cfg.MSPID)
	case err != nil:
		return fmt.Errorf("%w: institution %s: %w", audit.ErrLedger, s.cfg.MSPID, err)
	case !inst.HasRole(accounting.RoleAuditor):
		return fmt.Errorf("%w: %s does not hold the auditor role", ErrNotAuditor, s.cfg.MSPID)
	case inst.Status != accounting.StatusActive:
		return fmt.Errorf("%w: %s is %s", ErrNotAuditor, s.cfg.MSPID, inst.Status)
	}
	return nil
}

// sign builds the verdict and signs its endorsement and statement digests.
func (s *Service) sign(r *audit.Report, dec audit.Decision, responseDigest [32]byte) (*riskmeshv1.AuditVerdict, error) {
	// The reason quotes the report's checks, whose details may echo the
	// parties' bytes; the verdict signs it as sent.
	reason := printable.String(dec.Reason, audit.MaxReasonLen)
	now := s.cfg.Now().UTC()
	// The statement signs the time at the resolution the wire carries.
	decidedAt := timestamppb.New(now)
	e, err := accounting.EndorsementDigest(r.Key, dec.Verdict)
	if err != nil {
		return nil, fmt.Errorf("auditor: endorsement digest: %w", err)
	}
	st, err := audit.StatementDigest(r.Key, dec.Verdict, responseDigest, reason, decidedAt.AsTime())
	if err != nil {
		return nil, fmt.Errorf("auditor: statement digest: %w", err)
	}
	esig, err := s.cfg.Sign(e[:])
	if err != nil {
		return nil, fmt.Errorf("auditor: sign endorsement: %w", err)
	}
	ssig, err := s.cfg.Sign(st[:])
	if err != nil {
		return nil, fmt.Errorf("auditor: sign statement: %w", err)
	}
	checks := make([]*riskmeshv1.AuditCheck, len(r.Checks))
	for i, c := range r.Checks {
		checks[i] = &riskmeshv1.AuditCheck{Name: c.Name, Status: StatusToProto(c.Status), Detail: c.Detail}
	}
	return &riskmeshv1.AuditVerdict{
		Key:                  KeyToProto(r.Key),
		Auditor:              s.cfg.MSPID,
		Verdict:              riskmeshv1.Verdict(dec.Verdict),
		Reason:               reason,
		Checks:               checks,
		EndorsementSignature: esig,
		ResponseDigest:       responseDigest[:],
		StatementSignature:   ssig,
		DecidedAt:            decidedAt,
	}, nil
}

// Dispute returns a stored dispute by id (nil if there is none).
func (s *Service) Dispute(id uint64) (*riskmeshv1.StoredDispute, error) {
	return s.store.get(id)
}

// TruncateClaim makes a claim one the service accepts: valid printable text
// of at most MaxClaimLen bytes, even when it is made of remote text.
func TruncateClaim(s string) string { return printable.String(s, MaxClaimLen) }
