package provider

import (
	"context"
	"errors"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/groupcommit"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// evaluate answers one catalog-PSI batch, or the POPRF step of a live
// exchange (header protocol ProtocolLiveHE, liveserve.go), billed at the
// period's price for the mode. The checks run in the order
// docs/node-provider.md lists: format, addressing, authentication, replay,
// then the state the answer is billed against. Nothing refused is billed.
func (p *Provider) evaluate(ctx context.Context, who peer.Identity, req *riskmeshv1.EvaluateRequest) *riskmeshv1.PeerResponse {
	h, refusal := parseHeader(req.GetHeader())
	if refusal != nil {
		return refusal
	}
	live := h.Protocol == transcript.ProtocolLiveHE
	if (h.Protocol != transcript.ProtocolCatalogOPRF && !live) || h.Suite != catalogpsi.Suite {
		return refuse(codeMalformed, "header is %v/%s, this provider serves catalog-oprf and live-he over %s", h.Protocol, h.Suite, catalogpsi.Suite)
	}
	if h.Responder != p.cfg.MSPID {
		return refuse(codeNotFound, "request is addressed to another provider")
	}
	if h.Requester != who.MSPID {
		return refuse(codeUnknownPeer, "header's requester is not the authenticated peer")
	}
	if _, ok := p.keys[h.Category]; !ok {
		return refuse(codeNotFound, "category %s is not provided here", h.Category)
	}
	maxBatch := p.cfg.MaxBatch
	switch {
	case live && !p.servesLive(h.Category):
		return refuse(codeNotFound, "category %s is not served live here", h.Category)
	case !live && !p.servesCatalog(h.Category):
		return refuse(codeNotFound, "category %s is served live only here", h.Category)
	case live:
		maxBatch = min(maxBatch, p.cfg.LiveBatch)
	}
	if int(h.Count) > maxBatch {
		resp := refuse(codeTooLarge, "batch of %d items; at most %d", h.Count, maxBatch)
		resp.GetError().MaxItems = uint32(maxBatch)
		return resp
	}
	blinded := req.GetBlinded()
	if len(blinded) != int(h.Count)*oprf.ElementSize {
		return refuse(codeMalformed, "blinded array of %d bytes for %d items", len(blinded), h.Count)
	}
	sig := req.GetRequesterSignature()
	if len(sig) == 0 || len(sig) > ecsig.MaxSignatureSize {
		return refuse(codeMalformed, "requester signature of %d bytes", len(sig))
	}

	view := p.cfg.Directory.View()
	inst, ok := view.Institution(h.Requester)
	if !ok {
		return refuse(codeUnknownPeer, "requester not in this provider's registry view")
	}
	request := transcript.Request{Elements: split(blinded)}
	reqHash, err := transcript.HashRequest(h, &request)
	if err != nil {
		return refuse(codeMalformed, "request: %v", err)
	}
	reqDigest, err := transcript.RequestDigest(h, reqHash)
	if err != nil {
		return refuse(codeMalformed, "request digest: %v", err)
	}
	if err := transcript.VerifyRequest(inst.SigningKeysIn(h.Period), reqDigest, sig); err != nil {
		// The requester may have rotated its key since the view's refresh.
		view = p.cfg.Directory.Recheck(ctx)
		if inst, ok = view.Institution(h.Requester); !ok || transcript.VerifyRequest(inst.SigningKeysIn(h.Period), reqDigest, sig) != nil {
			return refuse(codeBadSig, "requester signature does not verify against the keys registered for period %d", h.Period)
		}
	}

	xkey := exchangeKey(h)
	var (
		db   groupcommit.DB = p.cfg.DB
		turn *answerTurn
	)
	for {
		switch t, err := p.lookup(db, xkey, reqDigest); {
		case errors.Is(err, errReplayed):
			return refuseReplayed(h)
		case err != nil:
			p.log.Error("provider: replay index", "err", err)
			return refuse(codeInternal, "replay index unreadable")
		case t != nil:
			return answer(t) // already answered and billed: answer again, bill nothing
		}
		var first bool
		if turn, first = p.answering.claim(xkey); first {
			break
		}
		// A request of this exchange is being answered, or its answer is
		// journalled and not folded yet: wait for it and read the journal.
		select {
		case <-turn.done:
		case <-ctx.Done():
			return refuse(codeUnavailable, "not answered in time")
		}
		db = p.journal
	}
	journalled := false
	defer func() {
		if !journalled {
			p.answering.ended(xkey, turn)
		}
	}()
	// Only batch-binding proofs are made for new requests: an RFC
	// 9497-rule proof of a large batch can be forged (docs/protocol/oprf.md).
	// Both binding rules are answered, the one the signed header asks for,
	// so requesters can move to ProofBinding128 after their providers.
	if h.ProofRule != transcript.ProofBinding128 && h.ProofRule != transcript.ProofBinding {
		return refuse(codeMalformed, "header asks for the %v proof rule; answers are proved under %v or %v only", h.ProofRule, transcript.ProofBinding128, transcript.ProofBinding)
	}

	period, refusal := p.acceptPeriod(view, h.Period)
	if refusal != nil {
		return refusal
	}
	key := p.answeringKey(h.Category, h.Period)
	if oprf.KeyID(h.KeyID) != key.Public().KeyID() {
		return refuse(codeStale, "key id is not the key of this provider's catalog for %s, period %d", h.Category, h.Period)
	}
	if live && p.liveDatabase(h.Category, h.Period, oprf.KeyID(h.KeyID)) == nil {
		// Nothing to answer the homomorphic step with: not billed.
		return p.liveNotReady(h.Category)
	}
	if inst.Status != accounting.StatusActive {
		return refuse(codeSuspended, "requester is %s", inst.Status)
	}
	if !inst.HasRole(accounting.RoleRequester) {
		return refuse(codeSuspended, "requester lacks the requester role")
	}
	mode, _ := accounting.ModeOf(h.Protocol)
	price, ok := period.Price(h.Category, mode, h.Responder)
	if !ok || price < 0 || (price > 0 && int64(h.Count) > math.MaxInt64/price) {
		return refuse(codeNotFound, "category %s has no usable %s price in period %d", h.Category, mode, h.Period)
	}
	amount := int64(h.Count) * price
	billed, release, refusal := p.reserve(ctx, h.Requester, amount)
	if refusal != nil {
		return refusal
	}
	defer release() // a no-op once billed

	ev, err := p.evaluator(h.Category, h.Period, key)
	if err == nil {
		ev, err = ev.WithRule(h.ProofRule)
	}
	if err != nil {
		p.log.Error("provider: evaluator", "category", h.Category, "err", err)
		return refuse(codeInternal, "evaluator unavailable")
	}
	evaluated, proof, err := ev.BlindEvaluate(p.cfg.Rand, blinded)
	if err != nil {
		var ee *oprf.ElementError
		if errors.As(err, &ee) {
			resp := refuse(codeMalformed, "blinded element: %v", ee.Err)
			idx := uint32(ee.Index)
			resp.GetError().ElementIndex = &idx
			return resp
		}
		p.log.Error("provider: evaluate", "err", err)
		return refuse(codeInternal, "evaluation failed")
	}
	if p.cfg.CorruptEvaluation {
		corrupt(evaluated, blinded)
	}
	t := &transcript.Transcript{
		Header:           *h,
		Request:          request,
		Response:         transcript.Response{Evaluated: split(evaluated), Proof: proof[:]},
		RequestSignature: sig,
	}
	respHash, err := transcript.HashResponse(h, &t.Response)
	if err != nil {
		p.log.Error("provider: hash response", "err", err)
		return refuse(codeInternal, "response hash failed")
	}
	if t.ResponseSignature, err = transcript.SignResponse(p.cfg.Sign, transcript.ResponseDigest(reqDigest, respHash)); err != nil {
		p.log.Error("provider: sign response", "err", err)
		return refuse(codeInternal, "signing failed")
	}
	file, err := t.MarshalBinary()
	if err != nil {
		p.log.Error("provider: encode transcript", "err", err)
		return refuse(codeInternal, "transcript encoding failed")
	}
	entry := accounting.Entry{
		Header:             req.GetHeader(),
		RequestHash:        reqHash[:],
		ResponseHash:       respHash[:],
		RequesterSignature: sig,
		ResponderSignature: t.ResponseSignature,
		Amount:             amount,
	}
	won, err := p.commit(xkey, reqDigest, file, entry, func(tx *bolt.Tx) { p.answering.foldedOn(tx, xkey, turn) })
	if err == nil || errors.Is(err, errReplayed) {
		// The exchange's answer is durable, this one or another's.
		journalled = true
		p.answering.journalled(turn)
	}
	switch {
	case errors.Is(err, errReplayed):
		return refuseReplayed(h)
	case err != nil:
		p.log.Error("provider: journal answer", "err", err)
		return refuse(codeInternal, "could not journal the answer; not billed")
	case won != nil:
		return answer(won)
	}
	billed()
	return answer(t)
}

// refuseReplayed refuses a request on h's exchange, which another request
// took.
func refuseReplayed(h *transcript.Header) *riskmeshv1.PeerResponse {
	return refuse(codeReplayed, "sequence %d of period %d was used for another request", h.Sequence, h.Period)
}

// parseHeader parses a request's transcript header, bounded before
// parsing; a refusal is MALFORMED.
func parseHeader(raw []byte) (*transcript.Header, *riskmeshv1.PeerResponse) {
	if len(raw) > transcript.MaxHeaderSize {
		return nil, refuse(codeMalformed, "header longer than %d bytes", transcript.MaxHeaderSize)
	}
	h, err := transcript.ParseHeader(raw)
	if err != nil {
		return nil, refuse(codeMalformed, "header: %v", err)
	}
	return h, nil
}

// answeringKey is the key requests of (category, period) are answered
// with: the key the period's served catalog was built under, which its
// ledger record names, or the current key while none is served yet.
func (p *Provider) answeringKey(category string, period uint64) *oprf.PrivateKey {
	if sv := p.cats.get(category, period); sv != nil {
		return sv.key
	}
	cur, _ := p.keys[category].get()
	return cur
}

// corrupt replaces the first evaluated element by the blinded element it
// answers: a valid group element that the proof does not cover
// (Config.CorruptEvaluation).
func corrupt(evaluated, blinded []byte) {
	if len(evaluated) >= oprf.ElementSize && len(blinded) >= oprf.ElementSize {
		copy(evaluated[:oprf.ElementSize], blinded[:oprf.ElementSize])
	}
}

// answer is the EvaluateResponse of a transcript.
func answer(t *transcript.Transcript) *riskmeshv1.PeerResponse {
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Evaluate{Evaluate: &riskmeshv1.EvaluateResponse{
		Evaluated:          join(t.Response.Evaluated),
		Proof:              t.Response.Proof,
		ResponderSignature: t.ResponseSignature,
	}}}
}

// split views a flat element array as elements, without copying.
func split(flat []byte) [][]byte {
	out := make([][]byte, len(flat)/oprf.ElementSize)
	for i := range out {
		out[i] = flat[i*oprf.ElementSize : (i+1)*oprf.ElementSize : (i+1)*oprf.ElementSize]
	}
	return out
}

func join(elements [][]byte) []byte {
	out := make([]byte, 0, len(elements)*oprf.ElementSize)
	for _, e := range elements {
		out = append(out, e...)
	}
	return out
}
