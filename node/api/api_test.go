package api_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// fakeRequester answers from fixed values and records what it was asked.
type fakeRequester struct {
	queries int
	events  []*riskmeshv1.QueryEvent
	err     error
	remote  []*riskmeshv1.RemoteCatalog
	// started and hold, if set, make Query signal its start and wait.
	started chan struct{}
	hold    chan struct{}
}

func (f *fakeRequester) Query(ctx context.Context, _ *riskmeshv1.QueryRequest, send func(*riskmeshv1.QueryEvent) error) error {
	if f.hold != nil {
		f.started <- struct{}{}
		select {
		case <-f.hold:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	f.queries++
	for _, ev := range f.events {
		if err := send(ev); err != nil {
			return err
		}
	}
	return f.err
}

func (f *fakeRequester) GetQuery(_ context.Context, id string) (*riskmeshv1.QueryRecord, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &riskmeshv1.QueryRecord{QueryId: id}, nil
}

func (f *fakeRequester) ListQueries(context.Context, *riskmeshv1.ListQueriesRequest) (*riskmeshv1.ListQueriesResponse, error) {
	return &riskmeshv1.ListQueriesResponse{}, f.err
}

func (f *fakeRequester) Providers(context.Context, *riskmeshv1.ProvidersRequest) (*riskmeshv1.ProvidersResponse, error) {
	return &riskmeshv1.ProvidersResponse{Period: 7}, f.err
}

func (f *fakeRequester) Balance(context.Context) (*riskmeshv1.BalanceResponse, error) {
	return &riskmeshv1.BalanceResponse{MspId: "BankA"}, f.err
}

func (f *fakeRequester) RemoteCatalogs() []*riskmeshv1.RemoteCatalog { return f.remote }

func (f *fakeRequester) GetTranscript(_ context.Context, req *riskmeshv1.GetTranscriptRequest) (*riskmeshv1.GetTranscriptResponse, error) {
	if f.err != nil {
		return nil, f.err
	}
	if req.GetSequence() != 7 {
		return nil, status.Error(codes.NotFound, "no such transcript")
	}
	return &riskmeshv1.GetTranscriptResponse{Transcript: []byte("RMTX")}, nil
}

// fakeProvider also implements api.Importer.
type fakeProvider struct{ local []*riskmeshv1.LocalCatalog }

func (f *fakeProvider) Refresh(_ context.Context, sources []string) ([]*riskmeshv1.ListImport, error) {
	out := make([]*riskmeshv1.ListImport, len(sources))
	for i, s := range sources {
		out[i] = &riskmeshv1.ListImport{Source: s}
	}
	return out, nil
}

func (f *fakeProvider) CatalogStatus(string) []*riskmeshv1.LocalCatalog { return f.local }

func (f *fakeProvider) Import(_ context.Context, req *riskmeshv1.ImportListRequest) (*riskmeshv1.ListImport, error) {
	return &riskmeshv1.ListImport{Source: req.GetSource(), Rows: 3}, nil
}

// refreshOnly is a provider without Import.
type refreshOnly struct{}

func (refreshOnly) Refresh(context.Context, []string) ([]*riskmeshv1.ListImport, error) {
	return nil, nil
}
func (refreshOnly) CatalogStatus(string) []*riskmeshv1.LocalCatalog { return nil }

// fakeBackuper records the directory it was asked to back up into.
type fakeBackuper struct{ dir string }

func (f *fakeBackuper) Backup(_ context.Context, req *riskmeshv1.BackupRequest) (*riskmeshv1.BackupResponse, error) {
	f.dir = req.GetDir()
	return &riskmeshv1.BackupResponse{Files: []*riskmeshv1.BackupFile{{Kind: riskmeshv1.BackupKind_BACKUP_KIND_NODE_DB}}}, nil
}

// serveUnix serves svc on a socket in t.TempDir and returns a client.
func serveUnix(t *testing.T, cfg api.Config) riskmeshv1.RiskMeshClient {
	t.Helper()
	svc, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := api.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, svc, l, nil)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(1<<30)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return riskmeshv1.NewRiskMeshClient(conn)
}

// serve runs svc.Serve until the test ends and checks that it stops cleanly.
func serve(t *testing.T, svc *api.Service, l net.Listener, tlsConf *tls.Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, l, tlsConf) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
}

func ids(n int) []*riskmeshv1.Identifier {
	out := make([]*riskmeshv1.Identifier, n)
	for i := range out {
		out[i] = &riskmeshv1.Identifier{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: fmt.Sprintf("+8613800%06d", i)}
	}
	return out
}

// drain reads a Query stream to its end.
func drain(t *testing.T, c riskmeshv1.RiskMeshClient, req *riskmeshv1.QueryRequest) ([]*riskmeshv1.QueryEvent, error) {
	t.Helper()
	stream, err := c.Query(context.Background(), req)
	if err != nil {
		return nil, err
	}
	var evs []*riskmeshv1.QueryEvent
	for range 100 {
		ev, err := stream.Recv()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	t.Fatal("stream did not end")
	return nil, nil
}

func TestQueryStreamsEvents(t *testing.T) {
	req := &fakeRequester{events: []*riskmeshv1.QueryEvent{
		{Body: &riskmeshv1.QueryEvent_Accepted{Accepted: &riskmeshv1.QueryAccepted{QueryId: "q1"}}},
		{Body: &riskmeshv1.QueryEvent_ProviderResult{ProviderResult: &riskmeshv1.ProviderResult{Provider: "BankB"}}},
		{Body: &riskmeshv1.QueryEvent_Result{Result: &riskmeshv1.QueryResult{QueryId: "q1"}}},
	}}
	c := serveUnix(t, api.Config{Requester: req})
	evs, err := drain(t, c, &riskmeshv1.QueryRequest{Category: "black", Identifiers: ids(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].GetAccepted().GetQueryId() != "q1" ||
		evs[1].GetProviderResult().GetProvider() != "BankB" || evs[2].GetResult().GetQueryId() != "q1" {
		t.Fatalf("events = %v", evs)
	}
}

func TestGetTranscript(t *testing.T) {
	c := serveUnix(t, api.Config{Requester: &fakeRequester{}})
	resp, err := c.GetTranscript(t.Context(), &riskmeshv1.GetTranscriptRequest{Period: 1, Responder: "BankB", Sequence: 7})
	if err != nil || string(resp.GetTranscript()) != "RMTX" {
		t.Fatalf("GetTranscript = %v, %v", resp, err)
	}
	_, err = c.GetTranscript(t.Context(), &riskmeshv1.GetTranscriptRequest{Period: 1, Responder: "BankB", Sequence: 8})
	wantCode(t, err, codes.NotFound)
	_, err = c.GetTranscript(t.Context(), &riskmeshv1.GetTranscriptRequest{Sequence: 7})
	wantCode(t, err, codes.InvalidArgument)
}

func TestQueryBounds(t *testing.T) {
	req := &fakeRequester{}
	c := serveUnix(t, api.Config{Requester: req, MaxIdentifiers: 3, MaxProviders: 2})
	for _, tc := range []struct {
		name string
		req  *riskmeshv1.QueryRequest
	}{
		{"no identifiers", &riskmeshv1.QueryRequest{Category: "black"}},
		{"too many identifiers", &riskmeshv1.QueryRequest{Category: "black", Identifiers: ids(4)}},
		{"too many providers", &riskmeshv1.QueryRequest{Category: "black", Identifiers: ids(1), Providers: []string{"A", "B", "C"}}},
		{"no category", &riskmeshv1.QueryRequest{Identifiers: ids(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := drain(t, c, tc.req)
			wantCode(t, err, codes.InvalidArgument)
		})
	}
	if req.queries != 0 {
		t.Fatalf("requester asked %d times for invalid queries", req.queries)
	}
	if _, err := drain(t, c, &riskmeshv1.QueryRequest{Category: "black", Identifiers: ids(3)}); err != nil {
		t.Fatalf("query at the limit: %v", err)
	}
}

func TestMaxRecvSize(t *testing.T) {
	c := serveUnix(t, api.Config{Requester: &fakeRequester{}, MaxRecvSize: 4096})
	big := ids(1)
	big[0].Value = strings.Repeat("9", 8192)
	_, err := drain(t, c, &riskmeshv1.QueryRequest{Category: "black", Identifiers: big})
	wantCode(t, err, codes.ResourceExhausted)
}

// TestDenseQueryRefusedBeforeDecoding: a request within MaxRecvSize made
// of more (empty) identifiers than the limit allows is refused with
// INTERNAL ("too many elements") by the codec, before the service or the
// requester sees it: gRPC reports every decoding failure as INTERNAL.
func TestDenseQueryRefusedBeforeDecoding(t *testing.T) {
	req := &fakeRequester{}
	c := serveUnix(t, api.Config{Requester: req, MaxIdentifiers: 100})
	dense := make([]*riskmeshv1.Identifier, 10_000)
	for i := range dense {
		dense[i] = &riskmeshv1.Identifier{}
	}
	_, err := drain(t, c, &riskmeshv1.QueryRequest{Category: "black", Identifiers: dense})
	wantTooMany(t, err)
	_, err = c.RefreshLists(context.Background(), &riskmeshv1.RefreshListsRequest{Sources: make([]string, api.DefaultMaxElements+1)})
	wantTooMany(t, err)
	if req.queries != 0 {
		t.Fatalf("requester asked %d times", req.queries)
	}
	if _, err := drain(t, c, &riskmeshv1.QueryRequest{Category: "black", Identifiers: ids(100)}); err != nil {
		t.Fatalf("query at the limit: %v", err)
	}
}

func wantTooMany(t *testing.T, err error) {
	t.Helper()
	wantCode(t, err, codes.Internal)
	if !strings.Contains(status.Convert(err).Message(), "too many elements") {
		t.Fatalf("refused by %v, not by the element count", err)
	}
}

// TestQueriesInFlightBounded: with MaxQueries running, one more Query is
// refused with RESOURCE_EXHAUSTED; once one ends, the next is served.
func TestQueriesInFlightBounded(t *testing.T) {
	req := &fakeRequester{started: make(chan struct{}, 2), hold: make(chan struct{})}
	c := serveUnix(t, api.Config{Requester: req, MaxQueries: 2})
	q := &riskmeshv1.QueryRequest{Category: "black", Identifiers: ids(1)}
	done := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := drain(t, c, q)
			done <- err
		}()
		<-req.started
	}
	_, err := drain(t, c, q)
	wantCode(t, err, codes.ResourceExhausted)
	close(req.hold)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatalf("held query: %v", err)
		}
	}
	req.hold = nil
	if _, err := drain(t, c, q); err != nil {
		t.Fatalf("query after the others ended: %v", err)
	}
}

var errBusy = errors.New("requester: busy")

func TestErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want codes.Code
	}{
		{"ledger not found", fmt.Errorf("read account: %w", accounting.ErrNotFound), codes.NotFound},
		{"ledger closed", accounting.ErrClosed, codes.Unavailable},
		{"configured sentinel", fmt.Errorf("fan out: %w", errBusy), codes.ResourceExhausted},
		{"status kept", status.Error(codes.AlreadyExists, "x"), codes.AlreadyExists},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{"anything else", errors.New("boom"), codes.Internal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := serveUnix(t, api.Config{
				Requester: &fakeRequester{err: tc.err},
				Errors:    []api.ErrorCode{{Err: errBusy, Code: codes.ResourceExhausted}},
			})
			_, err := c.GetQuery(context.Background(), &riskmeshv1.GetQueryRequest{QueryId: "q"})
			wantCode(t, err, tc.want)
		})
	}
}

func TestMissingComponents(t *testing.T) {
	ctx := context.Background()
	c := serveUnix(t, api.Config{})
	_, err := c.Balance(ctx, &riskmeshv1.BalanceRequest{})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = drain(t, c, &riskmeshv1.QueryRequest{Category: "black", Identifiers: ids(1)})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = c.RefreshLists(ctx, &riskmeshv1.RefreshListsRequest{})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = c.RotateKeys(ctx, &riskmeshv1.RotateKeysRequest{Kind: riskmeshv1.KeyKind_KEY_KIND_SIGNING})
	wantCode(t, err, codes.Unimplemented)
	_, err = c.Backup(ctx, &riskmeshv1.BackupRequest{Dir: "/backups"})
	wantCode(t, err, codes.Unimplemented)
	h, err := c.Health(ctx, &riskmeshv1.HealthRequest{})
	if err != nil || h.GetStatus() != riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING {
		t.Fatalf("Health = %v, %v", h, err)
	}
	cs, err := c.CatalogStatus(ctx, &riskmeshv1.CatalogStatusRequest{})
	if err != nil || len(cs.GetLocal())+len(cs.GetRemote()) != 0 {
		t.Fatalf("CatalogStatus = %v, %v", cs, err)
	}
}

func TestAdminMethods(t *testing.T) {
	ctx := context.Background()
	prov := &fakeProvider{local: []*riskmeshv1.LocalCatalog{{Category: "black"}}}
	req := &fakeRequester{remote: []*riskmeshv1.RemoteCatalog{{Provider: "B", Category: "black"}, {Provider: "B", Category: "grey"}}}
	c := serveUnix(t, api.Config{Requester: req, Catalogs: req, Provider: prov})

	t.Run("import", func(t *testing.T) {
		resp, err := c.ImportList(ctx, &riskmeshv1.ImportListRequest{Source: "core", Path: "/data/x.csv"})
		if err != nil || resp.GetImport().GetRows() != 3 {
			t.Fatalf("ImportList = %v, %v", resp, err)
		}
		_, err = c.ImportList(ctx, &riskmeshv1.ImportListRequest{Source: "core"})
		wantCode(t, err, codes.InvalidArgument)
	})
	t.Run("refresh", func(t *testing.T) {
		resp, err := c.RefreshLists(ctx, &riskmeshv1.RefreshListsRequest{Sources: []string{"a", "b"}})
		if err != nil || len(resp.GetImports()) != 2 || resp.GetImports()[1].GetSource() != "b" {
			t.Fatalf("RefreshLists = %v, %v", resp, err)
		}
	})
	t.Run("catalog status by category", func(t *testing.T) {
		resp, err := c.CatalogStatus(ctx, &riskmeshv1.CatalogStatusRequest{Category: "grey"})
		if err != nil || len(resp.GetLocal()) != 1 || len(resp.GetRemote()) != 1 || resp.GetRemote()[0].GetCategory() != "grey" {
			t.Fatalf("CatalogStatus = %v, %v", resp, err)
		}
	})
	t.Run("rotate needs a category for OPRF", func(t *testing.T) {
		_, err := c.RotateKeys(ctx, &riskmeshv1.RotateKeysRequest{Kind: riskmeshv1.KeyKind_KEY_KIND_OPRF})
		wantCode(t, err, codes.InvalidArgument)
	})
	t.Run("backup checks the directory's form", func(t *testing.T) {
		b := &fakeBackuper{}
		c := serveUnix(t, api.Config{Backup: b})
		resp, err := c.Backup(ctx, &riskmeshv1.BackupRequest{Dir: "/var/backups/riskmesh"})
		if err != nil || len(resp.GetFiles()) != 1 || b.dir != "/var/backups/riskmesh" {
			t.Fatalf("Backup = %v, %v; backuper got %q", resp, err, b.dir)
		}
		for _, dir := range []string{"", "relative/dir", "/" + strings.Repeat("d", api.MaxBackupDir)} {
			b.dir = ""
			_, err := c.Backup(ctx, &riskmeshv1.BackupRequest{Dir: dir})
			wantCode(t, err, codes.InvalidArgument)
			if b.dir != "" {
				t.Fatalf("directory %.20q reached the backuper", dir)
			}
		}
	})
	t.Run("import unsupported", func(t *testing.T) {
		c := serveUnix(t, api.Config{Provider: refreshOnly{}})
		_, err := c.ImportList(ctx, &riskmeshv1.ImportListRequest{Source: "core", Path: "/x"})
		wantCode(t, err, codes.Unimplemented)
	})
}

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "api.sock")
	l, err := api.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	// A socket left behind by a crash (the listener's file stays when
	// unlinking is disabled) is replaced.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l, err = api.ListenUnix(sock)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l.Close()

	file := filepath.Join(dir, "notasocket")
	if err := os.WriteFile(file, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ListenUnix(file); err == nil {
		t.Fatal("ListenUnix replaced a regular file")
	}
}

func TestServeRefusesInsecureTCP(t *testing.T) {
	svc, err := api.New(api.Config{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := svc.Serve(context.Background(), l, nil); err == nil {
		t.Fatal("served TCP without TLS")
	}
	if err := svc.Serve(context.Background(), l, &tls.Config{}); err == nil {
		t.Fatal("served TCP without client certificates")
	}
}

// selfSigned returns a self-signed certificate for each name, and a pool
// that trusts them: a client_ca file may list the clients' certificates
// themselves rather than a CA.
func selfSigned(t *testing.T, names ...string) ([]tls.Certificate, *x509.CertPool) {
	t.Helper()
	certs := make([]tls.Certificate, len(names))
	pool := x509.NewCertPool()
	for i, name := range names {
		c, err := selfsigned.New(name, nil, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		certs[i] = c
		pool.AddCert(c.Leaf)
	}
	return certs, pool
}

func TestMutualTLSAdmin(t *testing.T) {
	ctx := context.Background()
	nodeCerts, nodePool := selfSigned(t, "node")
	clientCerts, clientPool := selfSigned(t, "loan-system", "ops-console")
	strangers, _ := selfSigned(t, "stranger")
	svc, err := api.New(api.Config{Requester: &fakeRequester{}, Provider: &fakeProvider{}, Backup: &fakeBackuper{}, AdminClients: []string{"ops-console"}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, svc, l, &tls.Config{
		Certificates: nodeCerts,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientPool,
	})
	client := func(certs ...tls.Certificate) riskmeshv1.RiskMeshClient {
		t.Helper()
		creds := credentials.NewTLS(&tls.Config{RootCAs: nodePool, Certificates: certs, MinVersion: tls.VersionTLS13})
		conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(creds))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return riskmeshv1.NewRiskMeshClient(conn)
	}

	app := client(clientCerts[0])
	if _, err := app.Balance(ctx, &riskmeshv1.BalanceRequest{}); err != nil {
		t.Fatalf("business method for a client certificate: %v", err)
	}
	_, err = app.RefreshLists(ctx, &riskmeshv1.RefreshListsRequest{})
	wantCode(t, err, codes.PermissionDenied)
	_, err = app.Backup(ctx, &riskmeshv1.BackupRequest{Dir: "/backups"})
	wantCode(t, err, codes.PermissionDenied)
	if _, err := app.Health(ctx, &riskmeshv1.HealthRequest{}); err != nil {
		t.Fatalf("Health for a client certificate: %v", err)
	}

	ops := client(clientCerts[1])
	if _, err := ops.RefreshLists(ctx, &riskmeshv1.RefreshListsRequest{}); err != nil {
		t.Fatalf("admin method for an admin client: %v", err)
	}
	if _, err := ops.Backup(ctx, &riskmeshv1.BackupRequest{Dir: "/backups"}); err != nil {
		t.Fatalf("Backup for an admin client: %v", err)
	}

	anon := client()
	_, err = anon.Balance(ctx, &riskmeshv1.BalanceRequest{})
	wantCode(t, err, codes.Unavailable)

	stranger := client(strangers[0])
	_, err = stranger.Balance(ctx, &riskmeshv1.BalanceRequest{})
	wantCode(t, err, codes.Unavailable)
}

// reconcileFunc is a Reconciler from a function.
type reconcileFunc func(uint64) (*riskmeshv1.ReconcileReport, error)

func (f reconcileFunc) ReconcileReport(p uint64) (*riskmeshv1.ReconcileReport, error) { return f(p) }

// Reconcile hands the period to the Reconciler and returns its report; a
// node without one says so.
func TestReconcile(t *testing.T) {
	var asked uint64
	c := serveUnix(t, api.Config{Reconciler: reconcileFunc(func(p uint64) (*riskmeshv1.ReconcileReport, error) {
		asked = p
		return &riskmeshv1.ReconcileReport{Period: 4, Matched: 2, Disputed: 1}, nil
	})})
	rep, err := c.Reconcile(t.Context(), &riskmeshv1.ReconcileRequest{Period: 4})
	if err != nil || asked != 4 || rep.GetMatched() != 2 || rep.GetDisputed() != 1 {
		t.Fatalf("Reconcile = %v, %v (asked period %d)", rep, err, asked)
	}
	_, err = serveUnix(t, api.Config{}).Reconcile(t.Context(), &riskmeshv1.ReconcileRequest{})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("Reconcile without a reconciler: %v, want FailedPrecondition", err)
	}
}

// outcomeRequester is a fakeRequester that also takes outcome reports.
type outcomeRequester struct {
	fakeRequester
	hits int
}

func (o *outcomeRequester) ReportOutcomes(_ context.Context, req *riskmeshv1.ReportOutcomesRequest) (*riskmeshv1.ReportOutcomesResponse, error) {
	o.hits += len(req.GetHits())
	return &riskmeshv1.ReportOutcomesResponse{Entries: 1}, nil
}

// TestReportOutcomes: a requester that takes outcome reports is served one
// per identifier at most, refused before decoding past that; one that does
// not is Unimplemented, and a node without a requester side
// FailedPrecondition.
func TestReportOutcomes(t *testing.T) {
	ctx := t.Context()
	req := &outcomeRequester{}
	c := serveUnix(t, api.Config{Requester: req, MaxIdentifiers: 100})
	hits := func(n int) *riskmeshv1.ReportOutcomesRequest {
		r := &riskmeshv1.ReportOutcomesRequest{QueryId: "q", Provider: "P1MSP"}
		for i := range n {
			r.Hits = append(r.Hits, &riskmeshv1.HitFeedback{Index: uint32(i + 1), Outcome: riskmeshv1.HitOutcome_HIT_OUTCOME_WRONG})
		}
		return r
	}
	resp, err := c.ReportOutcomes(ctx, hits(100))
	if err != nil || resp.GetEntries() != 1 || req.hits != 100 {
		t.Fatalf("ReportOutcomes = %v, %v (%d hits reached the requester)", resp, err, req.hits)
	}
	_, err = c.ReportOutcomes(ctx, hits(10_000))
	wantTooMany(t, err)
	if req.hits != 100 {
		t.Fatalf("%d hits reached the requester after a refused report", req.hits)
	}
	_, err = serveUnix(t, api.Config{Requester: &fakeRequester{}}).ReportOutcomes(ctx, hits(1))
	wantCode(t, err, codes.Unimplemented)
	_, err = serveUnix(t, api.Config{}).ReportOutcomes(ctx, hits(1))
	wantCode(t, err, codes.FailedPrecondition)
}

// deadLetters is a DeadLetters holding one destination's dead events.
type deadLetters struct {
	events   []*riskmeshv1.DeadEvent
	replayed []string
}

var errUnknownDestination = errors.New("unknown destination")

func (d *deadLetters) Dead(destination string, limit int) ([]*riskmeshv1.DeadEvent, error) {
	if destination != "" && destination != "hook" {
		return nil, errUnknownDestination
	}
	return d.events[:min(limit, len(d.events))], nil
}

func (d *deadLetters) Replay(destination string, ids []string) (int, error) {
	if destination != "hook" {
		return 0, errUnknownDestination
	}
	d.replayed = append(d.replayed, ids...)
	return len(ids), nil
}

// ListDeadEvents and ReplayDeadEvents reach the push outbox with their
// bounds checked; the component's errors map through Config.Errors, and a
// node without push says so.
func TestDeadEvents(t *testing.T) {
	dl := &deadLetters{events: []*riskmeshv1.DeadEvent{{Destination: "hook", EventId: "a"}, {Destination: "hook", EventId: "b"}}}
	c := serveUnix(t, api.Config{Push: dl, Errors: []api.ErrorCode{{Err: errUnknownDestination, Code: codes.NotFound}}})
	ctx := t.Context()
	got, err := c.ListDeadEvents(ctx, &riskmeshv1.ListDeadEventsRequest{Limit: 1})
	if err != nil || len(got.GetEvents()) != 1 || got.Events[0].EventId != "a" {
		t.Fatalf("ListDeadEvents(limit 1) = %v, %v", got, err)
	}
	_, err = c.ListDeadEvents(ctx, &riskmeshv1.ListDeadEventsRequest{Limit: api.MaxDeadEvents + 1})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.ListDeadEvents(ctx, &riskmeshv1.ListDeadEventsRequest{Destination: "nowhere"})
	wantCode(t, err, codes.NotFound)
	rep, err := c.ReplayDeadEvents(ctx, &riskmeshv1.ReplayDeadEventsRequest{Destination: "hook", EventIds: []string{"b"}})
	if err != nil || rep.GetReplayed() != 1 || !slices.Equal(dl.replayed, []string{"b"}) {
		t.Fatalf("ReplayDeadEvents = %v, %v (replayed %v)", rep, err, dl.replayed)
	}
	_, err = c.ReplayDeadEvents(ctx, &riskmeshv1.ReplayDeadEventsRequest{})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.ReplayDeadEvents(ctx, &riskmeshv1.ReplayDeadEventsRequest{Destination: "hook", EventIds: make([]string, api.MaxDeadEvents+1)})
	wantCode(t, err, codes.InvalidArgument)
	_, err = serveUnix(t, api.Config{}).ListDeadEvents(ctx, &riskmeshv1.ListDeadEventsRequest{})
	wantCode(t, err, codes.FailedPrecondition)
}
