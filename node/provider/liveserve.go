package provider

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/cryptobyte"

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

// bucketLive maps an exchange (exchangeKey) to its homomorphic step:
// the query's digest, then, once answered, the answer's digest and both
// signatures (liveRecord). One query per exchange.
var bucketLive = []byte("provider/live")

// liveRecord is the homomorphic step of one exchange, as stored:
//
//	[32] query digest | [32] answer digest | u8 length, requester signature
//	| u8 length, responder signature
//
// An answer digest of zeros with empty signatures is a query being
// answered.
type liveRecord struct {
	query, answer [transcript.DigestSize]byte
	reqSig, resp  []byte
}

func (r *liveRecord) marshal() []byte {
	var b cryptobyte.Builder
	b.AddBytes(r.query[:])
	b.AddBytes(r.answer[:])
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(r.reqSig) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(r.resp) })
	return b.BytesOrPanic()
}

func parseLiveRecord(data []byte) (*liveRecord, error) {
	s := cryptobyte.String(data)
	r := new(liveRecord)
	var q, a []byte
	var reqSig, resp cryptobyte.String
	if !s.ReadBytes(&q, transcript.DigestSize) || !s.ReadBytes(&a, transcript.DigestSize) ||
		!s.ReadUint8LengthPrefixed(&reqSig) || !s.ReadUint8LengthPrefixed(&resp) || !s.Empty() {
		return nil, errLiveRecord
	}
	copy(r.query[:], q)
	copy(r.answer[:], a)
	r.reqSig, r.resp = bytes.Clone(reqSig), bytes.Clone(resp)
	return r, nil
}

// errLiveRecord is a stored live record that does not parse.
var errLiveRecord = errors.New("provider: stored live record damaged")

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
		return refuse(codeUnavailable, "live database of %s not ready", cat)
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
		return refuse(codeUnavailable, "live database of %s not ready", h.Category)
	}
	q, err := hepsi.DecodeQuery(db.Params(), req.GetQuery())
	if err != nil {
		return refuse(codeStale, "query does not decode under the announced live parameters: %v", err)
	}
	digests, err := t.Digests()
	if err != nil {
		p.log.Error("provider: stored transcript digests", "err", err)
		return refuse(codeInternal, "stored transcript unusable")
	}
	paramsDigest, err := db.Params().Digest()
	if err != nil {
		return refuse(codeInternal, "live parameters unavailable")
	}
	queryDigest := transcript.LiveQueryDigest(digests.ResponseDigest, paramsDigest, q.Digest())
	inst, ok := view.Institution(h.Requester)
	if !ok || transcript.VerifyRequest(inst.SigningKeysIn(h.Period), queryDigest, sig) != nil {
		return refuse(codeBadSig, "requester signature does not verify over the live query digest")
	}

	xkey := exchangeKey(h)
	rec := &liveRecord{query: q.Digest(), reqSig: sig}
	switch err := p.claimLive(xkey, rec); {
	case errors.Is(err, errLiveTaken):
		return refuse(codeReplayed, "the live step of sequence %d of period %d was taken with another query", h.Sequence, h.Period)
	case err != nil:
		p.log.Error("provider: live record", "err", err)
		return refuse(codeInternal, "live record unwritable")
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
	if rec.answer, err = ans.Digest(); err != nil {
		return refuse(codeInternal, "live answer digest failed")
	}
	if rec.resp, err = transcript.SignResponse(p.cfg.Sign, transcript.LiveAnswerDigest(queryDigest, rec.answer)); err != nil {
		p.log.Error("provider: sign live answer", "err", err)
		return refuse(codeInternal, "signing failed")
	}
	if err := p.cfg.DB.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketLive).Put(xkey, rec.marshal()) }); err != nil {
		p.log.Error("provider: live record", "err", err)
		return refuse(codeInternal, "live record unwritable")
	}
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_LiveAnswer{LiveAnswer: &riskmeshv1.LiveAnswer{
		Answer: enc, ResponderSignature: rec.resp,
	}}}
}

// claimLive records that the exchange's homomorphic step is taken by
// rec's query, unless another query took it (errLiveTaken). The same
// query again is answered again (a lost answer's retry): answering one
// query twice reveals nothing the first answer did not.
func (p *Provider) claimLive(key []byte, rec *liveRecord) error {
	return p.cfg.DB.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLive)
		if old := b.Get(key); old != nil {
			prev, err := parseLiveRecord(old)
			if err != nil {
				return err
			}
			if prev.query != rec.query {
				return errLiveTaken
			}
		}
		return b.Put(key, rec.marshal())
	})
}
