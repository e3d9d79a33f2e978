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
		resp, err := redeliverPeer(ctx, dir, cfg, key)
		if err != nil {
			return nil, err
		}
		return provider.OpenRedelivered(resp, key)
	}
}

// redeliverPeer sends a RedeliverRequest for key to the entry's provider
// at the endpoint dir lists, refusing a node that answers as another.
func redeliverPeer(ctx context.Context, dir *registry.Directory, cfg peer.Config, key accounting.EntryKey) (*riskmeshv1.PeerResponse, error) {
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
	return c.Do(ctx, provider.RedeliverRequest(key))
}

// JudgeNonDelivery judges caller's claim that it never received the answer
// the ledger bills it under key (docs/audit.md, "Non-delivery"): the
// auditor asks the provider for the billed response (Config.Redeliver)
// and decides with audit.DecideNonDelivery. It returns the signed verdict
// and, when the provider produced the billed answer, its transcript file
// for the requester. Verdicts are stored per entry like Judge's; an upheld
// one is final.
func (s *Service) JudgeNonDelivery(ctx context.Context, caller string, key accounting.EntryKey, claim string) (*riskmeshv1.AuditVerdict, []byte, error) {
	ctx, done, upheld, err := s.openEntryDispute(ctx, caller, key, claim, s.cfg.Redeliver != nil)
	if err != nil || upheld != nil {
		return upheld, nil, err
	}
	defer done()
	entry, state, digest, err := s.billedEntry(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	var (
		produced *audit.Report
		file     []byte
		why      string
	)
	if entry != nil {
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
	v, err := s.settle(ctx, "non-delivery", entry, r, dec, digest, &riskmeshv1.StoredDispute{Transcript: file, Claim: claim})
	if err != nil {
		return nil, nil, err
	}
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

// billedEntry reads the entry under key (nil if the ledger has none), its
// period's state and the response digest it bills.
func (s *Service) billedEntry(ctx context.Context, key accounting.EntryKey) (entry *accounting.RecordedEntry, state accounting.PeriodState, digest [transcript.DigestSize]byte, err error) {
	entry, err = s.cfg.Ledger.Entry(ctx, key)
	switch {
	case errors.Is(err, accounting.ErrNotFound):
		return nil, state, digest, nil
	case err != nil:
		return nil, state, digest, fmt.Errorf("%w: entry: %w", audit.ErrLedger, err)
	}
	p, err := s.cfg.Ledger.Period(ctx, key.Period)
	if err != nil {
		return nil, state, digest, fmt.Errorf("%w: period: %w", audit.ErrLedger, err)
	}
	if digest, err = audit.BilledDigest(entry); err != nil {
		return nil, state, digest, fmt.Errorf("%w: the ledger entry: %w", audit.ErrLedger, err)
	}
	return entry, p.State, digest, nil
}

// settle signs dec on the dispute of r.Key, filed without a transcript,
// keeps the verdict in rec (the claim and what the provider produced) when
// the ledger bills the entry, and logs it as a dispute of kind.
func (s *Service) settle(ctx context.Context, kind string, entry *accounting.RecordedEntry, r *audit.Report, dec audit.Decision,
	digest [transcript.DigestSize]byte, rec *riskmeshv1.StoredDispute) (*riskmeshv1.AuditVerdict, error) {
	v, err := s.sign(r, dec, digest)
	if err != nil {
		return nil, err
	}
	if entry != nil {
		rec.Verdict, rec.FiledAt = v, v.DecidedAt
		if err := s.store.put(r.Key.String(), rec); err != nil {
			return nil, err
		}
	}
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, kind+" dispute judged",
		slog.Uint64("dispute", v.DisputeId), slog.Uint64("period", r.Key.Period), slog.String("verdict", v.Verdict.String()))
	return v, nil
}

// openEntryDispute starts judging caller's dispute of the entry under key,
// filed without a transcript: the key and the claim must be well formed,
// the caller its requester, this service able to ask the provider (ask)
// and to judge the entry, and caller under its in-flight bound. An upheld
// verdict already stored for the entry is final and returned as upheld.
// Otherwise done releases the caller's slot and ends ctx, which is bounded
// by Config.Timeout.
func (s *Service) openEntryDispute(ctx context.Context, caller string, key accounting.EntryKey, claim string, ask bool) (_ context.Context, done func(), upheld *riskmeshv1.AuditVerdict, err error) {
	if err := key.Validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	if len(claim) > MaxClaimLen || !utf8.ValidString(claim) {
		return nil, nil, nil, fmt.Errorf("%w: at most %d bytes of UTF-8", ErrClaim, MaxClaimLen)
	}
	if caller != key.Requester {
		return nil, nil, nil, ErrNotRequester
	}
	if !ask {
		return nil, nil, nil, ErrNoRedeliver
	}
	if !s.acquire(caller) {
		return nil, nil, nil, ErrBusy
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	done = func() {
		cancel()
		s.release(caller)
	}
	prev, err := s.store.byEntry(key.String())
	if err == nil && prev != nil && prev.Verdict.Verdict == riskmeshv1.Verdict_VERDICT_UPHELD {
		done()
		return nil, nil, prev.Verdict, nil
	}
	if err == nil {
		err = s.mayJudge(ctx, key)
	}
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	return ctx, done, nil, nil
}
