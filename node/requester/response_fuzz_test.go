package requester

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// fuzzedConn answers P2MSP's evaluations with what the fuzzer chose and
// passes everything else to the real connection.
type fuzzedConn struct {
	outbound.Conn
	answer func(req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error)
}

func (c *fuzzedConn) Do(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
	if req.GetEvaluate() != nil && c.answer != nil {
		return c.answer(req)
	}
	return c.Conn.Do(ctx, req)
}

// providerReply is what a provider's side of one exchange delivers to the
// requester, built from fuzz input: mode 0 decodes frame as the response
// (what peer.ReadFrame does), mode 1 is a refusal whose text skipped the
// peer package's cleaning, mode 2 a transport error quoting remote bytes.
func providerReply(mode uint8, frame []byte, text string, code uint32) (*riskmeshv1.PeerResponse, error) {
	switch mode % 3 {
	case 0:
		resp := new(riskmeshv1.PeerResponse)
		if err := proto.Unmarshal(frame, resp); err != nil {
			return nil, fmt.Errorf("%w: %v", peer.ErrMalformedFrame, err)
		}
		if pe := resp.GetError(); pe != nil {
			return resp, &peer.RemoteError{Code: pe.GetCode(), Message: pe.GetMessage(), Detail: pe}
		}
		return resp, nil
	case 1:
		pe := &riskmeshv1.PeerError{Code: riskmeshv1.ErrorCode(code % 20), Message: text, RetryAfterMs: code % 50}
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: pe}},
			&peer.RemoteError{Code: pe.Code, Message: text, RetryAfter: time.Duration(pe.RetryAfterMs) * time.Millisecond, Detail: pe}
	default:
		return nil, errors.New("peer: read response: " + text)
	}
}

// fuzzDeadline bounds each fuzzed query: a provider retried as busy is
// asked until then, and the honest one must answer within it even under
// the race detector on a loaded machine.
const fuzzDeadline = 2 * time.Second

// FuzzProviderResponse: whatever one provider delivers in place of an
// answer (any response frame, refusal text or transport error, including
// invalid UTF-8 and control characters), a query it shares with an honest
// provider ends with a result; every event and the stored record encode;
// the honest provider's hits and tokens are intact; the fuzzed provider is
// never ANSWERED; and every error text is printable and bounded.
func FuzzProviderResponse(f *testing.F) {
	n := newNetwork(f, 1<<40, span(0, 4), span(2, 6))
	p2 := n.providers[1].srv.Addr().String()
	var mu sync.Mutex
	var answer func(*riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error)
	r := n.newRequester("", func(c *setup) {
		dial := c.dial
		c.dial = func(ctx context.Context, endpoint string) (outbound.Conn, error) {
			conn, err := dial(ctx, endpoint)
			if err != nil || endpoint != p2 {
				return conn, err
			}
			return &fuzzedConn{Conn: conn, answer: func(req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
				mu.Lock()
				defer mu.Unlock()
				return answer(req)
			}}, nil
		}
		c.LateAnswerWindow = 300 * time.Millisecond
		c.RetryBackoff = time.Millisecond
	})
	ready(f, r)
	cut := "a" + strings.Repeat("é", 520)
	for _, seed := range []struct {
		mode  uint8
		frame []byte
		text  string
		code  uint32
	}{
		{0, mustMarshal(f, &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: &riskmeshv1.PeerError{
			Code: riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, Message: cut}}}), "", 0},
		{0, mustMarshal(f, &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Evaluate{Evaluate: &riskmeshv1.EvaluateResponse{
			Evaluated: make([]byte, 4*32), Proof: make([]byte, 64), ResponderSignature: []byte{1}}}}), "", 0},
		{0, []byte{0xff, 0x01}, "", 0},
		{1, nil, "ab\xc3\x1b[2J\u202e" + cut, uint32(riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE)},
		{1, nil, "\xff\xfe", uint32(riskmeshv1.ErrorCode_ERROR_CODE_BATCH_TOO_LARGE)},
		{2, nil, strings.Repeat("\x9b\xe2\x80", 700), 0},
	} {
		f.Add(seed.mode, seed.frame, seed.text, seed.code)
	}
	ids := phones(0, 1, 2, 3, 4, 5, 9)
	wantP1 := []uint32{0, 1, 2, 3}
	f.Fuzz(func(t *testing.T, mode uint8, frame []byte, text string, code uint32) {
		mu.Lock()
		answer = func(*riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
			return providerReply(mode, frame, text, code)
		}
		mu.Unlock()
		var events []*riskmeshv1.QueryEvent
		err := r.Query(context.Background(), &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: ids,
			Deadline: durationpb.New(fuzzDeadline)}, func(ev *riskmeshv1.QueryEvent) error {
			if _, err := proto.Marshal(ev); err != nil {
				return fmt.Errorf("event does not encode: %w", err)
			}
			events = append(events, ev)
			return nil
		})
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		res := events[len(events)-1].GetResult()
		if res == nil {
			t.Fatalf("last event %v", events[len(events)-1])
		}
		checkFuzzedResult(t, res, wantP1)
		waitLate(t, r, "no late fetch pending", func() bool { return r.late.len() == 0 })
		rec, err := r.GetQuery(context.Background(), res.GetQueryId())
		if err != nil {
			t.Fatalf("stored query: %v", err)
		}
		if rec.GetState() != riskmeshv1.QueryState_QUERY_STATE_COMPLETE {
			t.Fatalf("stored query is %v", rec.GetState())
		}
		if _, err := proto.Marshal(rec); err != nil {
			t.Fatalf("stored record does not encode: %v", err)
		}
		checkFuzzedResult(t, rec.GetResult(), wantP1)
	})
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	must(t, err)
	return b
}

// checkFuzzedResult checks a query of phones 0..5 and 9 in which P1MSP
// (listing 0..3) is honest and P2MSP fuzzed.
func checkFuzzedResult(t *testing.T, res *riskmeshv1.QueryResult, wantP1 []uint32) {
	t.Helper()
	var p1 []uint32
	for _, it := range res.GetItems() {
		for _, h := range it.GetHits() {
			switch h.GetProvider() {
			case "P1MSP":
				p1 = append(p1, it.GetIndex())
			case "P2MSP":
				t.Fatalf("fuzzed provider credited with a hit on item %d", it.GetIndex())
			}
		}
	}
	if fmt.Sprint(p1) != fmt.Sprint(wantP1) {
		t.Fatalf("honest hits on items %v, want %v", p1, wantP1)
	}
	for _, p := range res.GetProviders() {
		msg := p.GetError().GetMessage()
		if len(msg) > riskmeshv1.MaxErrorMessage || !utf8.ValidString(msg) || strings.IndexFunc(msg, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			t.Fatalf("%s error text %q", p.GetProvider(), msg)
		}
		for _, d := range p.GetDisputes() {
			if !utf8.ValidString(d.GetReason()) {
				t.Fatalf("dispute reason %q", d.GetReason())
			}
		}
		switch p.GetProvider() {
		case "P1MSP":
			if p.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || p.GetAmount() != 7*testPrice {
				t.Fatalf("honest provider %v, %d tokens", p.GetStatus(), p.GetAmount())
			}
		case "P2MSP":
			if p.GetStatus() == riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
				t.Fatal("a fuzzed answer passed verification")
			}
		}
	}
}

// TestSendFailureStillCompletesTheRecord: a caller whose stream fails on
// the first provider's part (the client went away, or an event would not
// encode) gets that error, and the query still runs to the end: the stored
// record is COMPLETE with every provider's part and the spend.
func TestSendFailureStillCompletesTheRecord(t *testing.T) {
	n := newNetwork(t, 1<<40, span(0, 4), span(2, 6))
	r := n.newRequester("", nil)
	ready(t, r)
	errGone := errors.New("client gone")
	var id string
	err := r.Query(context.Background(), &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(0, 3, 5)},
		func(ev *riskmeshv1.QueryEvent) error {
			if a := ev.GetAccepted(); a != nil {
				id = a.GetQueryId()
				return nil
			}
			return errGone
		})
	if !errors.Is(err, errGone) {
		t.Fatalf("Query returned %v, want the send error", err)
	}
	r.mu.Lock()
	wait := r.running[id]
	r.mu.Unlock()
	if wait != nil {
		<-wait
	}
	rec, err := r.GetQuery(context.Background(), id)
	must(t, err)
	if rec.GetState() != riskmeshv1.QueryState_QUERY_STATE_COMPLETE || len(rec.GetProviderResults()) != 2 {
		t.Fatalf("stored query %v with %d parts", rec.GetState(), len(rec.GetProviderResults()))
	}
	if got := rec.GetResult().GetAmount(); got != 2*3*testPrice {
		t.Fatalf("stored amount %d, want %d", got, 2*3*testPrice)
	}
}
