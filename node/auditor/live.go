package auditor

import (
	"context"
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// RedeliverLive asks the provider of a billed live exchange for the
// homomorphic step it recorded for it: nil, without error, if it recorded
// none.
type RedeliverLive func(ctx context.Context, key accounting.EntryKey) (*audit.LiveStep, error)

// PeerRedeliverLive is the RedeliverLive of the peer protocol: the
// RedeliverRequest of PeerRedeliver, whose answer carries the step for a
// live exchange.
func PeerRedeliverLive(dir *registry.Directory, cfg peer.Config) RedeliverLive {
	return func(ctx context.Context, key accounting.EntryKey) (*audit.LiveStep, error) {
		resp, err := redeliverPeer(ctx, dir, cfg, key)
		if err != nil {
			return nil, err
		}
		_, step, err := provider.OpenRedeliveredLive(resp, key)
		return step, err
	}
}

// JudgeLiveUnanswered judges caller's claim that the provider billed the
// POPRF step of the live exchange under key and never answered the
// homomorphic query caller signed for it (stepData, an audit.LiveStep
// without a receipt): the auditor asks the provider for the step it
// recorded (Config.RedeliverLive) and decides with
// audit.DecideLiveUnanswered (docs/audit.md, "Live mode"). It returns the
// signed verdict and, when the provider showed an answered step, that
// step's encoding for the requester. Verdicts are stored per entry like
// Judge's; an upheld one is final.
func (s *Service) JudgeLiveUnanswered(ctx context.Context, caller string, key accounting.EntryKey, stepData []byte, claim string) (*riskmeshv1.AuditVerdict, []byte, error) {
	claimed := new(audit.LiveStep)
	if err := claimed.UnmarshalBinary(stepData); err != nil {
		return nil, nil, fmt.Errorf("%w: the live step: %w", ErrClaim, err)
	}
	ctx, done, upheld, err := s.openEntryDispute(ctx, caller, key, claim, s.cfg.RedeliverLive != nil)
	if err != nil || upheld != nil {
		return upheld, nil, err
	}
	defer done()
	entry, state, digest, err := s.billedEntry(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	var (
		lc       = audit.LiveClaim{Step: claimed}
		produced *audit.LiveStep
		why      string
	)
	if entry != nil && entry.Reversal == nil && state != accounting.PeriodSnapshotted {
		if lc.RequesterKeys, lc.ResponderKeys, err = s.partyKeys(ctx, key); err != nil {
			return nil, nil, err
		}
		if produced, err = s.cfg.RedeliverLive(ctx, key); err != nil {
			why = printable.String(err.Error(), audit.MaxReasonLen/2)
			produced = nil
		} else if produced == nil {
			why = "it recorded no homomorphic step for the exchange"
		}
	}
	dec := audit.DecideLiveUnanswered(entry, state, lc, produced, why)
	v, err := s.settle(ctx, "live", entry, &audit.Report{Key: key}, dec, digest, &riskmeshv1.StoredDispute{Claim: claim})
	if err != nil {
		return nil, nil, err
	}
	var shown []byte
	if v.Verdict == riskmeshv1.Verdict_VERDICT_REJECTED && produced != nil {
		if shown, err = produced.MarshalBinary(); err != nil {
			return nil, nil, fmt.Errorf("auditor: encode the provider's live step: %w", err)
		}
	}
	return v, shown, nil
}

// partyKeys returns the signing keys the entry's requester and provider
// registered for its period.
func (s *Service) partyKeys(ctx context.Context, key accounting.EntryKey) (requester, responder [][]byte, err error) {
	keys := make([][][]byte, 2)
	for i, msp := range []string{key.Requester, key.Responder} {
		inst, err := s.cfg.Ledger.Institution(ctx, msp)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: institution %s: %w", audit.ErrLedger, msp, err)
		}
		keys[i] = inst.SigningKeysIn(key.Period)
	}
	return keys[0], keys[1], nil
}
