package auditor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Redeliver asks the provider of a billed entry for the transcript it
// billed.
type Redeliver func(ctx context.Context, key accounting.EntryKey) (*transcript.Transcript, error)

// PeerRedeliver is the Redeliver of the peer protocol: it dials the
// entry's provider at the endpoint dir lists with cfg (the auditor
// institution's certificate and dir as Authorizer) and sends a
// RedeliverRequest, which the provider answers only for an active auditor
// that is not a party to the entry.
func PeerRedeliver(dir *registry.Directory, cfg peer.Config) Redeliver {
	return func(ctx context.Context, key accounting.EntryKey) (*transcript.Transcript, error) {
		inst, ok := dir.View().Institution(key.Responder)
		if !ok || inst.Endpoint == "" {
			return nil, fmt.Errorf("provider %s has no registered endpoint", key.Responder)
		}
		c, err := peer.Dial(ctx, inst.Endpoint, cfg)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		if got := c.Peer().MSPID; got != key.Responder {
			return nil, fmt.Errorf("%s's endpoint answered as %s", key.Responder, got)
		}
		resp, err := c.Do(ctx, provider.RedeliverRequest(key))
		if err != nil {
			return nil, err
		}
		return provider.OpenRedelivered(resp, key)
	}
}

// JudgeNonDelivery judges caller's claim that it never received the answer
// the ledger bills it under key (docs/audit.md, "Non-delivery"): the
// auditor asks the provider for the billed response (Config.Redeliver)
// and decides with audit.DecideNonDelivery. It returns the signed verdict
// and, when the provider produced the billed answer, its transcript file
// for the requester. Verdicts are stored per entry like Judge's; an upheld
// one is final.
func (s *Service) JudgeNonDelivery(ctx context.Context, caller string, key accounting.EntryKey, claim string) (*riskmeshv1.AuditVerdict, []byte, error) {
	if err := key.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	if len(claim) > MaxClaimLen || !utf8.ValidString(claim) {
		return nil, nil, fmt.Errorf("%w: at most %d bytes of UTF-8", ErrClaim, MaxClaimLen)
	}
	if caller != key.Requester {
		return nil, nil, ErrNotRequester
	}
	if s.cfg.Redeliver == nil {
		return nil, nil, ErrNoRedeliver
	}
	if !s.acquire(caller) {
		return nil, nil, ErrBusy
	}
	defer s.release(caller)
	prev, err := s.store.byEntry(key.String())
	if err != nil {
		return nil, nil, err
	}
	if prev != nil && prev.Verdict.Verdict == riskmeshv1.Verdict_VERDICT_UPHELD {
		return prev.Verdict, nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.mayJudge(ctx, key); err != nil {
		return nil, nil, err
	}
	entry, err := s.cfg.Ledger.Entry(ctx, key)
	switch {
	case errors.Is(err, accounting.ErrNotFound):
		entry = nil
	case err != nil:
		return nil, nil, fmt.Errorf("%w: entry: %w", audit.ErrLedger, err)
	}
	var (
		state    accounting.PeriodState
		produced *audit.Report
		file     []byte
		why      string
		digest   [transcript.DigestSize]byte
	)
	if entry != nil {
		p, err := s.cfg.Ledger.Period(ctx, key.Period)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: period: %w", audit.ErrLedger, err)
		}
		state = p.State
		if digest, err = billedDigest(entry); err != nil {
			return nil, nil, fmt.Errorf("%w: the ledger entry: %w", audit.ErrLedger, err)
		}
		if entry.Reversal == nil && state != accounting.PeriodSnapshotted {
			produced, file, why, err = s.askProvider(ctx, key)
			if err != nil {
				return nil, nil, err
			}
		}
	}
	dec := audit.DecideNonDelivery(entry, state, produced, why)
	r := produced
	if r == nil {
		r = &audit.Report{Key: key}
	}
	v, err := s.sign(r, dec, digest)
	if err != nil {
		return nil, nil, err
	}
	if entry != nil {
		rec := &riskmeshv1.StoredDispute{Verdict: v, Transcript: file, Claim: claim, FiledAt: v.DecidedAt}
		if err := s.store.put(key.String(), rec); err != nil {
			return nil, nil, err
		}
	}
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "non-delivery dispute judged",
		slog.Uint64("dispute", v.DisputeId), slog.Uint64("period", key.Period), slog.String("verdict", v.Verdict.String()))
	if v.Verdict != riskmeshv1.Verdict_VERDICT_REJECTED {
		file = nil
	}
	return v, file, nil
}

// askProvider asks the provider for the billed answer and verifies what it
// produced. A provider that produces nothing is not an error: why says
// what happened. Only a ledger failure while verifying is.
func (s *Service) askProvider(ctx context.Context, key accounting.EntryKey) (*audit.Report, []byte, string, error) {
	t, err := s.cfg.Redeliver(ctx, key)
	if err != nil {
		return nil, nil, printable.String(err.Error(), audit.MaxReasonLen/2), nil
	}
	file, err := t.MarshalBinary()
	if err != nil {
		return nil, nil, "its transcript does not encode: " + err.Error(), nil
	}
	r, err := audit.Verify(ctx, t, s.cfg.Ledger)
	switch {
	case errors.Is(err, audit.ErrLedger):
		return nil, nil, "", err
	case err != nil:
		return nil, nil, "its transcript does not verify: " + err.Error(), nil
	}
	return r, file, "", nil
}

// billedDigest is the response digest the entry bills: the statement of a
// non-delivery verdict is over it, as a transcript dispute's is over the
// disputed transcript's.
func billedDigest(e *accounting.RecordedEntry) ([transcript.DigestSize]byte, error) {
	var zero [transcript.DigestSize]byte
	h, err := transcript.ParseHeader(e.Header)
	if err != nil {
		return zero, err
	}
	if len(e.RequestHash) != transcript.DigestSize || len(e.ResponseHash) != transcript.DigestSize {
		return zero, errors.New("body hashes of the wrong size")
	}
	rd, err := transcript.RequestDigest(h, [transcript.DigestSize]byte(e.RequestHash))
	if err != nil {
		return zero, err
	}
	return transcript.ResponseDigest(rd, [transcript.DigestSize]byte(e.ResponseHash)), nil
}
