package requester

import (
	"context"
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/workers"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// answered verifies an answer to req (verifyCatalogAnswer) and hands a
// DISPUTED one's transcripts to Config.Disputed.
func (r *Requester) answered(ctx context.Context, x *exchange, req *signedRequest, q *catalogpsi.Query,
	resp *riskmeshv1.PeerResponse, attempts uint32) outcome {
	o := verifyCatalogAnswer(x, req, q, resp.GetEvaluate(), r.recheckKeys(ctx, x.inst.MSPID, x.period))
	o.attempts, o.items = attempts, len(x.ids)
	r.reportDisputed(x.inst.MSPID, x.period, req.header.Sequence, o)
	return o
}

// recheckKeys reads provider's signing keys for period from a fresh
// registry view, for verifyAnswer.
func (r *Requester) recheckKeys(ctx context.Context, provider string, period uint64) func() [][]byte {
	return func() [][]byte {
		inst, _ := r.cfg.Directory.Recheck(ctx).Institution(provider)
		return inst.SigningKeysIn(period)
	}
}

// verifyCatalogAnswer is verifyAnswer for a catalog exchange: the
// catalog's Resolve checks the proof and opens the results.
func verifyCatalogAnswer(x *exchange, req *signedRequest, q *catalogpsi.Query, ev *riskmeshv1.EvaluateResponse, recheck func() [][]byte) outcome {
	var results []catalogpsi.Result
	o := verifyAnswer(req, ev, x.inst.SigningKeysIn(x.period), recheck, func() error {
		var err error
		results, err = x.psi.Resolve(q, ev.GetEvaluated(), ev.GetProof())
		return err
	})
	if o.status == riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		o.results = results // a proof may verify beside a signature that does not
	}
	return o
}

// reportDisputed logs a DISPUTED outcome and hands its transcripts to
// Config.Disputed.
func (r *Requester) reportDisputed(provider string, period, sequence uint64, o outcome) {
	if o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED {
		return
	}
	r.cfg.Logger.Warn("provider answer disputed", "provider", provider, "period", period,
		"sequence", sequence, "reason", o.err.GetMessage())
	if r.cfg.Disputed != nil {
		for _, t := range o.transcripts {
			r.cfg.Disputed(t, o.err.GetMessage())
		}
	}
}

// verifyAnswer checks an answer: its shape against the request, the
// responder's signature over the response digest against keys (its
// signing keys registered for the period), and, with resolve, the batched
// DLEQ proof against the OPRF key the ledger holds for the period (a
// catalog's Resolve, or a live exchange's Finalize). A signature keys
// reject is checked again against recheck's (a fresh view: the provider
// may have rotated its key since the last refresh). Any failure is
// DISPUTED: the provider may bill the request, so the transcript is kept
// whenever it is well-formed enough to record.
func verifyAnswer(req *signedRequest, ev *riskmeshv1.EvaluateResponse, keys [][]byte, recheck func() [][]byte, resolve func() error) outcome {
	n := len(req.elements)
	disputed := func(t *transcript.Transcript, format string, args ...any) outcome {
		o := outcome{
			status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED,
			err:    &riskmeshv1.PeerError{Code: riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, Message: truncate(fmt.Sprintf(format, args...))},
			billed: n,
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
	if len(ev.GetEvaluated()) != n*oprf.ElementSize {
		return disputed(nil, "answer has %d bytes of elements for %d items", len(ev.GetEvaluated()), n)
	}
	resp := transcript.Response{Evaluated: splitElements(ev.GetEvaluated()), Proof: ev.GetProof()}
	// The proof (the longest check) runs here at once; the response hash
	// (SHA-256 over the 32 KB of a 1,000-item answer) and the signature
	// over it run beside it on a worker goroutine (internal/workers: one
	// whose stack a check before grew), which may wait for a core that
	// long without delaying the answer. All must hold, reported in
	// the order they were checked in series: an answer that does not fit
	// the transcript first, then a signature of impossible length (nothing
	// kept for either), then a bad signature, then a bad proof.
	sigLen := len(ev.GetResponderSignature())
	sigFits := sigLen > 0 && sigLen <= ecsig.MaxSignatureSize
	type signature struct{ fits, err error }
	signed := make(chan signature, 1)
	workers.Go(func() {
		respHash, err := transcript.HashResponse(&req.header, &resp)
		if err != nil || !sigFits {
			signed <- signature{fits: err}
			return
		}
		respDigest := transcript.ResponseDigest(req.requestDigest, respHash)
		err = transcript.VerifyResponse(keys, respDigest, ev.GetResponderSignature())
		if err != nil {
			err = transcript.VerifyResponse(recheck(), respDigest, ev.GetResponderSignature())
		}
		signed <- signature{err: err}
	})
	proved := resolve()
	sig := <-signed
	if sig.fits != nil {
		return disputed(nil, "answer does not fit the transcript: %v", sig.fits)
	}
	if !sigFits {
		return disputed(nil, "responder signature of %d bytes", sigLen)
	}
	t := &transcript.Transcript{
		Header:            req.header,
		Request:           transcript.Request{Elements: req.elements},
		Response:          resp,
		RequestSignature:  req.msg.GetEvaluate().GetRequesterSignature(),
		ResponseSignature: ev.GetResponderSignature(),
	}
	if sig.err != nil {
		return disputed(t, "%v", sig.err)
	}
	if proved != nil {
		return disputed(t, "proof does not verify against the registered key: %v", proved)
	}
	return outcome{status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED, billed: n,
		transcripts: []*transcript.Transcript{t}}
}

// splitElements views a flat element array as one slice per element.
func splitElements(flat []byte) [][]byte {
	out := make([][]byte, len(flat)/oprf.ElementSize)
	for i := range out {
		out[i] = flat[i*oprf.ElementSize : (i+1)*oprf.ElementSize : (i+1)*oprf.ElementSize]
	}
	return out
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
