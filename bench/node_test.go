package bench

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// testNode is the riskmesh executable the tests' nodes run, built once by
// the first test that needs it and removed by TestMain.
var testNode struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testNode.dir != "" {
		os.RemoveAll(testNode.dir)
	}
	os.Exit(code)
}

// testNodeBinary builds the riskmesh executable on its first call.
func testNodeBinary(t *testing.T) string {
	t.Helper()
	testNode.once.Do(func() {
		if testNode.dir, testNode.err = os.MkdirTemp("", "rmb-bin-"); testNode.err == nil {
			testNode.path, testNode.err = buildNode(context.Background(), testNode.dir)
		}
	})
	if testNode.err != nil {
		t.Fatal(testNode.err)
	}
	return testNode.path
}

// shortTempDir is a temporary directory with a short path: the nodes' API
// sockets under it must fit a unix socket address (108 bytes), which a
// test's t.TempDir, named after the test, may not leave room for.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rmb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// A quic-node row runs real node processes: the query finds exactly the
// planted hits, the nodes' CPU time over it is spent and no more than the
// machine's cores could give in its wall time, and the relays saw at
// least the blinded elements go up and the evaluated ones come down
// (32 bytes each), and not wildly more.
func TestNodeRowsRunTheDaemons(t *testing.T) {
	const list, batch = 3000, 1000
	w, err := newWorkload(7, 2, list)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, cost, err := newCatalogNodes(ctx, w, testNodeBinary(t), shortTempDir(t), slog.New(slog.NewTextHandler(testWriter{t}, nil)), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.close(); err != nil {
			t.Error(err)
		}
	}()
	if cost.phase != PhaseSetup || cost.items < 2*list*9/10 || cost.seconds <= 0 || cost.cpu <= 0 {
		t.Errorf("setup cost %+v", cost)
	}
	b, want, err := w.batch(batch, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.query(ctx, b, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("setup %+v; query %+v", cost, m)
	if m.hits != want || want == 0 {
		t.Errorf("%d hits, %d planted", m.hits, want)
	}
	// Each process's CPU time is counted in ticks of 10 ms.
	slack := 0.01 * float64(len(s.procs))
	if m.cpu <= 0 || m.cpu > m.seconds*float64(runtime.NumCPU())+slack {
		t.Errorf("%g s of CPU over %g s on %d cores", m.cpu, m.seconds, runtime.NumCPU())
	}
	const element = 32
	items := int64(batch * len(w.lists))
	if m.bytesUp < element*items || m.bytesUp > 4*element*items+1<<20 {
		t.Errorf("%d bytes up for %d items", m.bytesUp, items)
	}
	if m.bytesDown < element*items || m.bytesDown > 4*element*items+1<<20 {
		t.Errorf("%d bytes down for %d items", m.bytesDown, items)
	}
}

// A network whose set-up fails (here its context is already cancelled)
// returns that error, having stopped what it started and removed its
// directory, rather than panicking in its clean-up.
func TestNodeSetupFailureCleansUp(t *testing.T) {
	w, err := newWorkload(1, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	tmp := shortTempDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, _, err := newCatalogNodes(ctx, w, testNodeBinary(t), tmp, slog.New(slog.DiscardHandler), nil, false)
	if err == nil || s != nil {
		t.Fatalf("set-up under a cancelled context: %v, %v; want an error and no system", s, err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("%d entries left in the set-up directory, want none", len(left))
	}
}
