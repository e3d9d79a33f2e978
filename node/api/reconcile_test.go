package api_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// fakeReconciliations advances one reconciliation by a chunk at every Get,
// from running to done.
type fakeReconciliations struct {
	mu    sync.Mutex
	done  uint32
	total uint32
	rows  [][]*riskmeshv1.ReconciledRow
}

func (f *fakeReconciliations) StartReconciliation(_ context.Context, req *riskmeshv1.StartReconciliationRequest) (*riskmeshv1.Reconciliation, error) {
	if req.GetMode() != recon.ModeBothLearn {
		return nil, recon.ErrRequest
	}
	return &riskmeshv1.Reconciliation{Id: "r1", State: recon.StateRunning}, nil
}

func (f *fakeReconciliations) GetReconciliation(id string) (*riskmeshv1.Reconciliation, error) {
	if id != "r1" {
		return nil, recon.ErrUnknown
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := &riskmeshv1.Reconciliation{Id: id, State: recon.StateRunning, ChunksDone: f.done, ChunksTotal: f.total}
	if f.done == f.total {
		st.State = recon.StateDone
	} else {
		f.done++
	}
	return st, nil
}

func (f *fakeReconciliations) ResumeReconciliation(_ context.Context, id string) (*riskmeshv1.Reconciliation, error) {
	return f.GetReconciliation(id)
}

func (f *fakeReconciliations) ListReconciliations() []*riskmeshv1.Reconciliation {
	return []*riskmeshv1.Reconciliation{{Id: "r1"}}
}

func (f *fakeReconciliations) ReconciledRows(_ context.Context, id string, send func(*riskmeshv1.ReconciledRows) error) error {
	if id != "r1" {
		return recon.ErrUnknown
	}
	for _, b := range f.rows {
		if err := send(&riskmeshv1.ReconciledRows{Rows: b}); err != nil {
			return err
		}
	}
	return nil
}

// TestReconciliationMethods drives the reconciliation methods through a
// real gRPC connection: Watch sends each state once and ends after the
// final one, Fetch passes every batch, component errors map to their
// codes, and a node without reconciliations answers FAILED_PRECONDITION.
func TestReconciliationMethods(t *testing.T) {
	f := &fakeReconciliations{total: 3, rows: [][]*riskmeshv1.ReconciledRow{{{Id: "phone:+1"}, {Id: "phone:+2"}}, {{Id: "phone:+3"}}}}
	c := serveUnix(t, api.Config{Reconciliations: f, Errors: []api.ErrorCode{
		{Err: recon.ErrRequest, Code: codes.InvalidArgument}, {Err: recon.ErrUnknown, Code: codes.NotFound}}})
	ctx := t.Context()

	if _, err := c.StartReconciliation(ctx, &riskmeshv1.StartReconciliationRequest{Responder: "B", List: "l", PeerList: "p", Mode: "x"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad mode: %v", err)
	}
	if _, err := c.StartReconciliation(ctx, &riskmeshv1.StartReconciliationRequest{Responder: "B"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("missing lists: %v", err)
	}
	if _, err := c.GetReconciliation(ctx, &riskmeshv1.GetReconciliationRequest{Id: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown id: %v", err)
	}

	w, err := c.WatchReconciliation(ctx, &riskmeshv1.GetReconciliationRequest{Id: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	var seen []uint32
	var last *riskmeshv1.Reconciliation
	for {
		st, err := w.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen, last = append(seen, st.GetChunksDone()), st
	}
	if len(seen) != 4 || seen[3] != 3 || last.GetState() != recon.StateDone {
		t.Fatalf("watch saw %v ending %v", seen, last)
	}

	fr, err := c.FetchReconciliation(ctx, &riskmeshv1.GetReconciliationRequest{Id: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for {
		b, err := fr.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.GetRows() {
			ids = append(ids, r.GetId())
		}
	}
	if len(ids) != 3 || ids[2] != "phone:+3" {
		t.Fatalf("fetched %v", ids)
	}

	none := serveUnix(t, api.Config{})
	if _, err := none.ListReconciliations(ctx, &riskmeshv1.ListReconciliationsRequest{}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("no reconciliations: %v", err)
	}
}
