package recon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// TestAdversaryNotAdmitted plays requesters the responder's policy does not
// admit: each is refused with NOT_ADMITTED and a reason naming what is
// missing, before the responder reads its list or reserves anything.
func TestAdversaryNotAdmitted(t *testing.T) {
	onlyRequesterLearns := []Grant{{Requester: bankA, List: "loans", Protocols: []transcript.Protocol{transcript.ProtocolECDHRequesterLearns}}}
	for _, tc := range []struct {
		name      string
		requester string
		grants    []Grant
		proto     transcript.Protocol
		reason    string
	}{
		{"RequesterNotGranted", bankC, grantAll(bankA), transcript.ProtocolECDHRequesterLearns, "BankC may not reconcile"},
		{"ModeNotGranted", bankA, onlyRequesterLearns, transcript.ProtocolECDHBothLearn, "in mode"},
		{"ListNotOffered", bankA, nil, transcript.ProtocolECDHRequesterLearns, "not offered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, pairOptions{requester: tc.requester, reqList: phones(0, 100), respList: phones(50, 150), grants: tc.grants})
			_, err := p.reconcile(t, tc.proto, 1)
			var re *peer.RemoteError
			if !errors.As(err, &re) || re.Code != riskmeshv1.ErrorCode_ERROR_CODE_NOT_ADMITTED {
				t.Fatalf("got %v, want a NOT_ADMITTED refusal", err)
			}
			if !strings.Contains(re.Message, tc.reason) {
				t.Fatalf("refusal %q does not say %q", re.Message, tc.reason)
			}
			if left, _ := os.ReadDir(p.respDir); len(left) != 0 {
				t.Fatalf("the responder kept %d files for a refused reconciliation", len(left))
			}
		})
	}
}

// resign replaces the record signature of a responder chunk in a
// ReconStepped with one by key over chunk enc: a dishonest responder signs
// whatever it sends with its own valid key.
func resign(t *testing.T, sign ecsig.Sign, digest []byte, answers [transcript.DigestSize]byte, c *ecdh.Chunk) (enc, sig []byte) {
	t.Helper()
	enc, err := c.MarshalBinary()
	must(t, err)
	r := transcript.ChunkRecord{Kind: c.Kind, Seq: c.Seq, Count: uint32(len(c.Points)), Hash: transcript.ChunkHash(enc), Answers: answers}
	must(t, transcript.SignRecord(sign, [transcript.DigestSize]byte(digest), &r))
	return enc, r.Signature
}

// wrongReply wraps the responder's handler to answer the requester's chunk
// 1 with a wrong exponentiation (two points swapped), signed with the
// responder's own key if signed, else under the honest reply's signature.
// The handler runs on the server's goroutines, which the race detector
// does not see ordered after newPair returns: the responder is read
// through an atomic pointer.
func wrongReply(t *testing.T, responder *atomic.Pointer[member], signed bool) func(h peer.Handler) peer.Handler {
	return func(h peer.Handler) peer.Handler {
		return func(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
			resp := h(ctx, who, req)
			st := req.GetReconStep()
			out := resp.GetReconStepped()
			if st == nil || out == nil || len(out.GetChunk()) == 0 {
				return resp
			}
			c := new(ecdh.Chunk)
			must(t, c.UnmarshalBinary(out.GetChunk()))
			if c.Kind != ecdh.KindResponderReply || c.Seq != 1 {
				return resp
			}
			c.Points[0], c.Points[1] = c.Points[1], c.Points[0]
			enc, sig := resign(t, responder.Load().sign, st.GetHeaderDigest(), transcript.ChunkHash(st.GetChunk()), c)
			if !signed {
				sig = out.GetSignature()
			}
			return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconStepped{ReconStepped: &riskmeshv1.ReconStepped{Chunk: enc, Signature: sig}}}
		}
	}
}

// TestAdversaryWrongReply plays a responder that answers a requester chunk
// with a wrong exponentiation (two points swapped), signed with its own
// key: the requester stops at that chunk with ErrPeerChunk wrapping
// ecdh.ErrProof, keeps the transcript and the two chunk bodies, and an
// auditor upholds the dispute from them. An unsigned wrong reply is
// refused on its signature before its proof.
func TestAdversaryWrongReply(t *testing.T) {
	for _, tc := range []struct {
		name    string
		resign  bool
		wantErr error
	}{
		{"Signed", true, ecdh.ErrProof},
		{"Unsigned", false, transcript.ErrRecordSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var responder atomic.Pointer[member]
			p := newPair(t, pairOptions{reqList: phones(0, 1000), respList: phones(500, 1500), grants: grantAll(bankA), chunk: 256,
				wrap: wrongReply(t, &responder, tc.resign)})
			responder.Store(p.members[bankB])
			_, err := p.reconcile(t, transcript.ProtocolECDHBothLearn, 1)
			if !errors.Is(err, ErrPeerChunk) || !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want ErrPeerChunk wrapping %v", err, tc.wantErr)
			}
			id := ID(bankA, bankB, 7, 1)
			_, tp := paths(p.reqDir, id)
			tr := readTranscript(t, tp)
			if !tc.resign {
				if _, err := os.Stat(filepath.Join(p.reqDir, id+".answer")); !errors.Is(err, os.ErrNotExist) {
					t.Fatal("evidence kept for an answer whose signature failed")
				}
				return
			}
			answered, err := os.ReadFile(filepath.Join(p.reqDir, id+".answered"))
			must(t, err)
			answer, err := os.ReadFile(filepath.Join(p.reqDir, id+".answer"))
			must(t, err)
			d := audit.DecideReconciliation(&audit.ReconDispute{Transcript: tr, Answered: answered, Answer: answer},
				[][]byte{p.members[bankA].pub}, [][]byte{p.members[bankB].pub})
			if d.Verdict != accounting.VerdictUpheld {
				t.Fatalf("auditor: %v (%s), want upheld", d.Verdict, d.Reason)
			}
		})
	}
}

// replayer is a requester connection that sends, instead of its masked
// chunk 2, its masked chunk 0 again, byte for byte with its signature. (A
// repeat of the last step only is answered again, with the same answer:
// TestDroppedConnection.)
func replayer(send Send) Send {
	var first *riskmeshv1.ReconStep
	return func(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
		if st := req.GetReconStep(); len(st.GetChunk()) > 0 {
			c := new(ecdh.Chunk)
			if err := c.UnmarshalBinary(st.GetChunk()); err == nil && c.Kind == ecdh.KindRequesterMasked {
				switch c.Seq {
				case 0:
					first = st
				case 2:
					req = &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconStep{ReconStep: first}}
				}
			}
		}
		return send(ctx, req)
	}
}

// TestAdversaryReplayedChunk plays both sides replaying a chunk in place of
// a later one: a responder resending its masked chunk 0 when asked for
// chunk 1, and a requester resending its masked chunk 0 as chunk 2. The
// honest side refuses at once and the reconciliation ends.
func TestAdversaryReplayedChunk(t *testing.T) {
	t.Run("Responder", func(t *testing.T) {
		var (
			mu    sync.Mutex // the handler runs on the server's goroutines
			first *riskmeshv1.PeerResponse
		)
		replay := func(h peer.Handler) peer.Handler {
			return func(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
				mu.Lock()
				defer mu.Unlock()
				st := req.GetReconStep()
				if st != nil && len(st.GetChunk()) == 0 && st.GetSeq() == 1 {
					return first
				}
				resp := h(ctx, who, req)
				if st != nil && len(st.GetChunk()) == 0 && st.GetSeq() == 0 {
					first = resp
				}
				return resp
			}
		}
		p := newPair(t, pairOptions{reqList: phones(0, 600), respList: phones(300, 900), grants: grantAll(bankA), chunk: 256, wrap: replay})
		_, err := p.reconcile(t, transcript.ProtocolECDHRequesterLearns, 1)
		if !errors.Is(err, ErrPeerChunk) || !strings.Contains(err.Error(), "expected 1") {
			t.Fatalf("got %v, want the replayed chunk rejected", err)
		}
	})
	t.Run("Requester", func(t *testing.T) {
		p := newPair(t, pairOptions{reqList: phones(0, 600), respList: phones(300, 900), grants: grantAll(bankA), chunk: 256})
		_, err := p.req.Reconcile(t.Context(), replayer(p.conn.Do), request(transcript.ProtocolECDHBothLearn, 1))
		var re *peer.RemoteError
		if !errors.As(err, &re) || re.Code != riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED || !strings.Contains(re.Message, "expected 2") {
			t.Fatalf("got %v, want the responder to refuse the replay as MALFORMED", err)
		}
		_, tp := paths(p.respDir, ID(bankA, bankB, 7, 1))
		tr := readTranscript(t, tp)
		if err := tr.Verify([][]byte{p.members[bankA].pub}, [][]byte{p.members[bankB].pub}); err != nil {
			t.Fatalf("the responder recorded the replay: %v", err)
		}
	})
}

// padder is a requester connection that sends more items than the header
// declares: its last masked chunk is padded to a full chunk with points of
// its first, and signed with the requester's own key.
func padder(t *testing.T, send Send, sign ecsig.Sign) Send {
	var first *ecdh.Chunk
	return func(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
		if st := req.GetReconStep(); len(st.GetChunk()) > 0 {
			c := new(ecdh.Chunk)
			if err := c.UnmarshalBinary(st.GetChunk()); err == nil && c.Kind == ecdh.KindRequesterMasked {
				if c.Seq == 0 {
					first = c
				} else if short := len(first.Points) - len(c.Points); short > 0 {
					c.Points = append(c.Points, first.Points[:short]...)
					enc, sig := resign(t, sign, st.GetHeaderDigest(), [transcript.DigestSize]byte{}, c)
					req = &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconStep{ReconStep: &riskmeshv1.ReconStep{
						HeaderDigest: st.GetHeaderDigest(), Chunk: enc, Signature: sig}}}
				}
			}
		}
		return send(ctx, req)
	}
}

// TestAdversaryMoreItemsThanBilled plays a requester that signs a header
// declaring 600 items (what the ledger bills) and sends more: the
// responder refuses the oversized chunk, whatever its signature, and its
// transcript holds only what the header allows.
func TestAdversaryMoreItemsThanBilled(t *testing.T) {
	p := newPair(t, pairOptions{reqList: phones(0, 600), respList: phones(300, 900), grants: grantAll(bankA), chunk: 256})
	_, err := p.req.Reconcile(t.Context(), padder(t, p.conn.Do, p.members[bankA].sign), request(transcript.ProtocolECDHBothLearn, 1))
	var re *peer.RemoteError
	if !errors.As(err, &re) || re.Code != riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED || !strings.Contains(re.Message, "the header allows 88") {
		t.Fatalf("got %v, want the oversized chunk refused", err)
	}
	_, tp := paths(p.respDir, ID(bankA, bankB, 7, 1))
	tr := readTranscript(t, tp)
	if err := tr.Verify([][]byte{p.members[bankA].pub}, [][]byte{p.members[bankB].pub}); err != nil {
		t.Fatalf("the responder recorded the oversized chunk: %v", err)
	}
	if tr.Complete() || tr.Header.RequesterSize != 600 {
		t.Fatalf("transcript: complete %v, requester size %d", tr.Complete(), tr.Header.RequesterSize)
	}
}

// TestAdversaryIdleSessions plays an admitted requester that opens a
// reconciliation and goes away, to hold the responder's slots: while the
// session is fresh another is refused UNAVAILABLE, and once it has been
// idle for IdleTimeout the next open ends it and is served.
func TestAdversaryIdleSessions(t *testing.T) {
	var clock atomic.Int64 // seconds
	now := func() time.Time { return time.Unix(clock.Load(), 0) }
	p := newPair(t, pairOptions{reqList: phones(0, 100), respList: phones(50, 150), grants: grantAll(bankA),
		tune: func(c *Config) { c.MaxSessions, c.Now = 1, now }})
	open := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconOpen{ReconOpen: &riskmeshv1.ReconOpen{
		List: "loans", Protocol: uint32(transcript.ProtocolECDHBothLearn), Period: 7, Sequence: 1, RequesterSize: 100, ChunkSize: 64}}}
	if _, err := p.conn.Do(t.Context(), open); err != nil {
		t.Fatal(err)
	}
	_, err := p.reconcile(t, transcript.ProtocolECDHBothLearn, 2)
	var re *peer.RemoteError
	if !errors.As(err, &re) || re.Code != riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE {
		t.Fatalf("second reconciliation while the first holds the slot: %v", err)
	}
	clock.Add(int64(DefaultIdleTimeout / time.Second))
	if _, err := p.reconcile(t, transcript.ProtocolECDHBothLearn, 3); err != nil {
		t.Fatalf("after the idle session expired: %v", err)
	}
	st, err := p.resp.Get(ID(bankA, bankB, 7, 1))
	must(t, err)
	if st.GetState() != StateFailed || !strings.Contains(st.GetError(), "idle") {
		t.Fatalf("the idle session: %+v", st)
	}
}

// TestAdversaryUnpricedReconciliation plays a requester asking for a
// reconciliation in a category the period prices no reconciliation of (a
// catalog price alone does not count): the responder refuses it NOT_FOUND
// before it reads its list or reserves anything, since it could never
// bill it. With the price set, the same reconciliation runs.
func TestAdversaryUnpricedReconciliation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prices accounting.PriceList
		refuse bool
	}{
		{"NoPrice", accounting.PriceList{Prices: map[string]int64{"loans": 3}}, true},
		{"OtherCategoryPriced", accounting.PriceList{ModePrices: map[accounting.Mode]map[string]int64{accounting.ModeReconcile: {"cards": 1}}}, true},
		{"Priced", accounting.PriceList{ModePrices: map[accounting.Mode]map[string]int64{accounting.ModeReconcile: {"loans": 1}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			periods := func(_ context.Context, n uint64) (*accounting.Period, error) {
				return &accounting.Period{Number: n, PriceList: tc.prices}, nil
			}
			p := newPair(t, pairOptions{reqList: phones(0, 100), respList: phones(50, 150), grants: grantAll(bankA),
				tune: func(c *Config) { c.Priced = PriceCheck(periods, bankB) }})
			res, err := p.reconcile(t, transcript.ProtocolECDHRequesterLearns, 1)
			if !tc.refuse {
				if err != nil || res.Matches != 50 {
					t.Fatalf("priced reconciliation: %v", err)
				}
				return
			}
			var re *peer.RemoteError
			if !errors.As(err, &re) || re.Code != riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND || !strings.Contains(re.Message, "no reconciliation price") {
				t.Fatalf("got %v, want a NOT_FOUND refusal naming the missing price", err)
			}
			if left, _ := os.ReadDir(p.respDir); len(left) != 0 {
				t.Fatalf("the responder kept %d files for a refused reconciliation", len(left))
			}
		})
	}
}
