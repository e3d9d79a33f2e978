package requester

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/backoff"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// exchange is one EvaluateRequest to one provider: possibly the coalesced
// parts of several queries.
type exchange struct {
	inst     accounting.Institution
	category string
	period   uint64
	psi      *catalogpsi.Requester
	keyID    oprf.KeyID
	ids      []ident.ID
}

// outcome is how an exchange (or several, merged) ended.
type outcome struct {
	status   riskmeshv1.ProviderStatus
	results  []catalogpsi.Result // one per id, ANSWERED only
	err      *riskmeshv1.PeerError
	attempts uint32
	// billed is the number of items the provider may bill: those of
	// ANSWERED and DISPUTED exchanges.
	billed int
	// transcripts are the exchanges kept: ANSWERED ones and DISPUTED
	// answers well-formed enough to be recorded.
	transcripts []*transcript.Transcript
	// maxItems, for a provider that refused the batch as too large, is the
	// most items it accepts (fewer than were sent).
	maxItems int
	// disputed lists the DISPUTED exchanges whose transcript was kept, as
	// the query record reports them.
	disputed []disputedExchange
	// items is the number of identifiers the outcome covers.
	items int
	// late, for an UNAVAILABLE exchange whose request may have reached the
	// provider, is the fetch still asking for its answer after the
	// deadline; this outcome's identifiers start at lateLo in its exchange.
	late   *lateFetch
	lateLo int
	// sent are the requests signed for the outcome's identifiers, for
	// reconciliation to match ledger entries against.
	sent []*riskmeshv1.SentExchange
}

// slice is the share of o of the n identifiers at lo in its exchange: a
// coalesced part's results and billed items.
func (o outcome) slice(lo, n int) outcome {
	s := o
	s.items = n
	if o.results != nil {
		s.results = o.results[lo : lo+n]
	}
	if o.billed > 0 {
		s.billed = n
	}
	if o.late != nil {
		s.lateLo = o.lateLo + lo
	}
	s.sent = nil
	for _, e := range o.sent {
		s.sent = append(s.sent, &riskmeshv1.SentExchange{Sequence: e.Sequence, Items: uint32(n)})
	}
	return s
}

// disputedExchange is one DISPUTED exchange: its ledger entry key and why.
type disputedExchange struct {
	key    accounting.EntryKey
	reason string
}

// merge combines the outcomes of consecutive exchanges: the worst status,
// the last error, and results only if every exchange was ANSWERED.
func merge(parts []outcome) outcome {
	o := outcome{status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED}
	for _, p := range parts {
		o.attempts += p.attempts
		o.billed += p.billed
		o.transcripts = append(o.transcripts, p.transcripts...)
		o.disputed = append(o.disputed, p.disputed...)
		o.sent = append(o.sent, p.sent...)
		if p.err != nil {
			o.err = p.err
		}
		if worse(p.status, o.status) {
			o.status = p.status
		}
		o.results = append(o.results, p.results...)
	}
	if o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		o.results = nil
	}
	return o
}

// worse orders statuses for merging: one disputed answer makes the whole
// disputed, and so on.
func worse(a, b riskmeshv1.ProviderStatus) bool {
	rank := map[riskmeshv1.ProviderStatus]int{
		riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED:    0,
		riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE: 1,
		riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED:     2,
		riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED:    3,
	}
	return rank[a] > rank[b]
}

// runSplit runs ids as consecutive exchanges of at most m items each and
// returns their outcomes in order.
func (r *Requester) runSplit(ctx context.Context, x exchange, ids []ident.ID, m int) []outcome {
	var parts []outcome
	for lo := 0; lo < len(ids); lo += m {
		x.ids = ids[lo:min(lo+m, len(ids))]
		parts = append(parts, r.run(ctx, &x))
	}
	return parts
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
		ProofRule: transcript.ProofBinding,
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

// splitElements views a flat element array as one slice per element.
func splitElements(flat []byte) [][]byte {
	out := make([][]byte, len(flat)/oprf.ElementSize)
	for i := range out {
		out[i] = flat[i*oprf.ElementSize : (i+1)*oprf.ElementSize : (i+1)*oprf.ElementSize]
	}
	return out
}

// run blinds, signs and sends the exchange, retrying the identical request
// while the provider is unreachable or busy and ctx allows, and verifies
// the answer. If ctx ends after the request may have reached the provider,
// the outcome is UNAVAILABLE and a late fetch keeps asking for the answer.
func (r *Requester) run(ctx context.Context, x *exchange) (o outcome) {
	q, blinded, err := x.psi.Blind(r.cfg.Rand, x.ids)
	if err != nil {
		return failed(riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED, riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, "blind: "+err.Error(), 0)
	}
	req, err := r.sign(x, blinded)
	if err != nil {
		return failed(riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED, riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, "sign request: "+err.Error(), 0)
	}
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

// answered verifies an answer to req (verifyAnswer) and hands a DISPUTED
// one's transcripts to Config.Disputed.
func (r *Requester) answered(ctx context.Context, x *exchange, req *signedRequest, q *catalogpsi.Query,
	resp *riskmeshv1.PeerResponse, attempts uint32) outcome {
	o := verifyAnswer(x, req, q, resp.GetEvaluate(), func() [][]byte {
		inst, _ := r.cfg.Directory.Recheck(ctx).Institution(x.inst.MSPID)
		return inst.SigningKeysIn(x.period)
	})
	o.attempts, o.items = attempts, len(x.ids)
	if o.status == riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED {
		r.cfg.Logger.Warn("provider answer disputed", "provider", x.inst.MSPID, "period", x.period,
			"sequence", req.header.Sequence, "reason", o.err.GetMessage())
		if r.cfg.Disputed != nil {
			for _, t := range o.transcripts {
				r.cfg.Disputed(t, o.err.GetMessage())
			}
		}
	}
	return o
}

// transient reports whether a refusal other than the codes run handles
// itself is worth sending the identical request again for: the provider
// was busy or failing, or closed the connection without a refusal frame.
func transient(re *peer.RemoteError) bool {
	switch re.Code {
	case riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL,
		riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED:
		return true
	}
	// A connection-level close (suspension, too many connections):
	// reconnecting may help.
	return re.Detail == nil
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

// movedOn reports whether this node's view has moved past period.
func (r *Requester) movedOn(period uint64) bool {
	return r.cfg.Directory.View().Period.Number > period
}

// stopped is the error of a provider part the node's shutdown or crash
// cut short.
func stopped() *riskmeshv1.PeerError {
	return &riskmeshv1.PeerError{Code: riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "the node stopped before the provider answered"}
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
		o.late = r.startLate(*x, req, q, attempts)
		o.err = &riskmeshv1.PeerError{Code: last.Code, Message: truncate(last.Message + lateNote)}
	}
	return o
}

func failed(status riskmeshv1.ProviderStatus, code riskmeshv1.ErrorCode, msg string, attempts uint32) outcome {
	return outcome{status: status, err: &riskmeshv1.PeerError{Code: code, Message: truncate(msg)}, attempts: attempts}
}

// truncate makes the text of a provider part's error printable and
// bounded (internal/printable). Every such text passes through it: much of
// it quotes the provider or the network, and one invalid byte in a stored
// record or a streamed event would fail the whole query.
func truncate(s string) string { return printable.String(s, riskmeshv1.MaxErrorMessage) }

// verifyAnswer checks an answer: its shape against the request, the responder's
// signature over the response digest against its signing keys registered for
// the period, and the batched DLEQ proof against the OPRF key its catalog
// was published under (inside Resolve). A signature the view's keys reject
// is checked again against recheck's (a fresh view: the provider may have
// rotated its key since the last refresh). Any failure is DISPUTED: the
// provider may bill the request, so the transcript is kept whenever it is
// well-formed enough to record.
func verifyAnswer(x *exchange, req *signedRequest, q *catalogpsi.Query, ev *riskmeshv1.EvaluateResponse, recheck func() [][]byte) outcome {
	disputed := func(t *transcript.Transcript, format string, args ...any) outcome {
		o := outcome{
			status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED,
			err:    &riskmeshv1.PeerError{Code: riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, Message: truncate(fmt.Sprintf(format, args...))},
			billed: len(x.ids),
		}
		if t != nil {
			h := &t.Header
			o.transcripts = []*transcript.Transcript{t}
			o.disputed = []disputedExchange{{
				key:    accounting.EntryKey{Period: h.Period, Requester: h.Requester, Responder: h.Responder, Sequence: h.Sequence},
				reason: o.err.Message,
			}}
		}
		return o
	}
	if ev == nil {
		return disputed(nil, "answer is not an evaluate response")
	}
	if len(ev.GetEvaluated()) != len(req.elements)*oprf.ElementSize {
		return disputed(nil, "answer has %d bytes of elements for %d items", len(ev.GetEvaluated()), len(req.elements))
	}
	resp := transcript.Response{Evaluated: splitElements(ev.GetEvaluated()), Proof: ev.GetProof()}
	respHash, err := transcript.HashResponse(&req.header, &resp)
	if err != nil {
		return disputed(nil, "answer does not fit the transcript: %v", err)
	}
	t := &transcript.Transcript{
		Header:            req.header,
		Request:           transcript.Request{Elements: req.elements},
		Response:          resp,
		RequestSignature:  req.msg.GetEvaluate().GetRequesterSignature(),
		ResponseSignature: ev.GetResponderSignature(),
	}
	sigLen := len(t.ResponseSignature)
	if sigLen == 0 || sigLen > ecsig.MaxSignatureSize {
		return disputed(nil, "responder signature of %d bytes", sigLen)
	}
	respDigest := transcript.ResponseDigest(req.requestDigest, respHash)
	if err := transcript.VerifyResponse(x.inst.SigningKeysIn(x.period), respDigest, t.ResponseSignature); err != nil {
		if err := transcript.VerifyResponse(recheck(), respDigest, t.ResponseSignature); err != nil {
			return disputed(t, "%v", err)
		}
	}
	results, err := x.psi.Resolve(q, ev.GetEvaluated(), ev.GetProof())
	if err != nil {
		return disputed(t, "proof does not verify against the registered key: %v", err)
	}
	return outcome{status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED, results: results, billed: len(x.ids),
		transcripts: []*transcript.Transcript{t}}
}
