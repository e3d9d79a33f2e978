package recon

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// TestReconcile runs both modes over real QUIC with lists of different
// sizes and several chunks each, and checks each side's result file holds
// exactly the planted overlap, and that both keep the same complete,
// verifying transcript.
func TestReconcile(t *testing.T) {
	for _, tc := range modes {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, pairOptions{reqList: phones(0, 1000), respList: phones(700, 2300), grants: grantAll(bankA), chunk: 256})
			res, err := p.reconcile(t, tc.proto, 1)
			must(t, err)
			checkPlanted(t, p, res, tc.proto, ids(phones(700, 1000)))
			if res.Header.ResponderSize != 1600 || res.Header.RequesterSize != 1000 {
				t.Fatalf("header sizes %d and %d", res.Header.RequesterSize, res.Header.ResponderSize)
			}
		})
	}
}

func readTranscript(t *testing.T, path string) *transcript.ReconTranscript {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	tr, err := transcript.ParseReconTranscript(data)
	must(t, err)
	return tr
}

// TestStartGetListRows starts a reconciliation in the background, follows
// it through Get until it ends, and reads its rows back through Rows; both
// nodes list it, and the sequence comes from SequenceBase.
func TestStartGetListRows(t *testing.T) {
	p := newPair(t, pairOptions{reqList: phones(0, 1500), respList: phones(1000, 3000), grants: grantAll(bankA), chunk: 512})
	req := request(transcript.ProtocolECDHBothLearn, 0)
	st, err := p.req.Start(t.Context(), p.conn.Do, req)
	must(t, err)
	if st.GetSequence() != SequenceBase || st.GetState() != StateRunning {
		t.Fatalf("started %+v", st)
	}
	st = waitEnd(t, p.req, st.GetId())
	if st.GetState() != StateDone || st.GetMatches() != 500 || st.GetChunksDone() != st.GetChunksTotal() ||
		st.GetOwnSize() != 1500 || st.GetPeerSize() != 2000 {
		t.Fatalf("ended %+v", st)
	}
	var got []string
	must(t, p.req.Rows(t.Context(), st.GetId(), func(b *riskmeshv1.ReconciledRows) error {
		if len(b.GetRows()) > MaxRowsPerBatch {
			t.Fatalf("batch of %d rows", len(b.GetRows()))
		}
		for _, r := range b.GetRows() {
			got = append(got, r.GetId())
		}
		return nil
	}))
	slices.Sort(got)
	if want := ids(phones(1000, 1500)); !slices.Equal(got, want) {
		t.Fatalf("rows: %d, want %d", len(got), len(want))
	}
	// The responder's record of it, in both-learn, says what it learned.
	resp, err := p.resp.Get(st.GetId())
	must(t, err)
	if resp.GetRole() != "responder" || resp.GetState() != StateDone || resp.GetMatches() != 500 || resp.GetPeer() != bankA {
		t.Fatalf("responder's record %+v", resp)
	}
	if l := p.req.List(); len(l) != 1 || l[0].GetId() != st.GetId() {
		t.Fatalf("list %v", l)
	}
	// A second start takes the next sequence number.
	next, err := p.req.Start(t.Context(), p.conn.Do, req)
	must(t, err)
	if next.GetSequence() != SequenceBase+1 {
		t.Fatalf("second sequence %d", next.GetSequence())
	}
	if end := waitEnd(t, p.req, next.GetId()); end.GetState() != StateDone {
		t.Fatalf("second reconciliation %+v", end)
	}
	if _, err := p.req.Get("nope"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("unknown id: %v", err)
	}
}

// waitEnd polls a reconciliation until it is no longer running.
func waitEnd(t *testing.T, n *Node, id string) *riskmeshv1.Reconciliation {
	t.Helper()
	for {
		st, err := n.Get(id)
		must(t, err)
		if st.GetState() != StateRunning {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDroppedConnection drops the requester's connection twice mid-run:
// once after the responder handled a step but before its answer arrived,
// once before a step was sent. The requester sends the step again on a new
// connection and the reconciliation continues from there, not from zero:
// it ends with the planted intersection on both sides and the same
// complete transcript, each chunk recorded once.
func TestDroppedConnection(t *testing.T) {
	p := newPair(t, pairOptions{reqList: phones(0, 1200), respList: phones(600, 1800), grants: grantAll(bankA), chunk: 256})
	conn, steps, dropped := p.conn, 0, 0
	send := func(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
		if req.GetReconStep() == nil {
			return conn.Do(ctx, req)
		}
		steps++
		switch steps {
		case 4: // the answer is lost with the connection
			if _, err := conn.Do(ctx, req); err != nil {
				t.Fatalf("step 4: %v", err)
			}
			_ = conn.Close()
			dropped++
			return nil, errors.New("connection lost")
		case 9: // the connection is gone before the step is sent
			_ = conn.Close()
			dropped++
		case 5, 10:
			var err error
			conn, err = peer.Dial(ctx, p.addr, p.dial)
			must(t, err)
		}
		return conn.Do(ctx, req)
	}
	defer func() { _ = conn.Close() }()
	res, err := p.req.Reconcile(t.Context(), send, request(transcript.ProtocolECDHBothLearn, 1))
	must(t, err)
	if dropped != 2 {
		t.Fatalf("%d connections dropped, want 2", dropped)
	}
	want := ids(phones(600, 1200))
	respResult, respTranscript := paths(p.respDir, res.ID)
	for side, path := range map[string]string{"requester": res.ResultPath, "responder": respResult} {
		if got := readResult(t, path); !slices.Equal(got, want) {
			t.Fatalf("%s's result: %d rows, want %d", side, len(got), len(want))
		}
	}
	reqT, respT := readTranscript(t, res.TranscriptPath), readTranscript(t, respTranscript)
	must(t, reqT.Verify([][]byte{p.members[bankA].pub}, [][]byte{p.members[bankB].pub}))
	a, _ := reqT.MarshalBinary()
	b, _ := respT.MarshalBinary()
	if !reqT.Complete() || !slices.Equal(a, b) {
		t.Fatal("the transcripts differ or are incomplete after the drops")
	}
}
