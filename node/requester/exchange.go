package requester

import (
	"context"
	"errors"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/backoff"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// exchange is one EvaluateRequest to one provider: possibly the coalesced
// parts of several queries. A catalog exchange has psi and keyID, a live
// one live (live.go).
type exchange struct {
	inst     accounting.Institution
	category string
	period   uint64
	psi      *catalogpsi.Requester
	keyID    oprf.KeyID
	live     *liveSetup
	ids      []ident.ID
}

// signedRequest is an EvaluateRequest with what verifying its answer needs.
type signedRequest struct {
	header        transcript.Header
	elements      [][]byte
	requestDigest [transcript.DigestSize]byte
	msg           *riskmeshv1.PeerRequest
}

// sign reserves a fresh sequence number and builds the signed request for
// the blinded elements.
func (r *Requester) sign(x *exchange, blinded []byte) (*signedRequest, error) {
	seq, err := r.seqs.next(x.period, x.inst.MSPID)
	if err != nil {
		return nil, err
	}
	return signRequest(transcript.Header{
		// The rule catalogpsi.Requester verifies answers under.
		ProofRule: transcript.ProofBinding128,
		Protocol:  transcript.ProtocolCatalogOPRF,
		Suite:     catalogpsi.Suite,
		Category:  x.category,
		Period:    x.period,
		Requester: r.cfg.MSPID,
		Responder: x.inst.MSPID,
		Sequence:  seq,
		Count:     uint32(len(x.ids)),
		KeyID:     x.keyID,
	}, blinded, r.cfg.Sign)
}

// signRequest signs the request digest over h and the blinded elements
// (the purchase order) and builds the EvaluateRequest.
func signRequest(h transcript.Header, blinded []byte, sign ecsig.Sign) (*signedRequest, error) {
	s := &signedRequest{header: h, elements: splitElements(blinded)}
	reqHash, err := transcript.HashRequest(&s.header, &transcript.Request{Elements: s.elements})
	if err != nil {
		return nil, err
	}
	if s.requestDigest, err = transcript.RequestDigest(&s.header, reqHash); err != nil {
		return nil, err
	}
	sig, err := transcript.SignRequest(sign, s.requestDigest)
	if err != nil {
		return nil, err
	}
	hdr, err := s.header.MarshalBinary()
	if err != nil {
		return nil, err
	}
	s.msg = &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Evaluate{Evaluate: &riskmeshv1.EvaluateRequest{
		Header: hdr, Blinded: blinded, RequesterSignature: sig,
	}}}
	return s, nil
}

// blindedRequest is an exchange's request ready to send: the signed
// request and the secret blinds that open its answer.
type blindedRequest struct {
	q       *catalogpsi.Query
	blinded []byte
	req     *signedRequest
}

// prepare blinds the exchange's identifiers and signs the request under a
// fresh sequence number. If that fails, the returned outcome says why.
//
// The unblinding terms the answer will need (catalogpsi's
// PrecomputeUnblind) start as soon as the blinding ends, not once the
// request is sent: the blinding's second core is still awake then, so the
// terms run beside the signature, the wait for the query's creation and
// the send instead of waiting for a core to be woken, and go on while the
// provider evaluates. A request that is then not sent wastes them.
func (r *Requester) prepare(x *exchange) (*blindedRequest, outcome) {
	q, blinded, err := x.psi.Blind(r.cfg.Rand, x.ids)
	if err != nil {
		return nil, failed(riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED, riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, "blind: "+err.Error(), 0)
	}
	q.PrecomputeUnblind()
	req, err := r.sign(x, blinded)
	if err != nil {
		return nil, failed(riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED, riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, "sign request: "+err.Error(), 0)
	}
	return &blindedRequest{q: q, blinded: blinded, req: req}, outcome{}
}

// send sends the prepared request b, retrying the identical request while
// the provider is unreachable or busy and ctx allows, and verifies the
// answer. If ctx ends after the request may have reached the provider,
// the outcome is UNAVAILABLE and a late fetch keeps asking for the answer.
func (r *Requester) send(ctx context.Context, x *exchange, b *blindedRequest) (o outcome) {
	q, blinded, req := b.q, b.blinded, b.req
	defer func() { // req is the last request signed
		o.sent = []*riskmeshv1.SentExchange{{Sequence: req.header.Sequence, Items: uint32(len(x.ids))}}
	}()
	var (
		attempts              uint32
		resequenced, resigned bool
		// reached: some attempt of req may have been answered (and
		// billed) without the answer arriving.
		reached bool
		last    *riskmeshv1.PeerError
	)
	refused := func() outcome {
		return outcome{status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED, err: last, attempts: attempts, items: len(x.ids)}
	}
	for {
		if ctx.Err() != nil { // e.g. a split part's turn came too late
			return r.unanswered(x, req, q, last, attempts, reached)
		}
		attempts++
		resp, err := r.cfg.Conns.Do(ctx, &x.inst, req.msg)
		if err == nil {
			return r.answered(ctx, x, req, q, resp, attempts)
		}
		reached = reached || mayHaveReached(err)
		var wait time.Duration
		var re *peer.RemoteError
		switch {
		case ctx.Err() != nil:
			return r.unanswered(x, req, q, last, attempts, reached)
		case errors.As(err, &re):
			last = &riskmeshv1.PeerError{Code: re.Code, Message: truncate(re.Message)}
			wait = re.RetryAfter
			switch re.Code {
			case riskmeshv1.ErrorCode_ERROR_CODE_STALE:
				// Either view may lag the ledger. If ours has moved past
				// the query's period, its catalog is gone: give up now.
				if r.movedOn(x.period) {
					return refused()
				}
			case riskmeshv1.ErrorCode_ERROR_CODE_REPLAYED_SEQUENCE:
				// Our counter is behind the provider's view (restored
				// state?): a fresh number, once. The provider holds
				// another request under the old one, so nothing of ours
				// was billed under it.
				if resequenced {
					return refused()
				}
				resequenced, reached = true, false
				if req, err = r.sign(x, blinded); err != nil {
					return failed(riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED, riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, "sign request: "+err.Error(), attempts)
				}
				continue
			case riskmeshv1.ErrorCode_ERROR_CODE_BATCH_TOO_LARGE:
				o := refused()
				if m := int(re.Detail.GetMaxItems()); m > 0 && m < len(x.ids) {
					r.limits.Store(x.inst.MSPID, m)
					o.maxItems = m // the caller splits and sends again
				}
				return o
			case riskmeshv1.ErrorCode_ERROR_CODE_BAD_SIGNATURE:
				// The provider's registry view may predate a key
				// rotation: once more after a pause.
				if resigned {
					return refused()
				}
				resigned = true
			default:
				if !transient(re) {
					return refused()
				}
			}
		default:
			last = &riskmeshv1.PeerError{Code: riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: truncate(err.Error())}
		}
		wait = max(wait, backoff.Delay(r.cfg.RetryBackoff, r.cfg.MaxRetryBackoff, int(attempts)))
		if backoff.Sleep(ctx, wait) != nil {
			return r.unanswered(x, req, q, last, attempts, reached)
		}
	}
}

// mayHaveReached reports whether a failed attempt may have been answered
// by the provider all the same: its stream was opened and the whole request
// written, and what came back is not a refusal frame (the provider's answer
// to that very request). A request that was never written is never sent
// again after the deadline (docs/node-requester.md, "Late answers").
func mayHaveReached(err error) bool {
	var re *peer.RemoteError
	var ns *outbound.NotSentError
	return !errors.As(err, &ns) && !errors.Is(err, peer.ErrNotSent) && !(errors.As(err, &re) && re.Detail != nil)
}

// unanswered is the outcome of an exchange whose deadline passed. If the
// request may have reached the provider (reached) and the node is not
// stopping, a late fetch goes on asking for its answer.
func (r *Requester) unanswered(x *exchange, req *signedRequest, q *catalogpsi.Query, last *riskmeshv1.PeerError,
	attempts uint32, reached bool) outcome {
	switch {
	case r.ctx.Err() != nil:
		last = stopped()
	case last == nil:
		last = &riskmeshv1.PeerError{Code: riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "no answer within the deadline"}
	}
	o := outcome{status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE, err: last, attempts: attempts, items: len(x.ids)}
	if reached && r.ctx.Err() == nil && r.cfg.LateAnswerWindow > 0 {
		o.late = r.startLate(*x, req, attempts, func(f *lateFetch) outcome {
			return r.fetchLate(f, func(ctx context.Context, resp *riskmeshv1.PeerResponse, attempts uint32) outcome {
				return r.answered(ctx, &f.x, f.req, q, resp, attempts)
			})
		})
		o.err = &riskmeshv1.PeerError{Code: last.Code, Message: truncate(last.Message + lateNote)}
	}
	return o
}

func failed(status riskmeshv1.ProviderStatus, code riskmeshv1.ErrorCode, msg string, attempts uint32) outcome {
	return outcome{status: status, err: &riskmeshv1.PeerError{Code: code, Message: truncate(msg)}, attempts: attempts}
}
