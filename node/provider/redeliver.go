package provider

import (
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// redeliver answers a RedeliverRequest with the journalled transcript of an
// exchange this node answered and billed: a provider must be able to
// produce every answer it bills (docs/node-requester.md,
// "Reconciliation"). Only the exchange's requester, or an active auditor
// judging its non-delivery dispute, may have it: the transcript holds the
// requester's blinded elements. It bills nothing and evaluates nothing.
func (p *Provider) redeliver(who peer.Identity, req *riskmeshv1.RedeliverRequest) *riskmeshv1.PeerResponse {
	requester := req.GetRequester()
	if !names.MSPID(requester) || req.GetPeriod() == 0 {
		return refuse(codeMalformed, "redeliver needs a period and a requester MSP id")
	}
	if who.MSPID != requester && !p.mayAudit(who.MSPID, requester) {
		return refuse(codeUnknownPeer, "only the exchange's requester or an active auditor may have its answer")
	}
	t, err := p.Transcript(req.GetPeriod(), req.GetSequence(), requester)
	switch {
	case err != nil:
		p.log.Error("provider: read journalled transcript", "period", req.GetPeriod(), "err", err)
		return refuse(codeInternal, "journalled transcript unreadable")
	case t == nil:
		return refuse(codeNotFound, "no answer journalled for sequence %d of period %d", req.GetSequence(), req.GetPeriod())
	}
	file, err := t.MarshalBinary()
	if err != nil {
		p.log.Error("provider: encode journalled transcript", "err", err)
		return refuse(codeInternal, "journalled transcript unreadable")
	}
	out := &riskmeshv1.Redelivered{Transcript: file}
	if t.Header.Protocol == transcript.ProtocolLiveHE {
		// The homomorphic step's receipt goes with it: what the provider
		// shows when the requester disputes that step (docs/audit.md,
		// "Live mode").
		step, err := p.liveStep(exchangeKey(&t.Header))
		if err == nil && step != nil {
			out.LiveStep, err = step.MarshalBinary()
		}
		if err != nil {
			p.log.Error("provider: read live record", "period", req.GetPeriod(), "err", err)
			return refuse(codeInternal, "live record unreadable")
		}
	}
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Redelivered{Redelivered: out}}
}

// OpenRedeliveredLive is OpenRedelivered for a live exchange: the
// transcript and the homomorphic step the provider recorded for it, nil if
// it recorded none.
func OpenRedeliveredLive(resp *riskmeshv1.PeerResponse, key accounting.EntryKey) (*transcript.Transcript, *audit.LiveStep, error) {
	t, err := OpenRedelivered(resp, key)
	if err != nil {
		return nil, nil, err
	}
	enc := resp.GetRedelivered().GetLiveStep()
	if len(enc) == 0 {
		return t, nil, nil
	}
	step := new(audit.LiveStep)
	if err := step.UnmarshalBinary(enc); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrRedelivered, err)
	}
	return t, step, nil
}

// mayAudit reports whether msp, in this node's registry view, is an active
// auditor and not a party to an exchange between requester and this node
// (the ledger would not take its endorsement otherwise).
func (p *Provider) mayAudit(msp, requester string) bool {
	if msp == requester || msp == p.cfg.MSPID {
		return false
	}
	inst, ok := p.cfg.Directory.View().Institution(msp)
	return ok && inst.Status == accounting.StatusActive && inst.HasRole(accounting.RoleAuditor)
}

// RedeliverRequest is the peer request for the stored answer of the
// exchange key names, sent to key.Responder's node.
func RedeliverRequest(key accounting.EntryKey) *riskmeshv1.PeerRequest {
	return &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Redeliver{Redeliver: &riskmeshv1.RedeliverRequest{
		Period: key.Period, Requester: key.Requester, Sequence: key.Sequence,
	}}}
}

// OpenRedelivered parses the answer to RedeliverRequest(key): a transcript
// of exactly that exchange. Whether it is the answer the ledger billed is
// for accounting/audit.Verify to say.
func OpenRedelivered(resp *riskmeshv1.PeerResponse, key accounting.EntryKey) (*transcript.Transcript, error) {
	body := resp.GetRedelivered()
	if body == nil {
		return nil, fmt.Errorf("%w: the answer to redeliver is not a Redelivered", ErrRedelivered)
	}
	t, err := transcript.Parse(body.GetTranscript())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRedelivered, err)
	}
	h := &t.Header
	if h.Period != key.Period || h.Requester != key.Requester || h.Responder != key.Responder || h.Sequence != key.Sequence {
		return nil, fmt.Errorf("%w: the transcript is of another exchange", ErrRedelivered)
	}
	return t, nil
}
