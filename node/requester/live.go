package requester

import (
	"context"
	"errors"
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Live mode (docs/protocol/hepsi.md, "Served by the node"): a provider
// part is answered against the provider's current list. The part asks for
// the provider's live parameters and checks them (Params.Validate), then
// hands its identifiers, in parts of at most the parameters' MaxBatch, to
// the batcher, which coalesces concurrent live parts of the same
// provider, category, period and parameters into one exchange: the POPRF
// step (a signed EvaluateRequest with header protocol ProtocolLiveHE,
// verified like a catalog answer: the responder's signature and the proof
// against the key the ledger holds for the period) and the homomorphic
// step (the PRF outputs encrypted, the query signed over the chained live
// query digest, the provider's receipt checked, the answer decrypted),
// whose outcome is split back to each part as a catalog exchange's is.
// Each exchange is billed at the period's live price, each query its own
// items. A step cut off by the deadline is fetched late.

// usesLive reports whether the part at a provider goes live: as the query
// (or the node's default) asks, or in auto mode when no verified catalog
// of the provider is ready.
func usesLive(mode riskmeshv1.QueryMode, catalogReady bool) bool {
	return mode == riskmeshv1.QueryMode_QUERY_MODE_LIVE || (mode == riskmeshv1.QueryMode_QUERY_MODE_AUTO && !catalogReady)
}

// livePrice is what one item of the query's category costs in live mode
// at provider; ok is false if the period has no live price for it.
func (q *queryRun) livePrice(provider string) (int64, bool) {
	if q.period == nil {
		return 0, false
	}
	return q.period.Price(q.rec.GetCategory(), accounting.ModeLive, provider)
}

// liveKey returns the POPRF key the provider's live answers of the period
// must verify under: the key its catalog of the period was published
// under, or, without a catalog, the key the registry holds for the
// category.
func (r *Requester) liveKey(ctx context.Context, inst accounting.Institution, category string, period uint64) (*oprf.PublicKey, error) {
	raw := inst.OPRFKeys[category]
	c, err := r.cfg.Directory.Catalog(ctx, inst.MSPID, category, period)
	switch {
	case err == nil:
		raw = c.OPRFKey
	case !errors.Is(err, accounting.ErrNotFound):
		return nil, fmt.Errorf("read catalog record: %w", err)
	}
	pub := new(oprf.PublicKey)
	if err := pub.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("no usable OPRF key of %s for %s: %w", inst.MSPID, category, err)
	}
	return pub, nil
}

// liveSetup is what every exchange of a live part shares, and what a
// coalesced exchange's parts share: the provider's parameters (digest
// names them) and the POPRF key the ledger holds for the period.
type liveSetup struct {
	inst     accounting.Institution
	category string
	period   uint64
	key      *oprf.PublicKey
	params   hepsi.Params
	digest   [transcript.DigestSize]byte
}

// liveSetupOf asks inst for its live parameters of category in period
// and checks them: a weak ring is refused, and so is a database under
// another POPRF key than the ledger holds for the period. The outcome is
// set when the setup failed.
func (r *Requester) liveSetupOf(ctx context.Context, inst accounting.Institution, category string, period uint64) (*liveSetup, *outcome) {
	refused := func(code riskmeshv1.ErrorCode, format string, args ...any) (*liveSetup, *outcome) {
		o := failed(riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED, code, fmt.Sprintf(format, args...), 0)
		return nil, &o
	}
	key, err := r.liveKey(ctx, inst, category, period)
	if err != nil {
		return refused(riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, "%v", err)
	}
	resp, err := r.cfg.Conns.Do(ctx, &inst, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveInfo{LiveInfo: &riskmeshv1.LiveInfoRequest{
		Provider: inst.MSPID, Category: category, Period: period,
	}}})
	if err != nil {
		o := peerFailure(err, 1)
		return nil, &o
	}
	info := resp.GetLiveInfo()
	var params hepsi.Params
	if err := params.UnmarshalBinary(info.GetParams()); err != nil {
		return refused(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, "live parameters: %v", err)
	}
	// A provider must not make this node encrypt under a weak ring.
	if err := params.Validate(); err != nil {
		return refused(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, "live parameters refused: %v", err)
	}
	if id := key.KeyID(); string(info.GetKeyId()) != string(id[:]) {
		return refused(riskmeshv1.ErrorCode_ERROR_CODE_STALE, "live database is under another key than the ledger holds for period %d", period)
	}
	digest, err := params.Digest()
	if err != nil {
		return refused(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, "live parameters: %v", err)
	}
	return &liveSetup{inst: inst, category: category, period: period, key: key, params: params, digest: digest}, nil
}

// askLive runs the identifiers of a live part, part by part through the
// batcher (coalesced with other queries' live parts), and returns one
// outcome per exchange; it stops at the first exchange not answered.
func (r *Requester) askLive(ctx context.Context, q *queryRun, inst accounting.Institution) []outcome {
	ids := q.batch.ids
	setup, refusal := r.liveSetupOf(ctx, inst, q.rec.Category, q.rec.Period)
	if refusal != nil {
		return []outcome{*refusal}
	}
	x := exchange{inst: inst, category: q.rec.Category, period: q.rec.Period, live: setup}
	limit := r.exchangeLimit(&x)
	var outs []outcome
	for lo := 0; lo < len(ids); lo += limit {
		p := &part{ids: ids[lo:min(lo+limit, len(ids))], deadline: q.deadline, done: make(chan []outcome, 1)}
		r.batcher.submit(x, p, true)
		share := <-p.done
		outs = append(outs, share...)
		if merge(share).status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			break
		}
	}
	return outs
}

// liveBatch runs one live exchange of ex's identifiers, possibly the
// coalesced parts of several queries. A POPRF step cut off by the deadline
// after its request may have reached the provider is fetched late, as a
// catalog request is, and its homomorphic step run when the answer comes.
func (r *Requester) liveBatch(ctx context.Context, ex *exchange) outcome {
	x, ids := ex.live, ex.ids
	internal := func(what string, err error) outcome {
		return failed(riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED, riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, what+": "+err.Error(), 0)
	}
	client, err := oprf.NewClient(x.key, catalogpsi.Info(x.category, x.period))
	if err != nil {
		return internal("POPRF client", err)
	}
	inputs := make([][]byte, len(ids))
	for i, id := range ids {
		inputs[i] = id.AppendTo(nil)
	}
	state, blinded, err := client.Blind(r.cfg.Rand, inputs)
	if err != nil {
		return internal("blind", err)
	}
	req, err := r.signLive(x, blinded, len(ids))
	if err != nil {
		return internal("sign request", err)
	}
	finalize := func(ev *riskmeshv1.EvaluateResponse) ([][oprf.OutputSize]byte, error) {
		return client.Finalize(state, ev.GetEvaluated(), ev.GetProof())
	}
	// The identical request again after a failure: a provider that
	// answered it returns its stored answer and bills nothing more.
	resp, attempts, reached, err := r.resend(ctx, &x.inst, req.msg)
	var re *peer.RemoteError
	if errors.As(err, &re) && re.Code == riskmeshv1.ErrorCode_ERROR_CODE_REPLAYED_SEQUENCE {
		// Our counter is behind the provider's view (another node of
		// this institution, restored state): a fresh number, once, as
		// a catalog request does. The provider holds another request
		// under the old one, so nothing of ours was billed under it.
		if req, err = r.signLive(x, blinded, len(ids)); err != nil {
			return internal("sign request", err)
		}
		var more uint32
		resp, more, reached, err = r.resend(ctx, &x.inst, req.msg)
		attempts += more
	}
	if err == nil {
		return r.liveAnswered(ctx, ex, req, finalize, resp, attempts, true)
	}
	o := peerFailure(err, attempts)
	o.items, o.sent = len(ids), sentOf(req, len(ids))
	if o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE || ctx.Err() == nil || !reached ||
		r.ctx.Err() != nil || r.cfg.LateAnswerWindow <= 0 {
		return o
	}
	// The provider may have answered and billed the POPRF step.
	o.late = r.startLate(*ex, req, attempts, func(f *lateFetch) outcome {
		return r.fetchLate(f, func(ctx context.Context, resp *riskmeshv1.PeerResponse, attempts uint32) outcome {
			return r.liveAnswered(ctx, &f.x, f.req, finalize, resp, attempts, false)
		})
	})
	o.err = &riskmeshv1.PeerError{Code: o.err.Code, Message: truncate(o.err.Message + lateNote)}
	return o
}

// signLive reserves a fresh sequence number and builds the signed POPRF
// step of a live exchange with x's provider for n blinded elements.
func (r *Requester) signLive(x *liveSetup, blinded []byte, n int) (*signedRequest, error) {
	seq, err := r.seqs.next(x.period, x.inst.MSPID)
	if err != nil {
		return nil, fmt.Errorf("sequence: %w", err)
	}
	return signRequest(transcript.Header{
		ProofRule: transcript.ProofBinding128, Protocol: transcript.ProtocolLiveHE, Suite: catalogpsi.Suite,
		Category: x.category, Period: x.period, Requester: r.cfg.MSPID, Responder: x.inst.MSPID,
		Sequence: seq, Count: uint32(n), KeyID: x.key.KeyID(),
	}, blinded, r.cfg.Sign)
}

// sentOf lists req, carrying n identifiers, as the request sent for them.
func sentOf(req *signedRequest, n int) []*riskmeshv1.SentExchange {
	return []*riskmeshv1.SentExchange{{Sequence: req.header.Sequence, Items: uint32(n)}}
}

// liveAnswered verifies resp, the provider's answer to the POPRF step req
// of live exchange ex (finalize checks its proof and returns the PRF
// outputs), and runs the homomorphic step. If ctx ends before the
// homomorphic answer comes and late is set (the deadline, not a late
// fetch's window), a late fetch goes on asking for it.
func (r *Requester) liveAnswered(ctx context.Context, ex *exchange, req *signedRequest,
	finalize func(*riskmeshv1.EvaluateResponse) ([][oprf.OutputSize]byte, error),
	resp *riskmeshv1.PeerResponse, attempts uint32, late bool) outcome {
	x, ids := ex.live, ex.ids
	ev := resp.GetEvaluate()
	var outputs [][oprf.OutputSize]byte
	o := verifyAnswer(req, ev, x.inst.SigningKeysIn(x.period), r.recheckKeys(ctx, x.inst.MSPID, x.period), func() error {
		var err error
		outputs, err = finalize(ev)
		return err
	})
	o.attempts, o.items, o.sent = attempts, len(ids), sentOf(req, len(ids))
	if o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		r.reportDisputed(x.inst.MSPID, x.period, req.header.Sequence, o)
		return o
	}
	lq, err := r.prepareLive(x, req, ev, outputs)
	if err != nil {
		return liveFailed(o, err)
	}
	results, err := r.askLiveStep(ctx, x, lq)
	if err == nil {
		o.results = results
		return o
	}
	// The POPRF step is answered and billed; the homomorphic answer is
	// missing, so the part has no results unless it comes late.
	base := liveFailed(o, err)
	if !late || ctx.Err() == nil || r.ctx.Err() != nil || r.cfg.LateAnswerWindow <= 0 {
		return base
	}
	o = base
	o.late = r.startLate(*ex, req, 0, func(f *lateFetch) outcome {
		results, err := r.askLiveStep(f.ctx, x, lq)
		if err != nil {
			return liveFailed(base, err)
		}
		out := base
		out.status, out.results, out.err = riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED, results, nil
		return out
	})
	o.err = &riskmeshv1.PeerError{Code: o.err.Code, Message: truncate(o.err.Message + lateNote)}
	return o
}

// liveFailed is o, an answered POPRF step, whose homomorphic step failed
// with err: UNAVAILABLE, billed, without results.
func liveFailed(o outcome, err error) outcome {
	o.status, o.results = riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE, nil
	var re *peer.RemoteError
	if errors.As(err, &re) {
		o.err = &riskmeshv1.PeerError{Code: re.Code, Message: truncate("live step: " + re.Message)}
	} else {
		o.err = &riskmeshv1.PeerError{Code: riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: truncate("live step: " + err.Error())}
	}
	return o
}

// liveQuery is the homomorphic step of one exchange, signed and recorded:
// the message to send, identical on every attempt, and what opens its
// answer. It names the key pair's evaluation key by digest once the
// provider holds it, and carries the key, the same query, if the provider
// answers that it does not.
type liveQuery struct {
	req      *signedRequest // the exchange's POPRF step
	he       *heKey
	byDigest bool // the query names its evaluation key by digest

	msg   *riskmeshv1.PeerRequest
	step  *audit.LiveStep // without the receipt
	qd    [transcript.DigestSize]byte
	state *hepsi.QueryState
}

// prepareLive encrypts the PRF outputs of the exchange req started under
// this node's key pair for the provider and period, carrying the
// evaluation key or naming it by digest, signs the query over the chained
// live query digest (which covers the key's digest either way) and
// records it (a query the provider never answers is what a live dispute
// files) before it is sent.
func (r *Requester) prepareLive(x *liveSetup, req *signedRequest, ev *riskmeshv1.EvaluateResponse, outputs [][oprf.OutputSize]byte) (*liveQuery, error) {
	respHash, err := transcript.HashResponse(&req.header, &transcript.Response{Evaluated: splitElements(ev.GetEvaluated()), Proof: ev.GetProof()})
	if err != nil {
		return nil, err
	}
	he, err := r.heKeys.requester(x)
	if err != nil {
		return nil, err
	}
	lq := &liveQuery{req: req, he: he, byDigest: he.sent.Load()}
	items := make([][]byte, len(outputs))
	for i := range outputs {
		items[i] = outputs[i][:]
	}
	encrypt := he.Query
	if lq.byDigest {
		encrypt = he.QueryByKeyDigest
	}
	query, st, err := encrypt(r.cfg.Rand, items)
	if err != nil {
		return nil, err
	}
	step := &audit.LiveStep{Params: x.digest, Query: query.Digest()}
	qd := step.QueryDigest(transcript.ResponseDigest(req.requestDigest, respHash))
	if step.RequesterSignature, err = transcript.SignRequest(r.cfg.Sign, qd); err != nil {
		return nil, err
	}
	if err := r.store.putLiveStep(&req.header, step); err != nil {
		return nil, fmt.Errorf("record the live query: %w", err)
	}
	lq.step, lq.qd, lq.state = step, qd, st
	return lq, lq.seal(query)
}

// seal makes lq's message of query, under lq's signature.
func (lq *liveQuery) seal(query *hepsi.Query) error {
	enc, err := query.MarshalBinary()
	if err != nil {
		return err
	}
	lq.msg = &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveQuery{LiveQuery: &riskmeshv1.LiveQuery{
		Header: lq.req.msg.GetEvaluate().GetHeader(), Query: enc, RequesterSignature: lq.step.RequesterSignature,
	}}}
	return nil
}

// carryKey makes lq's message carry the evaluation key its query named
// (hepsi's QueryWithKey): the same query, so the same digest, signature
// and recorded step.
func (lq *liveQuery) carryKey() error {
	q, err := lq.state.QueryWithKey()
	if err != nil {
		return err
	}
	lq.byDigest = false
	return lq.seal(q)
}

// askLiveStep sends lq until it is answered, refused for good or ctx
// ends, checks the provider's receipt, records it with the query and
// decrypts the answer.
func (r *Requester) askLiveStep(ctx context.Context, x *liveSetup, lq *liveQuery) ([]catalogpsi.Result, error) {
	resp, _, _, err := r.resend(ctx, &x.inst, lq.msg)
	var re *peer.RemoteError
	if lq.byDigest && errors.As(err, &re) && re.Code == riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_KEY {
		// The provider restarted or evicted the key, perhaps after it
		// took this query (its answer lost): the same query again,
		// carrying the key, once. Its digest, and so the signature and
		// the recorded step, are the query's own.
		lq.he.sent.Store(false)
		if err := lq.carryKey(); err != nil {
			return nil, err
		}
		resp, _, _, err = r.resend(ctx, &x.inst, lq.msg)
	}
	if err != nil {
		return nil, err
	}
	la := resp.GetLiveAnswer()
	if la == nil {
		return nil, errNotLiveAnswer
	}
	ans, err := hepsi.DecodeAnswer(x.params, la.GetAnswer())
	if err != nil {
		return nil, err
	}
	step := *lq.step
	if step.Answer, err = ans.Digest(); err != nil {
		return nil, err
	}
	step.ResponderSignature = la.GetResponderSignature()
	if err := transcript.VerifyResponse(x.inst.SigningKeysIn(x.period), transcript.LiveAnswerDigest(lq.qd, step.Answer), step.ResponderSignature); err != nil {
		return nil, err
	}
	res, err := lq.state.Results(ans)
	if err != nil {
		return nil, err
	}
	// The receipt is kept only for an answer that names the query.
	if err := r.store.putLiveStep(&lq.req.header, &step); err != nil {
		return nil, fmt.Errorf("record the live receipt: %w", err)
	}
	if !lq.byDigest {
		lq.he.sent.Store(true)
	}
	out := make([]catalogpsi.Result, len(res))
	for i, hr := range res {
		if !hr.Found {
			continue
		}
		// A label that does not decode is a false positive of the
		// homomorphic match (docs/protocol/hepsi.md section 5): a miss.
		var l catalog.Label
		if l.UnmarshalBinary(hr.Label) == nil {
			out[i] = catalogpsi.Result{Hit: true, Label: l}
		}
	}
	return out, nil
}

// peerFailure is the outcome of a request that got no answer.
func peerFailure(err error, attempts uint32) outcome {
	var re *peer.RemoteError
	if errors.As(err, &re) {
		status := riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED
		if transient(re) {
			status = riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE
		}
		return failed(status, re.Code, re.Message, attempts)
	}
	return failed(riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE, riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, err.Error(), attempts)
}
