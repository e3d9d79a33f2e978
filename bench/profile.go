package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/riskmesh/riskmesh/node/localnet"
)

// DefaultProfileWindow is DaemonConfig.ProfileWindow's default: long
// enough for a few hundred one-identifier queries, short enough that five
// processes' traces stay within some tens of MB.
const DefaultProfileWindow = 5 * time.Second

// maxProfileWindow bounds DaemonConfig.ProfileWindow: the node's profiles
// listener refuses a window at or over its write timeout (10 minutes).
const maxProfileWindow = 5 * time.Minute

// profileFetchGrace is how long past its window a profile download may
// take: the node writes a profile once the window ends, a trace while it
// records.
const profileFetchGrace = time.Minute

// The files a profiled phase leaves per node process, in
// Profile/<phase>/<MSP id><suffix>.
const (
	cpuProfileSuffix = ".cpu.pprof" // go tool pprof FILE
	traceSuffix      = ".trace"     // go tool trace FILE
)

// profiler records a CPU profile and an execution trace of every node
// process of a network over a fixed window at the start of each phase,
// through the nodes' profiles listeners (node.yaml listen.pprof). A phase's
// length is not known before it ends, so the window is fixed and the phase
// is made to cover it: its queries go on past the count asked until every
// recording has arrived (recording.open), and the queries asked in the
// window are all in the phase's figures. The window opens as the phase
// starts, so it shows the phase's first queries, warm (the network has
// answered the catalog downloads and, but for the first phase, the phase
// before).
type profiler struct {
	dir    string
	window time.Duration
	nodes  []*localnet.Node
	client *http.Client
}

func newProfiler(dir string, window time.Duration, nodes []*localnet.Node) *profiler {
	return &profiler{dir: dir, window: window, nodes: nodes,
		client: &http.Client{Timeout: window + profileFetchGrace}}
}

// recording is one phase's downloads in flight.
type recording struct {
	done chan struct{}
	err  error // set before done closes
}

// open reports whether the phase must go on asking: its recording has not
// all arrived. A nil recording (no profiling) is never open.
func (r *recording) open() bool {
	if r == nil {
		return false
	}
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// wait returns once every download has ended, with the first failure. A
// nil recording has nothing to wait for.
func (r *recording) wait() error {
	if r == nil {
		return nil
	}
	<-r.done
	return r.err
}

// start begins phase's recording on every node, in Profile/<phase>; a
// nil profiler records nothing and returns a nil recording.
func (p *profiler) start(ctx context.Context, phase string) (*recording, error) {
	if p == nil {
		return nil, nil
	}
	dir := filepath.Join(p.dir, phase)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &recording{done: make(chan struct{})}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	secs := fmt.Sprintf("?seconds=%g", p.window.Seconds())
	for _, n := range p.nodes {
		for _, f := range []struct{ path, suffix string }{{"profile", cpuProfileSuffix}, {"trace", traceSuffix}} {
			url := "http://" + n.Pprof + "/debug/pprof/" + f.path + secs
			file := filepath.Join(dir, n.MSPID+f.suffix)
			wg.Go(func() {
				if err := p.fetch(ctx, url, file); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s of %s in phase %s: %w", f.path, n.MSPID, phase, err))
					mu.Unlock()
				}
			})
		}
	}
	go func() {
		wg.Wait()
		r.err = errors.Join(errs...)
		close(r.done)
	}()
	return r, nil
}

// fetch writes what url answers to file.
func (p *profiler) fetch(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, msg)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
