package metrics

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/trace"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// traceMagic begins every execution trace: "go 1.NN trace" padded with zero
// bytes.
const traceMagic = "go 1."

func TestProfileHandler(t *testing.T) {
	srv := httptest.NewServer(ProfileHandler())
	defer srv.Close()
	tests := []struct {
		name, path string
		status     int
		want       string // a prefix of the body, or "" for none
	}{
		{"index", "/debug/pprof/", http.StatusOK, ""},
		{"goroutines", "/debug/pprof/goroutine?debug=1", http.StatusOK, "goroutine profile:"},
		{"heap", "/debug/pprof/heap?debug=1", http.StatusOK, "heap profile:"},
		{"execution trace", "/debug/pprof/trace?seconds=0.05", http.StatusOK, traceMagic},
		{"cpu profile", "/debug/pprof/profile?seconds=1", http.StatusOK, "\x1f\x8b"}, // gzip
		{"symbol", "/debug/pprof/symbol", http.StatusOK, "num_symbols:"},
		{"command line left out", "/debug/pprof/cmdline", http.StatusNotFound, ""},
		{"unknown profile", "/debug/pprof/secrets", http.StatusNotFound, ""},
		{"outside the prefix", "/metrics", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, srv.URL+tt.path)
			if status != tt.status || !bytes.HasPrefix(body, []byte(tt.want)) {
				t.Errorf("GET %s: %d %.40q, want %d and a body starting %q", tt.path, status, body, tt.status, tt.want)
			}
		})
	}
	if _, body := get(t, srv.URL+"/debug/pprof/"); !strings.Contains(string(body), "goroutine") {
		t.Errorf("the index lists no goroutine profile:\n%s", body)
	}
}

// Profiles are served only by ProfileHandler, on listen.pprof: the metrics
// listener, which may face a monitoring network, has none.
func TestMetricsHandlerServesNoProfiles(t *testing.T) {
	srv := httptest.NewServer(New(Options{}).Handler())
	defer srv.Close()
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/profile?seconds=1", "/debug/pprof/trace"} {
		if status, _ := get(t, srv.URL+path); status != http.StatusNotFound {
			t.Errorf("GET %s on the metrics handler: %d, want 404", path, status)
		}
	}
}

// The instrumented seams mark a query, a request to a provider and a
// request served in an execution trace, by their fixed names.
func TestInstrumentMarksTrace(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("tracing already on: %v", err)
	}
	m := New(Options{})
	req := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Evaluate{Evaluate: &riskmeshv1.EvaluateRequest{}}}
	do := m.InstrumentDo(func(context.Context, *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
		return &riskmeshv1.PeerResponse{}, nil
	})
	query := m.InstrumentQuery(func(ctx context.Context, _ *riskmeshv1.QueryRequest, _ func(*riskmeshv1.QueryEvent) error) error {
		_, err := do(ctx, req)
		return err
	})
	if err := query(context.Background(), &riskmeshv1.QueryRequest{}, func(*riskmeshv1.QueryEvent) error { return nil }); err != nil {
		t.Fatal(err)
	}
	m.InstrumentHandler(func(context.Context, peer.Identity, *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		return &riskmeshv1.PeerResponse{}
	})(context.Background(), peer.Identity{}, req)
	trace.Stop()
	for _, name := range []string{"query", "request evaluate", "serve evaluate"} {
		if !bytes.Contains(buf.Bytes(), []byte(name)) {
			t.Errorf("the trace does not name %q", name)
		}
	}
}
