package apiclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// fakeNode answers GetQuery with NotFound, streams one progress event and
// then fails or ends a Query as told, and pages ListQueries.
type fakeNode struct {
	riskmeshv1.UnimplementedRiskMeshServer
	queryErr error
	total    int // queries ListQueries holds
}

func (fakeNode) GetQuery(context.Context, *riskmeshv1.GetQueryRequest) (*riskmeshv1.QueryRecord, error) {
	return nil, status.Error(codes.NotFound, "requester: query not found")
}

func (n fakeNode) Query(_ *riskmeshv1.QueryRequest, s grpc.ServerStreamingServer[riskmeshv1.QueryEvent]) error {
	if err := s.Send(&riskmeshv1.QueryEvent{}); err != nil {
		return err
	}
	return n.queryErr
}

func (n fakeNode) ListQueries(_ context.Context, req *riskmeshv1.ListQueriesRequest) (*riskmeshv1.ListQueriesResponse, error) {
	var from int
	if req.PageToken != "" {
		fmt.Sscan(req.PageToken, &from)
	}
	resp := &riskmeshv1.ListQueriesResponse{}
	for i := from; i < min(n.total, from+int(req.PageSize)); i++ {
		resp.Queries = append(resp.Queries, &riskmeshv1.QuerySummary{QueryId: fmt.Sprint(i)})
	}
	if end := from + len(resp.Queries); end < n.total {
		resp.NextPageToken = fmt.Sprint(end)
	}
	return resp, nil
}

// serve runs n on a unix socket and returns a client of it.
func serve(t *testing.T, n fakeNode) *Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	riskmeshv1.RegisterRiskMeshServer(srv, n)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	c, err := Dial(Target{Address: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A node that is not running is named by its address, in words, and the
// status code survives for callers that branch on it.
func TestErrorNamesAnUnreachableAPI(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	c, err := Dial(Target{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Health(t.Context(), &riskmeshv1.HealthRequest{})
	want := "cannot reach the node's API at " + addr + " (is the node running?): dial unix "
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "rpc error") ||
		!strings.HasSuffix(err.Error(), "connect: no such file or directory") {
		t.Fatalf("got %v, want it to begin %q", err, want)
	}
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("code %v, want Unavailable", status.Code(err))
	}
}

func TestErrorSaysWhatWasNotFound(t *testing.T) {
	c := serve(t, fakeNode{})
	_, err := c.GetQuery(t.Context(), &riskmeshv1.GetQueryRequest{QueryId: "q"})
	if err == nil || err.Error() != "not found: requester: query not found" || status.Code(err) != codes.NotFound {
		t.Fatalf("got %v (%v)", err, status.Code(err))
	}
}

// A stream's errors are explained too, and a stream that ends without a
// result says so.
func TestRunQueryErrors(t *testing.T) {
	c := serve(t, fakeNode{queryErr: status.Error(codes.PermissionDenied, "admin only")})
	_, err := c.RunQuery(t.Context(), &riskmeshv1.QueryRequest{})
	var e *Error
	if !errors.As(err, &e) || err.Error() != "refused (permission denied): admin only" {
		t.Fatalf("got %v", err)
	}
	c = serve(t, fakeNode{})
	if _, err := c.RunQuery(t.Context(), &riskmeshv1.QueryRequest{}); !errors.Is(err, ErrNoResult) {
		t.Fatalf("got %v, want ErrNoResult", err)
	}
}

func TestQueriesFollowsPagesUpToTheLimit(t *testing.T) {
	c := serve(t, fakeNode{total: 2500})
	for _, tc := range []struct{ limit, want int }{{1, 1}, {1000, 1000}, {1001, 1001}, {5000, 2500}} {
		qs, err := c.Queries(t.Context(), &riskmeshv1.ListQueriesRequest{}, tc.limit)
		if err != nil || len(qs) != tc.want || qs[len(qs)-1].GetQueryId() != fmt.Sprint(tc.want-1) {
			t.Fatalf("limit %d: %d queries, %v", tc.limit, len(qs), err)
		}
	}
}

func TestParseEntry(t *testing.T) {
	if r, err := ParseEntry("3/Bank1MSP/9"); err != nil || r.Period != 3 || r.Responder != "Bank1MSP" || r.Sequence != 9 {
		t.Fatalf("got %v, %v", r, err)
	}
	for _, bad := range []string{"", "1/B/x", "0/B/1", "1//1", "1/B/0", "1/B/1/2", "-1/B/1"} {
		if _, err := ParseEntry(bad); !errors.Is(err, ErrEntry) || strings.Contains(err.Error(), "strconv") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// Each status reads as a sentence; gRPC's transport wrapping is dropped.
func TestErrorWords(t *testing.T) {
	for _, tc := range []struct {
		code      codes.Code
		msg, want string
	}{
		{codes.Unavailable, `connection error: desc = "transport: authentication handshake failed: x509: unknown authority"`,
			"cannot reach the node's API at node:7443: authentication handshake failed: x509: unknown authority"},
		{codes.Unavailable, "requester: stopping", "the node at node:7443 is unavailable: requester: stopping"},
		{codes.InvalidArgument, "no identifiers", "invalid request: no identifiers"},
		{codes.Unimplemented, "api: not supported by this node", "the node at node:7443 does not offer this call (an older version?): api: not supported by this node"},
		{codes.Internal, "boom", "the node at node:7443 failed the call (internal): boom"},
	} {
		err := &Error{Address: "node:7443", Status: status.New(tc.code, tc.msg)}
		if err.Error() != tc.want || status.Code(err) != tc.code {
			t.Errorf("%v %q: %q, want %q", tc.code, tc.msg, err.Error(), tc.want)
		}
	}
}
