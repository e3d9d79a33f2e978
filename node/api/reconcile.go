package api

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Reconciliations starts and reports reconciliations of whole lists
// (node/recon, wired by the daemon).
type Reconciliations interface {
	StartReconciliation(ctx context.Context, req *riskmeshv1.StartReconciliationRequest) (*riskmeshv1.Reconciliation, error)
	GetReconciliation(id string) (*riskmeshv1.Reconciliation, error)
	ListReconciliations() []*riskmeshv1.Reconciliation
	// ReconciledRows passes the node's matched rows to send, batch by
	// batch.
	ReconciledRows(ctx context.Context, id string, send func(*riskmeshv1.ReconciledRows) error) error
	// ResumeReconciliation resumes an interrupted reconciliation in the
	// background.
	ResumeReconciliation(ctx context.Context, id string) (*riskmeshv1.Reconciliation, error)
}

// WatchInterval is how often WatchReconciliation looks at a running
// reconciliation's state.
const WatchInterval = 250 * time.Millisecond

// StartReconciliation starts a reconciliation in the background.
func (s *Service) StartReconciliation(ctx context.Context, req *riskmeshv1.StartReconciliationRequest) (*riskmeshv1.Reconciliation, error) {
	if s.cfg.Reconciliations == nil {
		return nil, s.status(ErrNoReconcile)
	}
	if req.GetResponder() == "" || req.GetList() == "" || req.GetPeerList() == "" || req.GetMode() == "" {
		return nil, status.Error(codes.InvalidArgument, "api: a reconciliation names a responder, both lists and a mode")
	}
	st, err := s.cfg.Reconciliations.StartReconciliation(ctx, req)
	return st, s.status(err)
}

// GetReconciliation returns one reconciliation's state.
func (s *Service) GetReconciliation(_ context.Context, req *riskmeshv1.GetReconciliationRequest) (*riskmeshv1.Reconciliation, error) {
	if s.cfg.Reconciliations == nil {
		return nil, s.status(ErrNoReconcile)
	}
	st, err := s.cfg.Reconciliations.GetReconciliation(req.GetId())
	return st, s.status(err)
}

// WatchReconciliation sends the state whenever it changes until the
// reconciliation ends.
func (s *Service) WatchReconciliation(req *riskmeshv1.GetReconciliationRequest, stream riskmeshv1.RiskMesh_WatchReconciliationServer) error {
	if s.cfg.Reconciliations == nil {
		return s.status(ErrNoReconcile)
	}
	tick := time.NewTicker(WatchInterval)
	defer tick.Stop()
	var last *riskmeshv1.Reconciliation
	for {
		st, err := s.cfg.Reconciliations.GetReconciliation(req.GetId())
		if err != nil {
			return s.status(err)
		}
		if !proto.Equal(st, last) {
			if err := stream.Send(st); err != nil {
				return err
			}
			last = st
		}
		if st.GetState() != recon.StateRunning {
			return nil
		}
		select {
		case <-stream.Context().Done():
			return s.status(stream.Context().Err())
		case <-tick.C:
		}
	}
}

// ListReconciliations lists the reconciliations since the node started.
func (s *Service) ListReconciliations(context.Context, *riskmeshv1.ListReconciliationsRequest) (*riskmeshv1.ListReconciliationsResponse, error) {
	if s.cfg.Reconciliations == nil {
		return nil, s.status(ErrNoReconcile)
	}
	return &riskmeshv1.ListReconciliationsResponse{Reconciliations: s.cfg.Reconciliations.ListReconciliations()}, nil
}

// ResumeReconciliation resumes an interrupted reconciliation in the
// background.
func (s *Service) ResumeReconciliation(ctx context.Context, req *riskmeshv1.GetReconciliationRequest) (*riskmeshv1.Reconciliation, error) {
	if s.cfg.Reconciliations == nil {
		return nil, s.status(ErrNoReconcile)
	}
	st, err := s.cfg.Reconciliations.ResumeReconciliation(ctx, req.GetId())
	return st, s.status(err)
}

// FetchReconciliation streams the node's matched rows.
func (s *Service) FetchReconciliation(req *riskmeshv1.GetReconciliationRequest, stream riskmeshv1.RiskMesh_FetchReconciliationServer) error {
	if s.cfg.Reconciliations == nil {
		return s.status(ErrNoReconcile)
	}
	return s.status(s.cfg.Reconciliations.ReconciledRows(stream.Context(), req.GetId(), stream.Send))
}
