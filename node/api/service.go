package api

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Requester is the requester side the query methods call (node/requester's
// *Requester satisfies it).
type Requester interface {
	Query(ctx context.Context, req *riskmeshv1.QueryRequest, send func(*riskmeshv1.QueryEvent) error) error
	GetQuery(ctx context.Context, id string) (*riskmeshv1.QueryRecord, error)
	ListQueries(ctx context.Context, req *riskmeshv1.ListQueriesRequest) (*riskmeshv1.ListQueriesResponse, error)
	Providers(ctx context.Context, req *riskmeshv1.ProvidersRequest) (*riskmeshv1.ProvidersResponse, error)
	Balance(ctx context.Context) (*riskmeshv1.BalanceResponse, error)
	GetTranscript(ctx context.Context, req *riskmeshv1.GetTranscriptRequest) (*riskmeshv1.GetTranscriptResponse, error)
}

// Catalogs is the requester side's catalog mirror (node/mirror's *Mirror
// satisfies it): CatalogStatus reports its copies of providers' catalogs.
type Catalogs interface {
	RemoteCatalogs() []*riskmeshv1.RemoteCatalog
}

// Reconciler reports how the bills of a period match this node's
// verified answers (node/requester's *Requester satisfies it).
type Reconciler interface {
	ReconcileReport(period uint64) (*riskmeshv1.ReconcileReport, error)
}

// DeadLetters lists and replays the push events a destination gave up on
// (node/push's *Outbox satisfies it).
type DeadLetters interface {
	Dead(destination string, limit int) ([]*riskmeshv1.DeadEvent, error)
	Replay(destination string, eventIDs []string) (int, error)
}

// Provider is the provider side the list and catalog methods call
// (node/provider's *Provider satisfies it).
type Provider interface {
	Refresh(ctx context.Context, sources []string) ([]*riskmeshv1.ListImport, error)
	CatalogStatus(category string) []*riskmeshv1.LocalCatalog
}

// Importer loads a host file into a configured list source (ImportList). A
// Provider that also implements it serves ImportList; otherwise the method
// is Unimplemented.
type Importer interface {
	Import(ctx context.Context, req *riskmeshv1.ImportListRequest) (*riskmeshv1.ListImport, error)
}

// OutcomeReporter takes the business's outcomes for a query's hits
// (ReportOutcomes). A Requester that also implements it serves
// ReportOutcomes; otherwise the method is Unimplemented.
type OutcomeReporter interface {
	ReportOutcomes(ctx context.Context, req *riskmeshv1.ReportOutcomesRequest) (*riskmeshv1.ReportOutcomesResponse, error)
}

// KeyRotator generates a new key and registers it on the ledger (the
// daemon, which holds the identity and the ledger, implements it).
type KeyRotator interface {
	RotateKeys(ctx context.Context, req *riskmeshv1.RotateKeysRequest) (*riskmeshv1.RotateKeysResponse, error)
}

// Backuper writes consistent copies of the node's files into a directory
// on its host (the daemon, which holds them open, implements it).
type Backuper interface {
	Backup(ctx context.Context, req *riskmeshv1.BackupRequest) (*riskmeshv1.BackupResponse, error)
}

// HealthFunc reports the node's components; it must answer quickly and
// without the ledger or peers (it serves when they are down).
type HealthFunc func(ctx context.Context) *riskmeshv1.HealthResponse

// Config configures a Service. Every component may be nil: its methods then
// fail with FailedPrecondition (Requester, Provider) or Unimplemented
// (Keys, Backup) instead of the node refusing to start; a regulator's node, for
// one, neither queries nor provides.
type Config struct {
	Requester Requester
	// Catalogs fills CatalogStatus's remote catalogs; nil reports none.
	Catalogs Catalogs
	// Reconciler answers Reconcile; nil: FailedPrecondition.
	Reconciler Reconciler
	// Push answers ListDeadEvents and ReplayDeadEvents; nil:
	// FailedPrecondition.
	Push DeadLetters
	// Reconciliations answers the reconciliation methods; nil:
	// FailedPrecondition.
	Reconciliations Reconciliations
	Provider        Provider
	Keys            KeyRotator
	Backup          Backuper
	// Health answers Health; nil answers SERVING with no components.
	Health HealthFunc

	// MaxIdentifiers bounds QueryRequest.identifiers. Default 100,000
	// (docs/protocol/wire.md).
	MaxIdentifiers int
	// MaxProviders bounds QueryRequest.providers. Default 1,024.
	MaxProviders int
	// MaxRecvSize bounds one request message, in bytes. Default: the
	// largest valid QueryRequest, MaxIdentifiers maximal identifiers and
	// MaxProviders maximal MSP ids plus 4 KiB for its other fields (about
	// 106 MB at the defaults). Whatever the size, a request is decoded only
	// if its element count fits the limits (codec.go), so its decoded form
	// stays within a small multiple of its size.
	MaxRecvSize int
	// MaxStreams bounds the concurrent calls on one client connection
	// (HTTP/2 MAX_CONCURRENT_STREAMS). Default 32.
	MaxStreams int
	// MaxQueries bounds the Query calls in flight over all connections; one
	// more is refused with RESOURCE_EXHAUSTED before its request is read.
	// Default 16: with maximal requests, about 16 x 3 x MaxRecvSize of
	// memory (docs/api.md, "Bounds").
	MaxQueries int
	// AdminClients names the client certificates (subject common names)
	// allowed the admin methods over TCP. Empty: none; the unix socket
	// always allows them.
	AdminClients []string
	// Errors maps the components' sentinel errors to status codes; they are
	// tried before the package's own mappings (see toStatus).
	Errors []ErrorCode
	// Logger receives one event per failed call (method and code only).
	// Default: discard.
	Logger *slog.Logger
	// GracePeriod bounds a graceful stop: calls still running after it are
	// cut off. Default 10 s.
	GracePeriod time.Duration
}

// Defaults of Config's zero fields.
const (
	DefaultMaxIdentifiers = 100_000
	DefaultMaxProviders   = 1024
	DefaultGracePeriod    = 10 * time.Second
	DefaultMaxStreams     = 32
	DefaultMaxQueries     = 16
	// maxIdentifierSize is the most one Identifier takes inside a
	// QueryRequest: the value (psi/ident's MaxRawLen, 1024 bytes) with its
	// length-delimited framing, the type varint and the element's own tag
	// and length.
	maxIdentifierSize = 1024 + 3*7 + 11
	// maxProviderSize is the most one providers entry takes: an MSP id of
	// at most 128 bytes with its tag and length.
	maxProviderSize = 128 + 1 + 2
	// recvOverhead is the allowance for a request's other fields
	// (category, deadline, client_request_id), far more than they take.
	recvOverhead = 4 << 10
	// MaxBackupDir bounds BackupRequest.dir, in bytes (Linux's PATH_MAX).
	MaxBackupDir = 4096
)

// Service implements riskmeshv1.RiskMeshServer over the configured
// components. Serve it with Serve.
type Service struct {
	riskmeshv1.UnimplementedRiskMeshServer
	cfg    Config
	codes  []ErrorCode
	admins map[string]bool
	// queries holds one token per Query call in flight (MaxQueries).
	queries chan struct{}
}

var _ riskmeshv1.RiskMeshServer = (*Service)(nil)

// New validates cfg and returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.MaxIdentifiers < 0 || cfg.MaxProviders < 0 || cfg.MaxRecvSize < 0 || cfg.GracePeriod < 0 ||
		cfg.MaxStreams < 0 || cfg.MaxQueries < 0 {
		return nil, fmt.Errorf("api: negative limit in config")
	}
	cfg.MaxIdentifiers = cmp.Or(cfg.MaxIdentifiers, DefaultMaxIdentifiers)
	cfg.MaxProviders = cmp.Or(cfg.MaxProviders, DefaultMaxProviders)
	cfg.MaxRecvSize = cmp.Or(cfg.MaxRecvSize, cfg.MaxIdentifiers*maxIdentifierSize+cfg.MaxProviders*maxProviderSize+recvOverhead)
	cfg.MaxStreams = cmp.Or(cfg.MaxStreams, DefaultMaxStreams)
	cfg.MaxQueries = cmp.Or(cfg.MaxQueries, DefaultMaxQueries)
	cfg.GracePeriod = cmp.Or(cfg.GracePeriod, DefaultGracePeriod)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	s := &Service{cfg: cfg, admins: make(map[string]bool, len(cfg.AdminClients)), queries: make(chan struct{}, cfg.MaxQueries)}
	for _, name := range cfg.AdminClients {
		if name == "" {
			return nil, fmt.Errorf("api: empty name in AdminClients")
		}
		s.admins[name] = true
	}
	s.codes = append(append([]ErrorCode(nil), cfg.Errors...), baseCodes...)
	return s, nil
}

// status turns a component's error into the call's status error.
func (s *Service) status(err error) error { return toStatus(err, s.codes) }

// Query validates the request's bounds and hands it to the requester, which
// streams the events.
func (s *Service) Query(req *riskmeshv1.QueryRequest, stream riskmeshv1.RiskMesh_QueryServer) error {
	if s.cfg.Requester == nil {
		return s.status(ErrNoRequester)
	}
	if err := s.checkQuery(req); err != nil {
		return err
	}
	return s.status(s.cfg.Requester.Query(stream.Context(), req, stream.Send))
}

// checkQuery enforces the request bounds the API owns; the requester
// checks the meaning (category, identifier types, deadline range).
func (s *Service) checkQuery(req *riskmeshv1.QueryRequest) error {
	n := len(req.GetIdentifiers())
	switch {
	case n == 0:
		return status.Error(codes.InvalidArgument, "api: query has no identifiers")
	case n > s.cfg.MaxIdentifiers:
		return status.Errorf(codes.InvalidArgument, "api: query has %d identifiers, more than this node's limit of %d", n, s.cfg.MaxIdentifiers)
	case len(req.GetProviders()) > s.cfg.MaxProviders:
		return status.Errorf(codes.InvalidArgument, "api: query names %d providers, more than %d", len(req.GetProviders()), s.cfg.MaxProviders)
	case req.GetCategory() == "":
		return status.Error(codes.InvalidArgument, "api: query has no category")
	}
	return nil
}

// GetQuery returns a persisted query.
func (s *Service) GetQuery(ctx context.Context, req *riskmeshv1.GetQueryRequest) (*riskmeshv1.QueryRecord, error) {
	if s.cfg.Requester == nil {
		return nil, s.status(ErrNoRequester)
	}
	if req.GetQueryId() == "" {
		return nil, status.Error(codes.InvalidArgument, "api: query_id is empty")
	}
	rec, err := s.cfg.Requester.GetQuery(ctx, req.GetQueryId())
	return rec, s.status(err)
}

// GetTranscript returns one of this node's stored exchanges as a requester,
// for auditing and disputes.
func (s *Service) GetTranscript(ctx context.Context, req *riskmeshv1.GetTranscriptRequest) (*riskmeshv1.GetTranscriptResponse, error) {
	if s.cfg.Requester == nil {
		return nil, s.status(ErrNoRequester)
	}
	if req.GetResponder() == "" || req.GetPeriod() == 0 {
		return nil, status.Error(codes.InvalidArgument, "api: a transcript is named by period, responder and sequence")
	}
	resp, err := s.cfg.Requester.GetTranscript(ctx, req)
	return resp, s.status(err)
}

// ListQueries lists persisted queries.
func (s *Service) ListQueries(ctx context.Context, req *riskmeshv1.ListQueriesRequest) (*riskmeshv1.ListQueriesResponse, error) {
	if s.cfg.Requester == nil {
		return nil, s.status(ErrNoRequester)
	}
	resp, err := s.cfg.Requester.ListQueries(ctx, req)
	return resp, s.status(err)
}

// Balance returns this institution's account.
func (s *Service) Balance(ctx context.Context, _ *riskmeshv1.BalanceRequest) (*riskmeshv1.BalanceResponse, error) {
	if s.cfg.Requester == nil {
		return nil, s.status(ErrNoRequester)
	}
	resp, err := s.cfg.Requester.Balance(ctx)
	return resp, s.status(err)
}

// Providers lists the providers of the registry.
// ReportOutcomes stores the business's outcomes for hits of a query, for
// the node to add up and submit to the ledger (docs/quality.md).
func (s *Service) ReportOutcomes(ctx context.Context, req *riskmeshv1.ReportOutcomesRequest) (*riskmeshv1.ReportOutcomesResponse, error) {
	if s.cfg.Requester == nil {
		return nil, s.status(ErrNoRequester)
	}
	rep, ok := s.cfg.Requester.(OutcomeReporter)
	if !ok {
		return nil, s.status(ErrNotSupported)
	}
	resp, err := rep.ReportOutcomes(ctx, req)
	return resp, s.status(err)
}

func (s *Service) Providers(ctx context.Context, req *riskmeshv1.ProvidersRequest) (*riskmeshv1.ProvidersResponse, error) {
	if s.cfg.Requester == nil {
		return nil, s.status(ErrNoRequester)
	}
	resp, err := s.cfg.Requester.Providers(ctx, req)
	return resp, s.status(err)
}
