package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// inspected answers the read-only API methods as a node would; the
// embedded interface is nil, so a method the commands should not call
// panics the server instead of passing silently.
type inspected struct {
	api.Requester
	mu     sync.Mutex // the server calls it on its own goroutines
	tokens []string   // page tokens ListQueries was asked for
	asked  *riskmeshv1.GetTranscriptRequest
}

func (f *inspected) ListQueries(_ context.Context, req *riskmeshv1.ListQueriesRequest) (*riskmeshv1.ListQueriesResponse, error) {
	f.mu.Lock()
	f.tokens = append(f.tokens, req.GetPageToken())
	f.mu.Unlock()
	page := &riskmeshv1.ListQueriesResponse{}
	for i := range 2 {
		page.Queries = append(page.Queries, &riskmeshv1.QuerySummary{
			QueryId: fmt.Sprintf("q-%s%d", req.GetPageToken(), i), State: riskmeshv1.QueryState_QUERY_STATE_COMPLETE,
			Category: req.GetCategory(), Period: 7, Identifiers: 10, HitIdentifiers: 2, Amount: 30,
		})
	}
	if req.GetPageToken() == "" {
		page.NextPageToken = "p2-"
	}
	return page, nil
}

func (f *inspected) Providers(context.Context, *riskmeshv1.ProvidersRequest) (*riskmeshv1.ProvidersResponse, error) {
	return &riskmeshv1.ProvidersResponse{Period: 7, Prices: map[string]int64{"black": 3},
		Providers: []*riskmeshv1.ProviderInfo{{MspId: "Bank2MSP", Active: true, Reachable: false, Categories: []string{"black"}, Endpoint: "10.0.0.2:7400"}}}, nil
}

func (f *inspected) Balance(context.Context) (*riskmeshv1.BalanceResponse, error) {
	return &riskmeshv1.BalanceResponse{MspId: "Bank1MSP", Balance: -40, OverdraftLimit: 100, Flagged: true, Period: 7, UnsettledSpend: 90, Headroom: -30}, nil
}

func (f *inspected) RemoteCatalogs() []*riskmeshv1.RemoteCatalog {
	return []*riskmeshv1.RemoteCatalog{{Provider: "Bank2MSP", Category: "black", Period: 7,
		State: riskmeshv1.CatalogState_CATALOG_STATE_READY, Digest: bytes.Repeat([]byte{0xab}, 32), Items: 1000, BytesDone: 50, TotalLength: 100}}
}

func (f *inspected) GetTranscript(_ context.Context, req *riskmeshv1.GetTranscriptRequest) (*riskmeshv1.GetTranscriptResponse, error) {
	f.mu.Lock()
	f.asked = req
	f.mu.Unlock()
	return &riskmeshv1.GetTranscriptResponse{Transcript: []byte("RMTX-bytes")}, nil
}

// TestInspectCommands: each read-only view of the API has a command whose
// output carries what the method returned.
func TestInspectCommands(t *testing.T) {
	f := &inspected{}
	target := serveAPI(t, api.Config{Requester: f, Catalogs: f})
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"query", "list", "--category", "black", "--limit", "3"},
			[]string{"q-0  ", "q-1  ", "q-p2-0", "complete", "black", "7"}},
		{[]string{"node", "providers"},
			[]string{"period 7", "price black: 3 tokens per item", "Bank2MSP", "10.0.0.2:7400"}},
		{[]string{"node", "catalogs"},
			[]string{"downloaded", "Bank2MSP", "ready", "1000", "50%", "abababababababab"}},
		{[]string{"node", "balance"},
			[]string{"balance            -40", "headroom           -30", "flagged: past the overdraft limit"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
			out, err := runRoot(t, append(tt.args, "--api", target)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	f.mu.Lock()
	got := strings.Join(f.tokens, ",")
	f.mu.Unlock()
	if got != ",p2-" {
		t.Errorf("ListQueries page tokens %q, want the first page then p2-", got)
	}
	out, _ := runRoot(t, "query", "list", "--limit", "3", "--api", target)
	if strings.Contains(out, "q-p2-1") {
		t.Errorf("--limit 3 printed a fourth query:\n%s", out)
	}
}

// TestNodeTranscript writes the exchange an entry names to a new file and
// refuses to replace one or to guess a malformed entry.
func TestNodeTranscript(t *testing.T) {
	f := &inspected{}
	target := serveAPI(t, api.Config{Requester: f})
	path := filepath.Join(t.TempDir(), "t.rmtx")
	if out, err := runRoot(t, "node", "transcript", "--api", target, "--entry", "3/Bank2MSP/17", "--out", path); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "RMTX-bytes" {
		t.Fatalf("file %q, %v", b, err)
	}
	f.mu.Lock()
	a := f.asked
	f.mu.Unlock()
	if a.GetPeriod() != 3 || a.GetResponder() != "Bank2MSP" || a.GetSequence() != 17 {
		t.Errorf("asked for %v", a)
	}
	if _, err := runRoot(t, "node", "transcript", "--api", target, "--entry", "3/Bank2MSP/17", "--out", path); err == nil {
		t.Error("an existing file was replaced")
	}
	for _, bad := range []string{"3/Bank2MSP", "0/Bank2MSP/1", "3//1", "x/Bank2MSP/1"} {
		if _, err := runRoot(t, "node", "transcript", "--api", target, "--entry", bad, "--out", path+"2"); err == nil {
			t.Errorf("--entry %q accepted", bad)
		}
	}
}

// TestNodeHealth prints each component and fails unless the node serves.
func TestNodeHealth(t *testing.T) {
	var current atomic.Int32 // the server reads it on its own goroutine
	current.Store(int32(riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING))
	health := func(context.Context) *riskmeshv1.HealthResponse {
		status := riskmeshv1.HealthStatus(current.Load())
		return &riskmeshv1.HealthResponse{Status: status, MspId: "Bank1MSP", Period: 7, OutboxDepth: 4,
			Components: []*riskmeshv1.ComponentHealth{{Name: "ledger", Status: status, Message: "unreachable\x1b[2J"}}}
	}
	target := serveAPI(t, api.Config{Health: health})
	out, err := runRoot(t, "node", "health", "--api", target)
	if err != nil || !strings.Contains(out, "Bank1MSP") || !strings.Contains(out, "4 accounting entries") || !strings.Contains(out, "ledger") {
		t.Fatalf("serving node: %v\n%s", err, out)
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("a component's message reached the terminal raw:\n%q", out)
	}
	current.Store(int32(riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED))
	if out, err := runRoot(t, "node", "health", "--api", target); err == nil || !strings.Contains(out, "degraded") {
		t.Errorf("degraded node: %v\n%s", err, out)
	}
}
