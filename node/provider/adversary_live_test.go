package provider

import (
	"bytes"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// A live exchange played as the requester, over QUIC, against the real
// provider and contract (docs/protocol/hepsi.md, "Served by the node"):
// LiveInfo, the POPRF step (billed), the homomorphic step.

// registeredKey is the provider's OPRF key for category as the ledger's
// registry holds it: what a requester verifies a live POPRF step against
// when no catalog names a key for the period.
func (f *fixture) registeredKey() *oprf.PublicKey {
	f.t.Helper()
	f.refresh()
	inst, ok := f.dir.View().Institution(providerMSP)
	if !ok {
		f.t.Fatal("provider not in the registry view")
	}
	pub := new(oprf.PublicKey)
	must(f.t, pub.UnmarshalBinary(inst.OPRFKeys[category]))
	return pub
}

// liveParams asks for the live parameters of period and checks them as a
// requester must.
func (f *fixture) liveParams(via exchange, period uint64) hepsi.Params {
	f.t.Helper()
	info := via(&riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveInfo{LiveInfo: &riskmeshv1.LiveInfoRequest{
		Provider: providerMSP, Category: category, Period: period,
	}}}).GetLiveInfo()
	if info == nil {
		f.t.Fatal("live info refused")
	}
	var p hepsi.Params
	must(f.t, p.UnmarshalBinary(info.GetParams()))
	must(f.t, p.Validate())
	return p
}

// liveStep1 is a live exchange's POPRF step: the outputs of phones under
// the registered key (proof verified), the header sent and the exchange's
// response digest. A refusal is returned as the response.
type liveStep1 struct {
	header     *transcript.Header
	hdr        []byte
	outputs    [][]byte
	respDigest [transcript.DigestSize]byte
	refusal    *riskmeshv1.PeerResponse
}

func (f *fixture) livePOPRF(via exchange, period, seq uint64, phones ...string) liveStep1 {
	f.t.Helper()
	pub := f.registeredKey()
	q := f.newQueryOf(transcript.ProtocolLiveHE, providerMSP, pub, period, seq, phones...)
	resp := via(q.req)
	ev := resp.GetEvaluate()
	if ev == nil {
		return liveStep1{header: q.header, refusal: resp}
	}
	client, err := oprf.NewClient(pub, catalogpsi.Info(category, period))
	must(f.t, err)
	outs, err := client.Finalize(q.state, ev.GetEvaluated(), ev.GetProof())
	if err != nil {
		f.t.Fatalf("live POPRF answer does not verify against the registered key: %v", err)
	}
	t := &transcript.Transcript{
		Header:   *q.header,
		Request:  transcript.Request{Elements: split(q.req.GetEvaluate().GetBlinded())},
		Response: transcript.Response{Evaluated: split(ev.GetEvaluated()), Proof: ev.GetProof()},
	}
	d, err := t.Digests()
	must(f.t, err)
	st := liveStep1{header: q.header, hdr: q.req.GetEvaluate().GetHeader(), respDigest: d.ResponseDigest}
	for i := range outs {
		st.outputs = append(st.outputs, outs[i][:])
	}
	return st
}

// liveQueryFor encrypts outputs under params and signs the query for the
// exchange whose response digest is respDigest.
func (f *fixture) liveQueryFor(params hepsi.Params, hdr []byte, respDigest [transcript.DigestSize]byte, outputs [][]byte) (*riskmeshv1.PeerRequest, *hepsi.QueryState, [transcript.DigestSize]byte) {
	f.t.Helper()
	r, err := hepsi.NewRequester(params)
	must(f.t, err)
	q, st, err := r.Query(nil, outputs)
	must(f.t, err)
	req, qd := f.signedLiveQuery(q, params, hdr, respDigest)
	return req, st, qd
}

// liveResults checks a LiveAnswer's receipt and decrypts it.
func (f *fixture) liveResults(resp *riskmeshv1.PeerResponse, params hepsi.Params, st *hepsi.QueryState, qd [transcript.DigestSize]byte) []hepsi.Result {
	f.t.Helper()
	la := resp.GetLiveAnswer()
	if la == nil {
		f.t.Fatalf("live query refused: %v", resp)
	}
	a, err := hepsi.DecodeAnswer(params, la.GetAnswer())
	must(f.t, err)
	ad, err := a.Digest()
	must(f.t, err)
	inst, _ := f.dir.View().Institution(providerMSP)
	must(f.t, transcript.VerifyResponse(inst.SigningKeysIn(1), transcript.LiveAnswerDigest(qd, ad), la.GetResponderSignature()))
	res, err := st.Results(a)
	must(f.t, err)
	return res
}

// TestLiveExchangeOverQUIC: a whole live exchange over QUIC finds the
// listed number with its label and not the unlisted one, and the ledger
// bills the POPRF step's items at the live price.
func TestLiveExchangeOverQUIC(t *testing.T) {
	f, _ := newLiveFixture(t, ServeLive)
	f.maintain()
	via := f.serveQUIC(t, f.p)
	params := f.liveParams(via, 1)
	s1 := f.livePOPRF(via, 1, 0, "+8613800138001", "+8613800138555")
	if s1.refusal != nil {
		t.Fatalf("POPRF step refused: %v", s1.refusal)
	}
	req, st, qd := f.liveQueryFor(params, s1.hdr, s1.respDigest, s1.outputs)
	res := f.liveResults(via(req), params, st, qd)
	if !res[0].Found || res[1].Found {
		t.Fatalf("found %v %v, want listed and unlisted", res[0].Found, res[1].Found)
	}
	f.flush()
	if got := f.billed(t); got != 2*livePrice {
		t.Fatalf("billed %d, want 2 items at the live price %d", got, livePrice)
	}
}

// TestAdversaryRequesterSkipsLiveStep: a requester that takes the POPRF
// evaluations and never sends the homomorphic step is billed for them.
func TestAdversaryRequesterSkipsLiveStep(t *testing.T) {
	f, _ := newLiveFixture(t, ServeLive)
	f.maintain()
	via := f.serveQUIC(t, f.p)
	if s1 := f.livePOPRF(via, 1, 0, "+8613800138001", "+8613800138000", "+8613800138555"); s1.refusal != nil {
		t.Fatalf("POPRF step refused: %v", s1.refusal)
	}
	f.flush()
	if got := f.billed(t); got != 3*livePrice {
		t.Fatalf("billed %d, want 3 items at the live price %d", got, livePrice)
	}
}

// TestAdversaryRequesterLiveStepUnpaid: a homomorphic query for an
// exchange whose POPRF step was never answered, or on a catalog exchange,
// is refused; so is a second, different query on a paid exchange, and a
// paid query's signature replayed under another sequence. Only the two
// POPRF steps are billed.
func TestAdversaryRequesterLiveStepUnpaid(t *testing.T) {
	f, _ := newLiveFixture(t, ServeCatalog|ServeLive)
	f.maintain()
	via := f.serveQUIC(t, f.p)
	params := f.liveParams(via, 1)
	paid := f.livePOPRF(via, 1, 0, "+8613800138001")
	if paid.refusal != nil {
		t.Fatalf("POPRF step refused: %v", paid.refusal)
	}

	t.Run("never answered", func(t *testing.T) {
		h := *paid.header
		h.Sequence = 999
		hdr, err := h.MarshalBinary()
		must(t, err)
		req, _, _ := f.liveQueryFor(params, hdr, paid.respDigest, paid.outputs)
		wantCode(t, via(req), codeNotFound)
	})
	t.Run("catalog exchange", func(t *testing.T) {
		q := f.newQuery(1, 0, "+8613800138001")
		if f.handle(q.req).GetEvaluate() == nil {
			t.Fatal("catalog look-up refused")
		}
		req, _, _ := f.liveQueryFor(params, q.req.GetEvaluate().GetHeader(), paid.respDigest, paid.outputs)
		wantCode(t, via(req), codeMalformed)
	})
	req, st, qd := f.liveQueryFor(params, paid.hdr, paid.respDigest, paid.outputs)
	first := via(req)
	if res := f.liveResults(first, params, st, qd); !res[0].Found {
		t.Fatal("paid query does not find the listed number")
	}
	t.Run("same query again", func(t *testing.T) {
		// A lost answer's retry gets the same answer and receipt, and the
		// provider's record keeps its receipt.
		again := via(req)
		if !proto.Equal(again.GetLiveAnswer(), first.GetLiveAnswer()) {
			t.Fatal("a retry of the paid query is not answered with the same answer")
		}
		h, err := transcript.ParseHeader(paid.hdr)
		if err != nil {
			t.Fatal(err)
		}
		step, err := f.p.liveStep(exchangeKey(h))
		if err != nil || step == nil || !step.Answered() || !bytes.Equal(step.ResponderSignature, first.GetLiveAnswer().GetResponderSignature()) {
			t.Fatalf("the record after a retry is %+v (%v), want the first answer's receipt", step, err)
		}
	})
	t.Run("another query on a paid exchange", func(t *testing.T) {
		other, _, _ := f.liveQueryFor(params, paid.hdr, paid.respDigest, paid.outputs)
		wantCode(t, via(other), codeReplayed)
	})
	t.Run("paid query under another sequence", func(t *testing.T) {
		second := f.livePOPRF(via, 1, 0, "+8613800138000")
		if second.refusal != nil {
			t.Fatalf("POPRF step refused: %v", second.refusal)
		}
		replay := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveQuery{LiveQuery: &riskmeshv1.LiveQuery{
			Header: second.hdr, Query: req.GetLiveQuery().GetQuery(), RequesterSignature: req.GetLiveQuery().GetRequesterSignature(),
		}}}
		decodedBefore, _, _ := f.p.LiveQueries()
		wantCode(t, via(replay), codeBadSig)
		// The signature is checked over the bytes' digest: nothing decoded.
		if decoded, _, _ := f.p.LiveQueries(); decoded != decodedBefore {
			t.Fatalf("a query signed for another sequence was decoded (%d decodes, %d before)", decoded, decodedBefore)
		}
	})
	f.flush()
	if got, want := f.billed(t), int64(2*livePrice+price); got != want {
		t.Fatalf("billed %d, want two live POPRF steps and one catalog look-up (%d)", got, want)
	}
}

// TestAdversaryLiveWithoutLivePrice: with no live price in the period, the
// POPRF step of a live exchange is refused before anything is evaluated
// or journalled, while catalog look-ups are answered.
func TestAdversaryLiveWithoutLivePrice(t *testing.T) {
	f, _ := newLiveFixturePriced(t, ServeCatalog|ServeLive, false)
	f.maintain()
	via := f.serveQUIC(t, f.p)
	s1 := f.livePOPRF(via, 1, 0, "+8613800138001")
	if s1.refusal == nil {
		t.Fatal("a live exchange was answered without a live price")
	}
	wantCode(t, s1.refusal, codeNotFound)
	if n := f.p.OutboxDepth(); n != 0 {
		t.Fatalf("%d entries journalled for a refused live exchange", n)
	}
	if res := f.lookupVia(via, 1, "+8613800138001"); !res[0].Hit {
		t.Fatal("catalog look-up not answered")
	}
}

// TestAdversaryLiveModeNotServed: a live exchange for a category served as
// catalog only, and a catalog look-up of a category served live only, are
// refused unbilled.
func TestAdversaryLiveModeNotServed(t *testing.T) {
	f, _ := newLiveFixture(t, ServeCatalog)
	f.maintain()
	via := f.serveQUIC(t, f.p)
	if s1 := f.livePOPRF(via, 1, 0, "+8613800138001"); s1.refusal == nil {
		t.Fatal("live exchange answered for a catalog-only category")
	}
	g, _ := newLiveFixture(t, ServeLive)
	g.maintain()
	wantCode(t, g.handle(g.newQuery(1, 0, "+8613800138001").req), codeNotFound)
	for _, x := range []*fixture{f, g} {
		if n := x.p.OutboxDepth(); n != 0 {
			t.Fatalf("%d entries journalled", n)
		}
	}
	must(t, f.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketLive).Stats().KeyN != 0 {
			t.Error("live record written")
		}
		return nil
	}))
}
