package provider

import (
	"bytes"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// forgetAnswers drops every live answer p keeps, as the 64 MiB bound
// does once enough later answers come in.
func forgetAnswers(p *Provider) {
	p.answers.mu.Lock()
	defer p.answers.mu.Unlock()
	p.answers.m, p.answers.order, p.answers.bytes = nil, nil, 0
}

// TestAdversaryLiveRetry plays a requester that sends its answered live
// query again and again on its exchange, which is billed once. While the
// provider keeps the answer, every retry gets the same answer and receipt
// and the query is not decoded again. Once the answer is no longer kept
// (a restart, then evictions), the retries are evaluated again within the
// requester's budget only (DefaultLiveRetryBurst in a row, then
// DefaultLiveRetryPerMinute), every other one refused RATE_LIMITED with a
// retry hint before it is decoded. A fresh exchange of the same requester
// is answered meanwhile, and only the two POPRF steps are billed.
func TestAdversaryLiveRetry(t *testing.T) {
	f, via, params, he := newLiveKeysFixture(t)
	_, st, retry, qd := f.askListed(via, params, he.Query)
	first := via(retry)
	wantListed(t, f.liveResults(first, params, st, qd))
	const kept = 10
	for i := range kept {
		if resp := via(retry); !proto.Equal(resp.GetLiveAnswer(), first.GetLiveAnswer()) {
			t.Fatalf("retry %d of an answer kept: %v, want the first answer and receipt", i, resp)
		}
	}
	if decoded, reevaluated, refused := f.p.LiveQueries(); decoded != 1 || reevaluated != 0 || refused != 0 {
		t.Fatalf("after %d retries of a kept answer: %d queries decoded, %d evaluated again, %d refused; want 1, 0, 0",
			kept, decoded, reevaluated, refused)
	}

	f.flush()
	f.reopen()
	now := time.Unix(1_800_000_000, 0)
	f.p.cfg.Now = func() time.Time { return now }
	f.maintain()
	via = f.serveQUIC(t, f.p)
	const loop = 3 * DefaultLiveRetryBurst
	refusedAt := -1
	for i := range loop {
		forgetAnswers(f.p)
		resp := via(retry)
		if resp.GetLiveAnswer() != nil {
			if refusedAt >= 0 {
				t.Fatalf("retry %d evaluated after retry %d was refused, the clock standing still", i, refusedAt)
			}
			wantListed(t, f.liveResults(resp, params, st, qd))
			continue
		}
		if pe := resp.GetError(); pe.GetCode() != riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED || pe.GetRetryAfterMs() == 0 {
			t.Fatalf("retry %d: %v, want RATE_LIMITED with a retry hint", i, resp)
		}
		if refusedAt < 0 {
			refusedAt = i
		}
	}
	if refusedAt != DefaultLiveRetryBurst {
		t.Fatalf("first refusal at retry %d, want %d", refusedAt, DefaultLiveRetryBurst)
	}
	if decoded, reevaluated, refused := f.p.LiveQueries(); decoded != DefaultLiveRetryBurst || reevaluated != DefaultLiveRetryBurst || refused != loop-DefaultLiveRetryBurst {
		t.Fatalf("%d queries decoded, %d evaluated again, %d refused; want %d, %d, %d",
			decoded, reevaluated, refused, DefaultLiveRetryBurst, DefaultLiveRetryBurst, loop-DefaultLiveRetryBurst)
	}

	// A fresh exchange spends nothing of the budget.
	_, st2, fresh, qd2 := f.askListed(via, params, he.QueryByKeyDigest)
	wantListed(t, f.liveResults(via(fresh), params, st2, qd2))

	// The budget refills at its rate: one re-evaluation half a minute
	// later, not two.
	now = now.Add(time.Minute / DefaultLiveRetryPerMinute)
	forgetAnswers(f.p)
	wantListed(t, f.liveResults(via(retry), params, st, qd))
	forgetAnswers(f.p)
	if got := via(retry).GetError().GetCode(); got != riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED {
		t.Fatalf("second retry after one refill: %v, want RATE_LIMITED", got)
	}
	if _, reevaluated, _ := f.p.LiveQueries(); reevaluated != DefaultLiveRetryBurst+1 {
		t.Fatalf("%d queries evaluated again, want the burst and one more", reevaluated)
	}
	f.flush()
	if got := f.billed(t); got != 2*2*livePrice {
		t.Fatalf("billed %d, want two POPRF steps of 2 items at %d", got, livePrice)
	}
}

// TestAdversaryLiveUndecodable plays a member that signs, for its billed
// live exchange, a query of the exact size that does not decode (its first
// coefficients out of range) and sends it again and again over QUIC, on a
// held clock. The first send is decoded, refused STALE and takes the
// exchange's step, so every later send is a retry: decoded within the
// requester's re-evaluation budget (DefaultLiveRetryBurst), the rest
// refused RATE_LIMITED with a retry hint before they are decoded. Another
// query on the exchange is refused REPLAYED_SEQUENCE undecoded. Every
// decode is counted, the failed ones too (LiveQueries, the metric
// riskmesh_live_query_decodes_total). A fresh exchange is still answered,
// and only the two POPRF steps are billed.
func TestAdversaryLiveUndecodable(t *testing.T) {
	f, _ := newLiveFixture(t, ServeLive)
	now := time.Unix(1_800_000_000, 0)
	f.p.cfg.Now = func() time.Time { return now }
	f.maintain()
	via := f.serveQUIC(t, f.p)
	params := f.liveParams(via, 1)
	he, err := hepsi.NewRequester(params)
	must(t, err)
	s1 := f.livePOPRF(via, 1, 0, "+8613800138001", "+8613800138555")
	if s1.refusal != nil {
		t.Fatalf("POPRF step refused: %v", s1.refusal)
	}
	q, _, err := he.Query(nil, s1.outputs)
	must(t, err)
	enc, err := q.MarshalBinary()
	must(t, err)
	// After the version, the parameters' digest and the seed: the first
	// packed coefficients, all ones, are above every prime.
	bad := bytes.Clone(enc)
	for i := 1 + 32 + 32; i < 1+32+32+16; i++ {
		bad[i] = 0xff
	}
	if _, err := hepsi.DecodeQuery(params, bad); err == nil {
		t.Fatal("the corrupted query decodes")
	}
	d, err := hepsi.QueryDigest(params, bad)
	must(t, err)
	pd, err := params.Digest()
	must(t, err)
	sig, err := transcript.SignRequest(f.reqSign, transcript.LiveQueryDigest(s1.respDigest, pd, d))
	must(t, err)
	undecodable := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveQuery{LiveQuery: &riskmeshv1.LiveQuery{
		Header: s1.hdr, Query: bad, RequesterSignature: sig,
	}}}

	const sends = 3 * DefaultLiveRetryBurst
	for i := range sends {
		resp := via(undecodable)
		pe := resp.GetError()
		switch {
		case i <= DefaultLiveRetryBurst && pe.GetCode() != riskmeshv1.ErrorCode_ERROR_CODE_STALE:
			t.Fatalf("send %d: %v, want STALE (decoded, the first or within the budget)", i, resp)
		case i > DefaultLiveRetryBurst && (pe.GetCode() != riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED || pe.GetRetryAfterMs() == 0):
			t.Fatalf("send %d: %v, want RATE_LIMITED with a retry hint", i, resp)
		}
	}
	decoded, _, refused := f.p.LiveQueries()
	if decoded != 1+DefaultLiveRetryBurst || refused != sends-1-DefaultLiveRetryBurst {
		t.Fatalf("%d sends: %d decodes and %d refused, want %d and %d",
			sends, decoded, refused, 1+DefaultLiveRetryBurst, sends-1-DefaultLiveRetryBurst)
	}
	other, _ := f.signedLiveQuery(q, params, s1.hdr, s1.respDigest)
	wantCode(t, via(other), codeReplayed)
	if again, _, _ := f.p.LiveQueries(); again != decoded {
		t.Fatal("another query on the exchange its undecodable query took was decoded")
	}

	_, st, fresh, qd := f.askListed(via, params, he.Query)
	wantListed(t, f.liveResults(via(fresh), params, st, qd))
	f.flush()
	if got := f.billed(t); got != 2*2*livePrice {
		t.Fatalf("billed %d, want two POPRF steps of 2 items at %d", got, livePrice)
	}
}
