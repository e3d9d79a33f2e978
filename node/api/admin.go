package api

import (
	"context"
	"path/filepath"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// ImportList loads a host file into a configured source.
func (s *Service) ImportList(ctx context.Context, req *riskmeshv1.ImportListRequest) (*riskmeshv1.ImportListResponse, error) {
	if s.cfg.Provider == nil {
		return nil, s.status(ErrNoProvider)
	}
	imp, ok := s.cfg.Provider.(Importer)
	if !ok {
		return nil, s.status(ErrNotSupported)
	}
	if req.GetSource() == "" || req.GetPath() == "" {
		return nil, status.Error(codes.InvalidArgument, "api: import needs a source and a path")
	}
	rep, err := imp.Import(ctx, req)
	if err != nil {
		return nil, s.status(err)
	}
	return &riskmeshv1.ImportListResponse{Import: rep}, nil
}

// RefreshLists re-reads configured sources now.
func (s *Service) RefreshLists(ctx context.Context, req *riskmeshv1.RefreshListsRequest) (*riskmeshv1.RefreshListsResponse, error) {
	if s.cfg.Provider == nil {
		return nil, s.status(ErrNoProvider)
	}
	imports, err := s.cfg.Provider.Refresh(ctx, req.GetSources())
	if err != nil {
		return nil, s.status(err)
	}
	return &riskmeshv1.RefreshListsResponse{Imports: imports}, nil
}

// CatalogStatus reports local catalogs (provider side) and remote ones
// (requester side); a node without one side reports the other alone.
func (s *Service) CatalogStatus(_ context.Context, req *riskmeshv1.CatalogStatusRequest) (*riskmeshv1.CatalogStatusResponse, error) {
	resp := &riskmeshv1.CatalogStatusResponse{}
	if s.cfg.Provider != nil {
		resp.Local = s.cfg.Provider.CatalogStatus(req.GetCategory())
	}
	if s.cfg.Catalogs != nil {
		cat := req.GetCategory()
		resp.Remote = slices.DeleteFunc(s.cfg.Catalogs.RemoteCatalogs(), func(c *riskmeshv1.RemoteCatalog) bool {
			return cat != "" && c.GetCategory() != cat
		})
	}
	return resp, nil
}

// RotateKeys hands the rotation to the configured KeyRotator.
func (s *Service) RotateKeys(ctx context.Context, req *riskmeshv1.RotateKeysRequest) (*riskmeshv1.RotateKeysResponse, error) {
	switch req.GetKind() {
	case riskmeshv1.KeyKind_KEY_KIND_OPRF:
		if req.GetCategory() == "" {
			return nil, status.Error(codes.InvalidArgument, "api: OPRF key rotation needs a category")
		}
	case riskmeshv1.KeyKind_KEY_KIND_SIGNING, riskmeshv1.KeyKind_KEY_KIND_TLS:
	default:
		return nil, status.Errorf(codes.InvalidArgument, "api: unknown key kind %d", req.GetKind())
	}
	if s.cfg.Keys == nil {
		return nil, s.status(ErrNotSupported)
	}
	resp, err := s.cfg.Keys.RotateKeys(ctx, req)
	return resp, s.status(err)
}

// Backup checks the directory's form and hands the backup to the
// configured Backuper, which checks the directory itself.
func (s *Service) Backup(ctx context.Context, req *riskmeshv1.BackupRequest) (*riskmeshv1.BackupResponse, error) {
	dir := req.GetDir()
	switch {
	case dir == "":
		return nil, status.Error(codes.InvalidArgument, "api: backup needs a directory")
	case len(dir) > MaxBackupDir:
		return nil, status.Errorf(codes.InvalidArgument, "api: backup directory of %d bytes, more than %d", len(dir), MaxBackupDir)
	case !filepath.IsAbs(dir):
		return nil, status.Error(codes.InvalidArgument, "api: backup directory must be an absolute path on the node's host")
	}
	if s.cfg.Backup == nil {
		return nil, s.status(ErrNotSupported)
	}
	resp, err := s.cfg.Backup.Backup(ctx, req)
	return resp, s.status(err)
}

// Health reports the node's components.
func (s *Service) Health(ctx context.Context, _ *riskmeshv1.HealthRequest) (*riskmeshv1.HealthResponse, error) {
	if s.cfg.Health == nil {
		return &riskmeshv1.HealthResponse{Status: riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING}, nil
	}
	return s.cfg.Health(ctx), nil
}

// Reconcile reports one period's reconciliation of the bills against this
// node's verified answers.
func (s *Service) Reconcile(_ context.Context, req *riskmeshv1.ReconcileRequest) (*riskmeshv1.ReconcileReport, error) {
	if s.cfg.Reconciler == nil {
		return nil, s.status(ErrNoRequester)
	}
	rep, err := s.cfg.Reconciler.ReconcileReport(req.GetPeriod())
	return rep, s.status(err)
}

// Dead-event list bounds.
const (
	DefaultDeadEvents = 100
	MaxDeadEvents     = 1000
)

// ListDeadEvents lists the push events destinations gave up on.
func (s *Service) ListDeadEvents(_ context.Context, req *riskmeshv1.ListDeadEventsRequest) (*riskmeshv1.ListDeadEventsResponse, error) {
	if s.cfg.Push == nil {
		return nil, s.status(ErrNoPush)
	}
	limit := int(req.GetLimit())
	switch {
	case limit == 0:
		limit = DefaultDeadEvents
	case limit > MaxDeadEvents:
		return nil, status.Errorf(codes.InvalidArgument, "api: limit %d (at most %d)", limit, MaxDeadEvents)
	}
	events, err := s.cfg.Push.Dead(req.GetDestination(), limit)
	if err != nil {
		return nil, s.status(err)
	}
	return &riskmeshv1.ListDeadEventsResponse{Events: events}, nil
}

// ReplayDeadEvents puts dead push events back in their destination's queue.
func (s *Service) ReplayDeadEvents(_ context.Context, req *riskmeshv1.ReplayDeadEventsRequest) (*riskmeshv1.ReplayDeadEventsResponse, error) {
	if s.cfg.Push == nil {
		return nil, s.status(ErrNoPush)
	}
	if req.GetDestination() == "" || len(req.GetEventIds()) > MaxDeadEvents {
		return nil, status.Errorf(codes.InvalidArgument, "api: replay needs a destination and at most %d event ids", MaxDeadEvents)
	}
	n, err := s.cfg.Push.Replay(req.GetDestination(), req.GetEventIds())
	if err != nil {
		return nil, s.status(err)
	}
	return &riskmeshv1.ReplayDeadEventsResponse{Replayed: uint32(n)}, nil
}
