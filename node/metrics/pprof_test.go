package metrics

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestContentionSampledOverAWindow: with goroutines contending for a
// mutex, the block and mutex profiles record nothing until a window is
// asked for; a window of one second comes back as a profile, the
// runtime's profiles then count what it sampled, and once it closes they
// record nothing more.
func TestContentionSampledOverAWindow(t *testing.T) {
	srv := httptest.NewServer(ProfileHandler())
	defer srv.Close()
	stop := make(chan struct{})
	// Two goroutines take turns at a lock, each holding it 2 ms: the other
	// waits longer than a millisecond, which puts sync.Mutex in its
	// starvation mode, where every unlock hands the lock to the waiter, a
	// contention event for both profiles (about 450 a second here; with
	// shorter holds the waiter mostly spins or barges in, and the runtime
	// records few).
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				time.Sleep(2 * time.Millisecond)
				mu.Unlock()
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()
	// events sums the event counts of a profile's records so far (the
	// second field of each "cycles count @ stack" line of debug=1).
	events := func(name string) int {
		t.Helper()
		status, body := get(t, srv.URL+"/debug/pprof/"+name+"?debug=1")
		if status != http.StatusOK {
			t.Fatalf("%s profile: status %d", name, status)
		}
		n := 0
		for line := range strings.Lines(string(body)) {
			var cycles, count int
			if _, err := fmt.Sscanf(line, "%d %d @", &cycles, &count); err == nil {
				n += count
			}
		}
		return n
	}
	idle := func(when string) {
		t.Helper()
		m, b := events("mutex"), events("block")
		time.Sleep(200 * time.Millisecond)
		if m2, b2 := events("mutex"), events("block"); m2 != m || b2 != b {
			t.Fatalf("%s: %d mutex and %d block events sampled without a window, want none", when, m2-m, b2-b)
		}
	}
	idle("before any window")
	for _, name := range []string{"mutex", "block"} {
		before := events(name)
		status, body := get(t, srv.URL+"/debug/pprof/"+name+"?seconds=1")
		if status != http.StatusOK || !bytes.HasPrefix(body, []byte("\x1f\x8b")) {
			t.Fatalf("%s over a window: status %d, %d bytes, want a gzipped profile", name, status, len(body))
		}
		if after := events(name); after <= before {
			t.Fatalf("%s: %d events sampled over a window of contention, want some", name, after-before)
		}
	}
	if f := runtime.SetMutexProfileFraction(-1); f != 0 {
		t.Fatalf("mutex sampling fraction %d after the windows, want 0 (off)", f)
	}
	idle("after the windows")
}
