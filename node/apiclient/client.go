package apiclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// DefaultAddress is the API socket of a node installed as docs/node.md
// describes.
const DefaultAddress = "unix:///var/lib/riskmesh/api.sock"

// maxMessageSize bounds one message each way: a query of the API's
// largest batch, or a transcript of one, fits with room to spare.
const maxMessageSize = 256 << 20

// Target is how a caller reaches a node's API: its unix socket
// (unix:///path/to/api.sock), or host:port with the caller's client
// certificate and key and the CA that signed the node's API certificate
// (PEM files; mutual TLS).
type Target struct {
	Address       string
	Cert, Key, CA string
}

// Local reports whether the API is a unix socket, so the node runs on this
// host and sees its files.
func (t Target) Local() bool { return strings.HasPrefix(t.Address, "unix:") }

// HostPath checks a path the node is to use on its own host: absolute, or
// made absolute from this directory when the node runs on this host.
func (t Target) HostPath(path string) (string, error) {
	if filepath.IsAbs(path) {
		return path, nil
	}
	if !t.Local() {
		return "", ErrRelativePath
	}
	return filepath.Abs(path)
}

// Client is a connection to one node's API. Every call's error is an
// *Error, which says what failed in words and keeps the gRPC status.
type Client struct {
	riskmeshv1.RiskMeshClient
	conn *grpc.ClientConn
}

// Dial connects to the API. The connection is lazy: a node that is not
// running shows in the first call's error, which names the address.
func Dial(t Target) (*Client, error) {
	creds := insecure.NewCredentials()
	if !t.Local() {
		c, err := t.tlsConfig()
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(c)
	}
	conn, err := grpc.NewClient(t.Address, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(maxMessageSize), grpc.MaxCallRecvMsgSize(maxMessageSize)),
		grpc.WithChainUnaryInterceptor(explainUnary(t.Address)),
		grpc.WithChainStreamInterceptor(explainStream(t.Address)))
	if err != nil {
		return nil, fmt.Errorf("api %s: %w", t.Address, err)
	}
	return &Client{RiskMeshClient: riskmeshv1.NewRiskMeshClient(conn), conn: conn}, nil
}

func (t Target) tlsConfig() (*tls.Config, error) {
	if t.Cert == "" || t.Key == "" || t.CA == "" {
		return nil, ErrTLSFiles
	}
	pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return nil, fmt.Errorf("load client certificate: %w", err)
	}
	caPEM, err := os.ReadFile(t.CA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: no PEM certificate", t.CA)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS13}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// RunQuery runs one query and returns its result, reading past the
// stream's progress events.
func (c *Client) RunQuery(ctx context.Context, req *riskmeshv1.QueryRequest) (*riskmeshv1.QueryResult, error) {
	stream, err := c.Query(ctx, req)
	if err != nil {
		return nil, err
	}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, ErrNoResult
		}
		if err != nil {
			return nil, err
		}
		if r := ev.GetResult(); r != nil {
			return r, nil
		}
	}
}

// maxQueryPage is the largest page ListQueries is asked for.
const maxQueryPage = 1000

// Queries lists the node's stored queries that req selects, newest first,
// at most limit of them, following the pages.
func (c *Client) Queries(ctx context.Context, req *riskmeshv1.ListQueriesRequest, limit int) ([]*riskmeshv1.QuerySummary, error) {
	req.PageSize = uint32(min(limit, maxQueryPage))
	var out []*riskmeshv1.QuerySummary
	for len(out) < limit {
		page, err := c.ListQueries(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, page.GetQueries()...)
		if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	return out[:min(len(out), limit)], nil
}

// Transcripts fetches and parses the stored exchanges that entries name
// (ParseEntry), in order.
func (c *Client) Transcripts(ctx context.Context, entries []string) ([]*transcript.Transcript, error) {
	var out []*transcript.Transcript
	for _, e := range entries {
		req, err := ParseEntry(e)
		if err != nil {
			return nil, fmt.Errorf("entry %w", err)
		}
		resp, err := c.GetTranscript(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("transcript %s: %w", e, err)
		}
		t, err := transcript.Parse(resp.GetTranscript())
		if err != nil {
			return nil, fmt.Errorf("transcript %s: %w", e, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// ParseEntry reads a ledger entry as PERIOD/RESPONDER/SEQUENCE, the way
// `riskmesh ledger entries` and `riskmesh ledger reconcile` show one, into
// the request for its transcript.
func ParseEntry(s string) (*riskmeshv1.GetTranscriptRequest, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[1] == "" {
		return nil, fmt.Errorf("%q: %w", s, ErrEntry)
	}
	period, err1 := strconv.ParseUint(parts[0], 10, 64)
	seq, err2 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil || period == 0 || seq == 0 {
		return nil, fmt.Errorf("%q: %w", s, ErrEntry)
	}
	return &riskmeshv1.GetTranscriptRequest{Period: period, Responder: parts[1], Sequence: seq}, nil
}
