package recon

import (
	"context"
	"errors"
	"testing"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// TestResumeRunningNode interrupts a reconciliation in the middle of phase
// 2 (the responder reports itself unavailable) and resumes it on the same
// running node with ResumeStart, as `riskmesh reconcile resume` does: it
// runs again in the background and ends with exactly the planted overlap
// on both sides. Resuming it while it runs is ErrRunning; resuming one
// that ended, or one this node answered, is ErrUnknown.
func TestResumeRunningNode(t *testing.T) {
	p := crashPair(t)
	k := calls(transcript.ProtocolECDHBothLearn) - 2
	down := &recorder{send: p.conn.Do, after: func(n int, _ *riskmeshv1.PeerResponse) error {
		if n == k {
			return &peer.RemoteError{Code: codeUnavailable, Message: "restarting"}
		}
		return nil
	}}
	_, err := p.req.Reconcile(t.Context(), down.Do, request(transcript.ProtocolECDHBothLearn, 1))
	var re *peer.RemoteError
	if !errors.As(err, &re) || re.Code != codeUnavailable {
		t.Fatalf("interrupted run: %v, want UNAVAILABLE", err)
	}
	id := ID(bankA, bankB, 7, 1)
	if st, err := p.req.Get(id); err != nil || st.GetState() != StateInterrupted {
		t.Fatalf("after the interruption: %v, %v; want state %s", st, err, StateInterrupted)
	}

	// The first request of the resumed run waits until the second
	// ResumeStart has been refused, so that the run is surely running.
	release := make(chan struct{})
	held := func(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return p.conn.Do(ctx, req)
	}
	dial := func(responder string) (Send, error) {
		if responder != bankB {
			t.Errorf("dialled %q, want %q", responder, bankB)
		}
		return held, nil
	}
	st, err := p.req.ResumeStart(t.Context(), id, dial)
	must(t, err)
	if st.GetState() != StateRunning {
		t.Fatalf("resumed state %q, want %q", st.GetState(), StateRunning)
	}
	if _, err := p.req.ResumeStart(t.Context(), id, dial); !errors.Is(err, ErrRunning) {
		t.Fatalf("resuming a running reconciliation: %v, want ErrRunning", err)
	}
	close(release)
	end := waitEnd(t, p.req, id)
	if end.GetState() != StateDone {
		t.Fatalf("ended %q (%s), want %q", end.GetState(), end.GetError(), StateDone)
	}
	resultPath, transcriptPath := paths(p.reqDir, id)
	checkPlanted(t, p, &Result{ID: id, Matches: int(end.GetMatches()), ResultPath: resultPath, TranscriptPath: transcriptPath},
		transcript.ProtocolECDHBothLearn, crashPlanted)
	if _, err := p.req.ResumeStart(t.Context(), id, dial); !errors.Is(err, ErrUnknown) {
		t.Fatalf("resuming an ended reconciliation: %v, want ErrUnknown", err)
	}
	if _, err := p.resp.ResumeStart(t.Context(), id, dial); !errors.Is(err, ErrUnknown) {
		t.Fatalf("resuming on the responder: %v, want ErrUnknown", err)
	}
}
