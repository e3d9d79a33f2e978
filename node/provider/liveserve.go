package provider

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// A live exchange (docs/protocol/hepsi.md, "Served by the node") is an
// ordinary evaluate exchange whose header names ProtocolLiveHE, answered,
// journalled and billed by evaluate like a catalog one, followed by at
// most one homomorphic step on the same exchange (liveQuery). The POPRF
// step is what is billed: a requester that stops after it has paid for
// it, and the homomorphic step is answered only for an exchange whose
// POPRF step this provider answered and billed.

// bucketLive maps an exchange (exchangeKey) to its homomorphic step, an
// accounting/audit LiveStep: the query's digests and the requester's
// signature, then, once answered, the answer's digest and this provider's
// receipt. One query per exchange. Redelivery hands it to the exchange's
// requester or an auditor judging its live dispute.
var bucketLive = []byte("provider/live")

// errLiveTaken reports an exchange whose homomorphic step was taken with
// another query.
var errLiveTaken = errors.New("provider: exchange's homomorphic step already taken with another query")

// liveInfo announces the parameters of a category's live database for the
// current period. Nothing is billed.
func (p *Provider) liveInfo(req *riskmeshv1.LiveInfoRequest) *riskmeshv1.PeerResponse {
	if req.GetProvider() != p.cfg.MSPID {
		return refuse(codeNotFound, "request is addressed to another provider")
	}
	cat := req.GetCategory()
	if _, ok := p.keys[cat]; !ok || !p.servesLive(cat) {
		return refuse(codeNotFound, "category %.64q is not served live here", cat)
	}
	if cur := p.cfg.Directory.View().Period.Number; req.GetPeriod() != cur {
		return refuse(codeStale, "live queries are answered for the current period (%d) only", cur)
	}
	key := p.answeringKey(cat, req.GetPeriod()).Public().KeyID()
	db := p.liveDatabase(cat, req.GetPeriod(), key)
	if db == nil {
		return p.liveNotReady(cat)
	}
	params, err := db.Params().MarshalBinary()
	if err != nil {
		p.log.Error("provider: encode live parameters", "err", err)
		return refuse(codeInternal, "live parameters unavailable")
	}
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_LiveInfo{LiveInfo: &riskmeshv1.LiveInfo{
		Provider: p.cfg.MSPID, Category: cat, Period: req.GetPeriod(), KeyId: key[:], Params: params,
	}}}
}

// Requesters' evaluation keys (docs/protocol/hepsi.md, "Served by the
// node") are kept in one bounded hepsi.KeyCache, each for the
// authenticated requester that sent it: in a query carrying it, or ahead
// of its queries (liveKey). A query naming a key its requester did not
// send here is refused like an unknown key, so a member cannot have its
// queries evaluated under another member's key nor learn whether that
// member queried this provider recently; a member flooding the cache
// evicts its own keys (KeyCache), costing others at most one resend.

// liveKey keeps the authenticated requester's evaluation key for its live
// queries of the category in the current period, which then name it by
// digest. It is checked as a query carrying it would be: the requester an
// active member with the requester role, the key decoded under the
// database's parameters. Nothing is billed or recorded: the key is public
// material, and holding it answers nothing by itself.
func (p *Provider) liveKey(who peer.Identity, req *riskmeshv1.LiveKeyUpload) *riskmeshv1.PeerResponse {
	if req.GetProvider() != p.cfg.MSPID {
		return refuse(codeNotFound, "request is addressed to another provider")
	}
	view := p.cfg.Directory.View()
	switch inst, ok := view.Institution(who.MSPID); {
	case !ok:
		return refuse(codeUnknownPeer, "requester not in this provider's registry view")
	case inst.Status != accounting.StatusActive:
		return refuse(codeSuspended, "requester is %s", inst.Status)
	case !inst.HasRole(accounting.RoleRequester):
		return refuse(codeSuspended, "requester lacks the requester role")
	}
	cat := req.GetCategory()
	if _, ok := p.keys[cat]; !ok || !p.servesLive(cat) {
		return refuse(codeNotFound, "category %.64q is not served live here", cat)
	}
	if cur := view.Period.Number; req.GetPeriod() != cur {
		return refuse(codeStale, "live keys are taken for the current period (%d) only", cur)
	}
	db := p.liveDatabase(cat, req.GetPeriod(), p.answeringKey(cat, req.GetPeriod()).Public().KeyID())
	if db == nil {
		return p.liveNotReady(cat)
	}
	if ok, wait := p.uploads.take(p.cfg.LiveKeyUploads, who.MSPID, p.cfg.Now()); !ok {
		return overBudget(wait)
	}
	k, err := hepsi.DecodeEvaluationKey(db.Params(), req.GetKey())
	if err != nil {
		return refuse(codeStale, "evaluation key does not fit the announced live parameters: %v", err)
	}
	p.heKeys.Add(who.MSPID, k)
	d := k.Digest()
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_LiveKeyStored{LiveKeyStored: &riskmeshv1.LiveKeyStored{KeyDigest: d[:]}}}
}

// liveQuery answers the homomorphic step of an exchange whose POPRF step
// this provider answered: the header must be that exchange's, the query
// well formed under the database's parameters and signed by the requester
// over the chained live query digest, and the exchange's step not taken
// by another query. The answer leaves with the provider's signature over
// the live answer digest, recorded first.
func (p *Provider) liveQuery(ctx context.Context, who peer.Identity, req *riskmeshv1.LiveQuery) *riskmeshv1.PeerResponse {
	h, refusal := parseHeader(req.GetHeader())
	if refusal != nil {
		return refusal
	}
	switch {
	case h.Protocol != transcript.ProtocolLiveHE:
		return refuse(codeMalformed, "header is %v, a live query follows a %v exchange", h.Protocol, transcript.ProtocolLiveHE)
	case h.Responder != p.cfg.MSPID:
		return refuse(codeNotFound, "request is addressed to another provider")
	case h.Requester != who.MSPID:
		return refuse(codeUnknownPeer, "header's requester is not the authenticated peer")
	}
	sig := req.GetRequesterSignature()
	if len(sig) == 0 || len(sig) > ecsig.MaxSignatureSize {
		return refuse(codeMalformed, "requester signature of %d bytes", len(sig))
	}
	t, err := p.Transcript(h.Period, h.Sequence, h.Requester)
	if err != nil {
		p.log.Error("provider: read transcript", "err", err)
		return refuse(codeInternal, "transcript store unreadable")
	}
	if t == nil {
		return refuse(codeNotFound, "no answered POPRF step for sequence %d of period %d", h.Sequence, h.Period)
	}
	stored, err := t.Header.MarshalBinary()
	if err != nil || subtle.ConstantTimeCompare(stored, req.GetHeader()) != 1 {
		return refuse(codeReplayed, "sequence %d of period %d was used with another header", h.Sequence, h.Period)
	}
	view := p.cfg.Directory.View()
	if _, refusal := p.acceptPeriod(view, h.Period); refusal != nil {
		return refusal
	}
	db := p.liveDatabase(h.Category, h.Period, oprf.KeyID(h.KeyID))
	if db == nil {
		return p.liveNotReady(h.Category)
	}
	paramsDigest, err := db.Params().Digest()
	if err != nil {
		return refuse(codeInternal, "live parameters unavailable")
	}

	// A retry (livebudgets.go) is known by the digest of its bytes and
	// the exchange's record, read, before the query is decoded: one whose
	// answer is kept gets it, one to evaluate again spends a token.
	xkey := exchangeKey(h)
	digest, err := hepsi.QueryDigest(db.Params(), req.GetQuery())
	if err != nil {
		return refuse(codeStale, "query does not decode under the announced live parameters: %v", err)
	}
	if kept := p.answers.get(xkey, digest); kept != nil {
		return liveAnswered(kept)
	}
	prev, err := p.liveStep(xkey)
	if err != nil {
		p.log.Error("provider: read live record", "err", err)
		return refuse(codeInternal, "live record unreadable")
	}
	rec := &audit.LiveStep{Params: paramsDigest, Query: digest, RequesterSignature: sig}
	// The signature is over the digest of the query's bytes, so a query
	// its requester did not sign costs a hash and a check, not a decode.
	digests, err := t.Digests()
	if err != nil {
		p.log.Error("provider: stored transcript digests", "err", err)
		return refuse(codeInternal, "stored transcript unusable")
	}
	inst, ok := view.Institution(h.Requester)
	if !ok || rec.VerifyQuery(inst.SigningKeysIn(h.Period), digests.ResponseDigest) != nil {
		return refuse(codeBadSig, "requester signature does not verify over the live query digest")
	}
	queryDigest := rec.QueryDigest(digests.ResponseDigest)
	retried := prev != nil
	if retried && (prev.Query != rec.Query || prev.Params != rec.Params) {
		return liveTaken(h)
	}
	// A query naming a key this provider no longer holds (a restart, an
	// eviction) is refused before a token is spent or the query decoded:
	// the same query sent with its key follows, and only that one is
	// evaluated (Resolve below catches a key evicted meanwhile).
	if named, byKey, err := hepsi.NamedKey(db.Params(), req.GetQuery()); err == nil && byKey && !p.heKeys.Holds(h.Requester, named) {
		return refuseUnknownKey()
	}
	if retried {
		if refusal := p.spendRetry(who.MSPID); refusal != nil {
			return refusal
		}
	}

	q, err := hepsi.DecodeQuery(db.Params(), req.GetQuery())
	p.liveDecodes.Add(1)
	if err != nil {
		return p.liveUndecodable(xkey, h, rec, err)
	}

	// The key is resolved before anything is recorded, so that a query
	// naming a key this provider no longer holds leaves the exchange's
	// step free for the same query sent with its key.
	q, err = p.heKeys.Resolve(h.Requester, q)
	switch {
	case errors.Is(err, hepsi.ErrUnknownKey):
		return refuseUnknownKey()
	case err != nil:
		return refuse(codeStale, "evaluation key does not fit the live parameters: %v", err)
	}
	claimed, err := p.claimLive(xkey, rec)
	switch {
	case errors.Is(err, errLiveTaken):
		return liveTaken(h)
	case err != nil:
		p.log.Error("provider: live record", "err", err)
		return refuse(codeInternal, "live record unwritable")
	}
	if kept := p.answers.get(xkey, rec.Query); kept != nil {
		return liveAnswered(kept)
	}
	if !claimed && !retried {
		// The same query sent again while its first copy was on its
		// way: a retry too, found only by the record's write.
		if refusal := p.spendRetry(who.MSPID); refusal != nil {
			return refusal
		}
	}
	if err := ctx.Err(); err != nil {
		return refuse(codeUnavailable, "not answered in time")
	}
	ans, err := db.Answer(p.cfg.Rand, q)
	if err != nil {
		p.log.Error("provider: live answer", "category", h.Category, "err", err)
		return refuse(codeInternal, "live answer failed")
	}
	enc, err := ans.MarshalBinary()
	if err != nil {
		p.log.Error("provider: encode live answer", "err", err)
		return refuse(codeInternal, "live answer encoding failed")
	}
	if rec.Answer, err = ans.Digest(); err != nil {
		return refuse(codeInternal, "live answer digest failed")
	}
	if rec.ResponderSignature, err = transcript.SignResponse(p.cfg.Sign, transcript.LiveAnswerDigest(queryDigest, rec.Answer)); err != nil {
		p.log.Error("provider: sign live answer", "err", err)
		return refuse(codeInternal, "signing failed")
	}
	if err := p.putLive(xkey, rec); err != nil {
		p.log.Error("provider: live record", "err", err)
		return refuse(codeInternal, "live record unwritable")
	}
	out := &riskmeshv1.LiveAnswer{Answer: enc, ResponderSignature: rec.ResponderSignature}
	p.answers.put(xkey, rec.Query, out)
	return liveAnswered(out)
}

// liveUndecodable refuses a query its requester signed for h's exchange
// that does not decode (err), after it takes the exchange's step like any
// query (claimLive): the same bytes sent again are a retry, decoded only
// within the requester's re-evaluation budget, and another query on the
// exchange is refused before it is decoded. Left free, the step would let
// the member have a decode at every send, bounded only by the peer rate
// limit. An honest requester never signs such a query.
func (p *Provider) liveUndecodable(xkey []byte, h *transcript.Header, rec *audit.LiveStep, err error) *riskmeshv1.PeerResponse {
	switch _, cerr := p.claimLive(xkey, rec); {
	case errors.Is(cerr, errLiveTaken):
		return liveTaken(h)
	case cerr != nil:
		p.log.Error("provider: live record", "err", cerr)
		return refuse(codeInternal, "live record unwritable")
	}
	return refuse(codeStale, "query does not decode under the announced live parameters: %v", err)
}

// refuseUnknownKey refuses a query naming an evaluation key this provider
// does not hold for its requester.
func refuseUnknownKey() *riskmeshv1.PeerResponse {
	return refuse(codeUnknownKey, "evaluation key unknown here; send the query with its key")
}

func liveAnswered(a *riskmeshv1.LiveAnswer) *riskmeshv1.PeerResponse {
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_LiveAnswer{LiveAnswer: a}}
}

// liveTaken refuses a query on h's exchange whose live step another query
// took.
func liveTaken(h *transcript.Header) *riskmeshv1.PeerResponse {
	return refuse(codeReplayed, "the live step of sequence %d of period %d was taken with another query", h.Sequence, h.Period)
}

// claimLive records that the exchange's homomorphic step is taken by
// rec's query, unless another query took it (errLiveTaken); claimed is
// false when the same query had taken it already. The same query again is
// answered again (a lost answer's retry), from liveAnswers while it keeps
// the answer, else evaluated afresh within the requester's budget:
// answering one query twice reveals nothing the first answer did not.
func (p *Provider) claimLive(key []byte, rec *audit.LiveStep) (claimed bool, err error) {
	r, err := liveRecord(key, rec)
	if err != nil {
		return false, err
	}
	var outcome liveClaim
	err = p.journal.LogMessage(&riskmeshv1.ProviderLogRecord{Op: &riskmeshv1.ProviderLogRecord_LiveClaim{LiveClaim: r}}, func(tx *bolt.Tx) error {
		var err error
		outcome, err = applyLiveClaim(tx, r)
		return err
	})
	switch {
	case err != nil:
		return false, err
	case outcome == liveClaimTaken:
		return false, errLiveTaken
	}
	return outcome == liveClaimed, nil
}

// liveClaim is what applyLiveClaim found for its exchange.
type liveClaim uint8

const (
	// liveClaimed: the step was free; the record's query took it.
	liveClaimed liveClaim = iota
	// liveClaimRetried: the record's query had taken the step; the
	// record there, and any receipt in it, stays.
	liveClaimRetried
	// liveClaimTaken: another query took the step; nothing is written.
	liveClaimTaken
)

// applyLiveClaim records r's step in tx unless the exchange has one:
// claimLive's write and its replay after a crash (journal.go). A step
// taken by another query writes nothing and fails nothing, so that a
// requester's second query does not make the writes sharing its
// transaction commit alone (applyAnswer).
func applyLiveClaim(tx *bolt.Tx, r *riskmeshv1.ProviderLiveRecord) (liveClaim, error) {
	step, err := liveRecordStep(r)
	if err != nil {
		return 0, err
	}
	b := tx.Bucket(bucketLive)
	old := b.Get(r.GetExchangeKey())
	if old == nil {
		return liveClaimed, b.Put(r.GetExchangeKey(), r.GetStep())
	}
	var prev audit.LiveStep
	if err := prev.UnmarshalBinary(old); err != nil {
		return 0, err
	}
	if prev.Query != step.Query || prev.Params != step.Params {
		return liveClaimTaken, nil
	}
	return liveClaimRetried, nil
}

// putLive records rec, answered, as the exchange's homomorphic step.
func (p *Provider) putLive(key []byte, rec *audit.LiveStep) error {
	r, err := liveRecord(key, rec)
	if err != nil {
		return err
	}
	return p.journal.LogMessage(&riskmeshv1.ProviderLogRecord{Op: &riskmeshv1.ProviderLogRecord_LiveAnswer{LiveAnswer: r}}, func(tx *bolt.Tx) error {
		return applyLiveAnswer(tx, r)
	})
}

// applyLiveAnswer records r's answered step in tx: putLive's write and its
// replay after a crash (journal.go).
func applyLiveAnswer(tx *bolt.Tx, r *riskmeshv1.ProviderLiveRecord) error {
	if _, err := liveRecordStep(r); err != nil {
		return err
	}
	return tx.Bucket(bucketLive).Put(r.GetExchangeKey(), r.GetStep())
}

// liveRecord is the record of a write of exchange key's step rec.
func liveRecord(key []byte, rec *audit.LiveStep) (*riskmeshv1.ProviderLiveRecord, error) {
	enc, err := rec.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &riskmeshv1.ProviderLiveRecord{ExchangeKey: key, Step: enc}, nil
}

// liveRecordStep checks a live record's exchange key and decodes its step.
func liveRecordStep(r *riskmeshv1.ProviderLiveRecord) (*audit.LiveStep, error) {
	if err := checkExchangeKey(r.GetExchangeKey()); err != nil {
		return nil, err
	}
	step := new(audit.LiveStep)
	if err := step.UnmarshalBinary(r.GetStep()); err != nil {
		return nil, fmt.Errorf("%w: %w", errJournalRecord, err)
	}
	return step, nil
}

// liveStep returns the homomorphic step recorded for exchange key, nil if
// none was taken.
func (p *Provider) liveStep(key []byte) (*audit.LiveStep, error) {
	var rec *audit.LiveStep
	err := p.journal.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketLive).Get(key)
		if v == nil {
			return nil
		}
		rec = new(audit.LiveStep)
		return rec.UnmarshalBinary(v)
	})
	return rec, err
}
