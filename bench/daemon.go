package bench

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/localnet"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Defaults of DaemonConfig's zero fields.
const (
	DefaultDaemonList       = 100_000
	DefaultDaemonQueries    = 300
	DefaultDaemonClients    = 16
	DefaultDaemonConcurrent = 2_000
	// DefaultDaemonLarge and DefaultDaemonLargeQueries are the large-batch
	// phase: issue M's "1,000-identifier queries keep >= 0.9 of the
	// in-process rate".
	DefaultDaemonLarge        = 1_000
	DefaultDaemonLargeQueries = 20
	// daemonProviders is the largest fan-out measured: the issue's
	// "3 providers".
	daemonProviders = 3
	// daemonRequester is the member that asks; it provides nothing.
	daemonRequester = "ReqMSP"
	// comparedRequester is the second requester of a comparison
	// (DaemonConfig.Compare), running the compared build.
	comparedRequester = "ReqComparedMSP"
	// daemonBatches is how many distinct one-identifier batches the
	// queries cycle through: drawing one walks every list.
	daemonBatches = 64
)

// DaemonConfig configures RunDaemon.
type DaemonConfig struct {
	// Binary is the riskmesh executable every node runs (go build
	// ./cmd/riskmesh); required.
	Binary string
	// Dir holds the network's node directories and lists; required, and it
	// must not hold a network already.
	Dir string
	// List is the entries on each provider's list. Default
	// DefaultDaemonList.
	List int
	// Queries is the one-identifier queries asked one after another, for
	// each fan-out (one provider, then every provider). Default
	// DefaultDaemonQueries.
	Queries int
	// Clients and Concurrent are the concurrent phase: Clients goroutines
	// share Concurrent one-identifier queries to every provider. Defaults
	// DefaultDaemonClients and DefaultDaemonConcurrent.
	Clients, Concurrent int
	// Large and LargeQueries are the large-batch phase: LargeQueries
	// queries of Large identifiers each, one at a time to one provider,
	// then the same batches through psi/catalogpsi in this process (the
	// reference rate). Defaults DefaultDaemonLarge and
	// DefaultDaemonLargeQueries.
	Large, LargeQueries int
	// SplitItems, if above zero, is the requester's requester.split_items:
	// its large queries go as pipelined exchanges of at least that many
	// items (docs/node-requester.md, "Pipelined exchanges"). Default 0,
	// the node's default.
	SplitItems int
	// Profile, if set, is a directory that receives, per phase and per
	// node process, a CPU profile and an execution trace of
	// ProfileWindow, from the start of the phase, which goes on asking
	// until the window has closed (profiler): Profile/<phase>/<MSP
	// id>.cpu.pprof and .trace. Every node then serves its profiles on
	// loopback (node.yaml listen.pprof). Profiling and tracing cost the
	// processes CPU, so the figures of a profiled run do not compare with
	// an unprofiled one's. Default: no profiles, listen.pprof off.
	Profile string
	// ProfileWindow is the length of each phase's profiles, at most 5
	// minutes. Default DefaultProfileWindow.
	ProfileWindow time.Duration
	// Seed selects the lists and the batches.
	Seed uint64
	// Compare, if set, is a second riskmesh executable (another build)
	// that a second requester runs in the same network, beside the first
	// and with the same configuration: the two one-at-a-time phases then
	// alternate their queries between the two requesters (compareOrder)
	// and report a point for each (PathCompared for this one), and the
	// regulator and providers run a copy of Binary (startDaemons). The
	// machine's speed drifts between runs minutes apart by more than most
	// changes move a query (docs/benchmarks.md); queries interleaved one
	// by one share it. The concurrent and large phases ask the first
	// requester only.
	Compare string
	// Tune, if set, adjusts each node's configuration before it is
	// written (localnet.Config.Tune); nil runs the nodes as shipped.
	Tune func(mspID string, c *config.Config)
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

func (c DaemonConfig) withDefaults() (DaemonConfig, error) {
	if c.Binary == "" || c.Dir == "" {
		return c, fmt.Errorf("%w: the daemon bench needs a riskmesh binary and a directory", ErrConfig)
	}
	c.List = cmp.Or(c.List, DefaultDaemonList)
	c.Queries = cmp.Or(c.Queries, DefaultDaemonQueries)
	c.Clients = cmp.Or(c.Clients, DefaultDaemonClients)
	c.Concurrent = cmp.Or(c.Concurrent, DefaultDaemonConcurrent)
	c.Large = cmp.Or(c.Large, DefaultDaemonLarge)
	c.LargeQueries = cmp.Or(c.LargeQueries, DefaultDaemonLargeQueries)
	c.ProfileWindow = cmp.Or(c.ProfileWindow, DefaultProfileWindow)
	if c.ProfileWindow < 0 || c.ProfileWindow > maxProfileWindow {
		return c, fmt.Errorf("%w: profile window %v is not within 0 and %v", ErrConfig, c.ProfileWindow, maxProfileWindow)
	}
	if c.List < 2 || c.Queries < 1 || c.Clients < 1 || c.Concurrent < c.Clients || c.Large < 2 || c.LargeQueries < 1 || c.SplitItems < 0 {
		return c, fmt.Errorf("%w: daemon bench sizes list %d, queries %d, clients %d, concurrent %d, large %d × %d, split %d",
			ErrConfig, c.List, c.Queries, c.Clients, c.Concurrent, c.LargeQueries, c.Large, c.SplitItems)
	}
	if split, tune := c.SplitItems, c.Tune; split > 0 {
		c.Tune = func(msp string, nc *config.Config) {
			if msp == daemonRequester || msp == comparedRequester {
				nc.Requester.SplitItems = split
			}
			if tune != nil {
				tune(msp, nc)
			}
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// The paths a daemon bench point's queries take.
const (
	PathDaemon    = "daemon"          // the business API of real node processes
	PathCompared  = "daemon, compare" // the same, through the requester running DaemonConfig.Compare
	PathInProcess = "in process"      // psi/catalogpsi alone, the reference
)

// DaemonPoint is one phase of the daemon bench.
type DaemonPoint struct {
	Path        string // PathDaemon or PathInProcess
	Providers   int    // providers each query asks
	Clients     int    // queries in flight at once
	Queries     int
	Identifiers int // per query
	// Seconds is the phase's wall time; P50 and P90 are the queries' wall
	// times from the Query call to the final result.
	Seconds  float64
	P50, P90 time.Duration
	// Delta, on a PathCompared point, is its P50 less the first
	// requester's in the same phase, and DeltaLow and DeltaHigh a 95 %
	// interval of that difference (p50Delta).
	Delta, DeltaLow, DeltaHigh time.Duration
	// CPUSeconds is the CPU time of every node process over the phase
	// (PathDaemon) or of this process (PathInProcess); LedgerCPUSeconds
	// the regulator's alone (it hosts the embedded ledger that every
	// relayed accounting entry reaches).
	CPUSeconds, LedgerCPUSeconds float64
	// Load is the load average at the phase's start.
	Load string
	// Build names the executable that answered: the first 12 hex digits
	// of the SHA-256 of the riskmesh binary the asking requester ran
	// (PathDaemon, PathCompared), or of this process's (PathInProcess).
	// Binaries built here carry no VCS stamp (docs/benchmarks.md).
	Build string
}

// QueriesPerSecond is the phase's throughput.
func (p *DaemonPoint) QueriesPerSecond() float64 { return perSecond(p.Queries, p.Seconds) }

// IdentifiersPerSecond is the phase's throughput in identifiers.
func (p *DaemonPoint) IdentifiersPerSecond() float64 {
	return perSecond(p.Queries*p.Identifiers, p.Seconds)
}

// RunDaemon measures one-identifier queries through the daemon as users run
// it: the regulator hosting the embedded ledger, daemonProviders providers
// and one requester, each a `riskmesh node` process started from its
// node.yaml by node/localnet, the queries sent through the requester's
// business API (gRPC on its unix socket), so the dispatcher, metrics,
// outboxes and ledger relay all run. It asks cfg.Queries queries one at a
// time of one provider, then of every provider, then cfg.Concurrent of
// every provider from cfg.Clients clients at once. Every answer is
// checked against the planted hits before it counts. Last comes the
// large-batch phase: cfg.LargeQueries queries of cfg.Large identifiers to
// one provider, each followed by the same batch through psi/catalogpsi in
// this process (measureLarge), so the two rates compare in one run.
func RunDaemon(ctx context.Context, cfg DaemonConfig) (_ Machine, points []DaemonPoint, err error) {
	if cfg, err = cfg.withDefaults(); err != nil {
		return Machine{}, nil, err
	}
	m := DetectMachine(ctx, ".")
	builds := map[string]string{PathDaemon: cfg.Binary, PathCompared: cfg.Compare}
	if builds[PathInProcess], err = os.Executable(); err != nil {
		return m, nil, fmt.Errorf("this executable: %w", err)
	}
	for path, binary := range builds {
		if binary == "" {
			continue
		}
		if builds[path], err = executableID(binary); err != nil {
			return m, nil, err
		}
	}
	defer func() {
		for i := range points {
			points[i].Build = builds[points[i].Path]
		}
	}()
	w, err := newWorkload(cfg.Seed, daemonProviders, cfg.List)
	if err != nil {
		return m, nil, err
	}
	batches := make([]*synth.Batch, daemonBatches)
	for i := range batches {
		if batches[i], _, err = w.oneIdentifier(i); err != nil {
			return m, nil, err
		}
	}
	large := make([]*synth.Batch, min(cfg.LargeQueries, daemonBatches))
	for i := range large {
		if large[i], _, err = w.batch(cfg.Large, i); err != nil {
			return m, nil, err
		}
	}
	net, err := startDaemons(ctx, cfg, w)
	if err != nil {
		return m, nil, err
	}
	defer net.Stop()
	api, err := net.Client(daemonRequester)
	if err != nil {
		return m, nil, err
	}
	var prof *profiler
	if cfg.Profile != "" {
		prof = newProfiler(cfg.Profile, cfg.ProfileWindow, net.Nodes())
	}
	var compared riskmeshv1.RiskMeshClient
	if cfg.Compare != "" {
		if compared, err = net.Client(comparedRequester); err != nil {
			return m, nil, err
		}
	}
	for _, phase := range []struct {
		providers, clients, queries int
	}{
		{1, 1, cfg.Queries}, {daemonProviders, 1, cfg.Queries}, {daemonProviders, cfg.Clients, cfg.Concurrent},
	} {
		cfg.Logger.Info("daemon bench phase", "providers", phase.providers, "clients", phase.clients,
			"queries", phase.queries, "identifiers", 1)
		rec, err := prof.start(ctx, fmt.Sprintf("%d-providers-%d-clients", phase.providers, phase.clients))
		if err != nil {
			return m, points, err
		}
		var ps []DaemonPoint
		if phase.clients == 1 && compared != nil {
			ps, err = measureCompared(ctx, net, [2]riskmeshv1.RiskMeshClient{api, compared}, batches, phase.providers, phase.queries, rec)
		} else {
			var p DaemonPoint
			p, err = measureDaemons(ctx, net, api, batches, phase.providers, phase.clients, phase.queries, rec)
			ps = []DaemonPoint{p}
		}
		if err := errors.Join(err, rec.wait()); err != nil {
			return m, points, err
		}
		points = append(points, ps...)
	}
	cfg.Logger.Info("daemon bench large phase", "queries", cfg.LargeQueries, "identifiers", cfg.Large)
	daemon, inProcess, err := measureLarge(ctx, net, api, w, large, cfg.LargeQueries, prof)
	if err != nil {
		return m, points, err
	}
	return m, append(points, daemon, inProcess), net.Stop()
}

// measureLarge runs the large-batch phase: queries of the batches (round
// robin) to the first provider, each asked through the daemon and then,
// the same batch, through psi/catalogpsi in this process (as
// catalogInProcess does for the harness's in-process rows; building that
// catalog is not measured). The two paths alternate query by query, so
// that other work on the machine weighs on both alike and their ratio
// holds at any load; the nodes sit idle, running, while this process
// answers its own. Each point's Seconds is the sum of its queries' walls
// and its CPU the CPU over them: every node process's for the daemon's,
// this process's for the in-process path's. With prof, the phase's
// profiles start once the in-process catalog is built, and the pairs go
// on until they have arrived.
func measureLarge(ctx context.Context, net *localnet.Network, api riskmeshv1.RiskMeshClient, w *workload,
	batches []*synth.Batch, queries int, prof *profiler) (daemon, inProcess DaemonPoint, err error) {
	one := *w
	one.lists = w.lists[:1]
	sys, _, err := newCatalogInProcess(ctx, &one)
	if err != nil {
		return daemon, inProcess, err
	}
	rec, err := prof.start(ctx, fmt.Sprintf("large-%d", len(batches[0].Items)))
	if err != nil {
		return daemon, inProcess, err
	}
	defer func() { err = errors.Join(err, rec.wait()) }()
	load := readFirst("/proc/loadavg", loadAverage)
	daemon = DaemonPoint{Path: PathDaemon, Providers: 1, Clients: 1, Queries: queries, Identifiers: len(batches[0].Items), Load: load}
	inProcess = daemon
	inProcess.Path = PathInProcess
	pids := nodePIDs(net)
	regulator := []int{net.Regulator().PID()}
	asked := firstProviders(1)
	daemonWalls, inProcessWalls := make([]time.Duration, 0, queries), make([]time.Duration, 0, queries)
	for i := 0; i < queries || rec.open(); i++ {
		b := batches[i%len(batches)]
		cpu, ledger, start := nodesCPU(pids), nodesCPU(regulator), time.Now()
		if err := askDaemon(ctx, api, b, asked); err != nil {
			return daemon, inProcess, err
		}
		daemonWalls = append(daemonWalls, time.Since(start))
		daemon.CPUSeconds += nodesCPU(pids) - cpu
		daemon.LedgerCPUSeconds += nodesCPU(regulator) - ledger

		cpu, start = processCPU(), time.Now()
		if _, err := sys.query(ctx, b, 0); err != nil {
			return daemon, inProcess, err
		}
		inProcessWalls = append(inProcessWalls, time.Since(start))
		inProcess.CPUSeconds += processCPU() - cpu
	}
	daemon.Queries, inProcess.Queries = len(daemonWalls), len(inProcessWalls)
	for _, x := range []struct {
		p     *DaemonPoint
		walls []time.Duration
	}{{&daemon, daemonWalls}, {&inProcess, inProcessWalls}} {
		for _, d := range x.walls {
			x.p.Seconds += d.Seconds()
		}
		x.p.P50, x.p.P90 = percentiles(x.walls)
	}
	return daemon, inProcess, nil
}

// percentiles returns the median and the 90th percentile of walls, which
// it sorts.
func percentiles(walls []time.Duration) (p50, p90 time.Duration) {
	slices.Sort(walls)
	return walls[len(walls)/2], walls[len(walls)*9/10]
}

// oneIdentifier draws batch number rep of one identifier: listed by some
// provider for even rep, on no list for odd.
func (w *workload) oneIdentifier(rep int) (*synth.Batch, int, error) {
	b, err := w.cons.Batch(synth.BatchConfig{Seed: w.seed*1000 + uint64(rep), Category: category, Size: 1, Hits: (rep + 1) % 2})
	if err != nil {
		return nil, 0, fmt.Errorf("draw a one-identifier batch: %w", err)
	}
	return b, len(b.Items[0].Hits), nil
}

// startDaemons starts the daemon bench's network (startNetwork) with the
// nodes as shipped, cfg.Tune and cfg.Profile's profiles listeners aside.
//
// With cfg.Compare, the regulator and the providers run a copy of
// cfg.Binary, the first requester cfg.Binary itself: processes that run
// one executable file share its code's pages, and so the caches' lines of
// it, and a requester whose code the providers ran too came out faster
// than one on an identical copy, by 0.2 ms of a 3 ms query
// (docs/benchmarks.md, "Side by side in one network"). Neither requester
// shares with them now.
func startDaemons(ctx context.Context, cfg DaemonConfig, w *workload) (*localnet.Network, error) {
	nc := networkConfig{binary: cfg.Binary, dir: cfg.Dir, tune: cfg.Tune, pprof: cfg.Profile != "", log: cfg.Logger}
	if cfg.Compare != "" {
		others := filepath.Join(cfg.Dir, "riskmesh-others")
		if err := copyExecutable(cfg.Binary, others); err != nil {
			return nil, err
		}
		nc.binary, nc.requester, nc.compare = others, cfg.Binary, cfg.Compare
	}
	d, err := startNetwork(ctx, nc, w)
	if err != nil {
		return nil, err
	}
	return d.Network, nil
}

// copyExecutable copies the executable at from to a new file to.
func copyExecutable(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("copy the riskmesh executable: %w", err)
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return fmt.Errorf("copy the riskmesh executable: %w", err)
	}
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
	if err != nil {
		return fmt.Errorf("copy the riskmesh executable: %w", err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("copy the riskmesh executable to %s: %w", to, err)
	}
	return dst.Close()
}

// measureDaemons runs one one-identifier phase: queries queries of the
// batches (round robin) to the first providers providers, clients at a
// time, and more while rec is open.
func measureDaemons(ctx context.Context, net *localnet.Network, api riskmeshv1.RiskMeshClient, batches []*synth.Batch,
	providers, clients, queries int, rec *recording) (DaemonPoint, error) {
	p := DaemonPoint{Path: PathDaemon, Providers: providers, Clients: clients, Queries: queries,
		Identifiers: len(batches[0].Items), Load: readFirst("/proc/loadavg", loadAverage)}
	asked := firstProviders(providers)
	pids := nodePIDs(net)
	regulator := net.Regulator().PID()
	cpu0, ledger0 := nodesCPU(pids), nodesCPU([]int{regulator})
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next  atomic.Int64
		mu    sync.Mutex
		walls = make([]time.Duration, 0, queries)
		wg    sync.WaitGroup
	)
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; (i < queries || rec.open()) && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				b := batches[i%len(batches)]
				t := time.Now()
				if err := askDaemon(ctx, api, b, asked); err != nil {
					cancel(err)
					return
				}
				d := time.Since(t)
				mu.Lock()
				walls = append(walls, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	p.Seconds = time.Since(start).Seconds()
	if err := context.Cause(ctx); err != nil {
		return p, err
	}
	p.CPUSeconds, p.LedgerCPUSeconds = nodesCPU(pids)-cpu0, nodesCPU([]int{regulator})-ledger0
	p.Queries = len(walls)
	p.P50, p.P90 = percentiles(walls)
	return p, nil
}

// compareOrder is the order in which measureCompared's requesters ask (0
// the first, 1 the compared): A B B A, then B A A B. Within A B B A alone
// the requester that opens it came out faster than the other with the same
// build on both (docs/benchmarks.md, "Side by side in one network"); here
// each opens half of them.
var compareOrder = [8]int{0, 1, 1, 0, 1, 0, 0, 1}

// measureCompared asks queries one-identifier queries, one at a time, of
// the first providers through each of two requesters' business APIs in
// turn (apis: the first requester's, then the compared one's), in the
// order compareOrder, so that both meet the same load, and returns a point for
// each (PathDaemon, PathCompared). Every node process's CPU over a query
// counts to the requester that asked it; the wall of the phase is the sum
// of each requester's queries' walls.
func measureCompared(ctx context.Context, net *localnet.Network, apis [2]riskmeshv1.RiskMeshClient, batches []*synth.Batch,
	providers, queries int, rec *recording) ([]DaemonPoint, error) {
	load := readFirst("/proc/loadavg", loadAverage)
	asked := firstProviders(providers)
	pids := nodePIDs(net)
	regulator := []int{net.Regulator().PID()}
	points := make([]DaemonPoint, 2)
	for i, path := range []string{PathDaemon, PathCompared} {
		points[i] = DaemonPoint{Path: path, Providers: providers, Clients: 1, Identifiers: len(batches[0].Items), Load: load}
	}
	// pairs holds, per two queries in a row (one of each requester), the
	// first requester's wall and the compared one's; a pair is always
	// completed.
	var pairs [][2]time.Duration
	for i := 0; i < 2*queries || rec.open() || i%2 == 1; i++ {
		which := compareOrder[i%len(compareOrder)]
		// Each query its own batch: hits (even batches) and misses come
		// to both requesters alike over each cycle of compareOrder.
		b := batches[i%len(batches)]
		cpu, ledger, start := nodesCPU(pids), nodesCPU(regulator), time.Now()
		if err := askDaemon(ctx, apis[which], b, asked); err != nil {
			return nil, err
		}
		d := time.Since(start)
		p := &points[which]
		p.Seconds += d.Seconds()
		p.CPUSeconds += nodesCPU(pids) - cpu
		p.LedgerCPUSeconds += nodesCPU(regulator) - ledger
		if i%2 == 0 {
			pairs = append(pairs, [2]time.Duration{})
		}
		pairs[len(pairs)-1][which] = d
	}
	for which := range points {
		walls := make([]time.Duration, len(pairs))
		for k, p := range pairs {
			walls[k] = p[which]
		}
		points[which].Queries = len(walls)
		points[which].P50, points[which].P90 = percentiles(walls)
	}
	points[1].Delta, points[1].DeltaLow, points[1].DeltaHigh = p50Delta(pairs)
	return points, nil
}

// compareResamples is how many resamples p50Delta's interval is drawn
// from.
const compareResamples = 2000

// p50Delta returns the median of the second walls of pairs less the
// median of the first, and a 95 % interval of that difference: its 2.5th
// and 97.5th percentiles over compareResamples resamples of the pairs,
// drawn with replacement, a pair kept whole (its two queries ran one
// after the other, under the same load). The draws are seeded: the same
// walls give the same interval.
func p50Delta(pairs [][2]time.Duration) (delta, low, high time.Duration) {
	n := len(pairs)
	if n == 0 {
		return 0, 0, 0
	}
	first, second := make([]time.Duration, n), make([]time.Duration, n)
	diff := func(pick func(int) int) time.Duration {
		for i := range n {
			p := pairs[pick(i)]
			first[i], second[i] = p[0], p[1]
		}
		slices.Sort(first)
		slices.Sort(second)
		return second[n/2] - first[n/2]
	}
	delta = diff(func(i int) int { return i })
	rng := rand.New(rand.NewPCG(1, 2))
	draws := make([]time.Duration, compareResamples)
	for k := range draws {
		draws[k] = diff(func(int) int { return rng.IntN(n) })
	}
	slices.Sort(draws)
	return delta, draws[len(draws)*25/1000], draws[len(draws)*975/1000]
}

// executableID is the first 12 hex digits of the SHA-256 of the file at
// path: which build a row was measured on.
func executableID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("executable: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("executable %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// firstProviders names the first n providers, those a phase of n asks.
func firstProviders(n int) []string {
	asked := make([]string, n)
	for i := range asked {
		asked[i] = providerMSP(i)
	}
	return asked
}

// askDaemon sends b to the providers named in asked through the business
// API and checks the final result against b's planted hits (askChecked).
func askDaemon(ctx context.Context, api riskmeshv1.RiskMeshClient, b *synth.Batch, asked []string) error {
	req := b.Request()
	req.Providers = asked
	_, err := askChecked(ctx, api, b, req)
	return err
}

// clockTicks is the unit of /proc/<pid>/stat's CPU times: USER_HZ, 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// nodesCPU returns the CPU time, user and system in seconds, that the
// processes pids have used so far; a process that cannot be read counts 0
// (outside Linux, every one).
func nodesCPU(pids []int) float64 {
	total := 0.0
	for _, pid := range pids {
		f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			continue
		}
		total += statCPU(f)
		f.Close()
	}
	return total
}

// statCPU parses a /proc/<pid>/stat line: utime and stime are the 14th
// and 15th fields, counted after the command name, which may hold spaces
// and parentheses and ends at the last ')'.
func statCPU(r io.Reader) float64 {
	b, err := io.ReadAll(io.LimitReader(r, maxSystemFile))
	if err != nil {
		return 0
	}
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return 0
	}
	user, err1 := strconv.ParseUint(f[11], 10, 64)
	sys, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return float64(user+sys) / clockTicks
}

// WriteDaemonTable writes the points as a Markdown table.
func WriteDaemonTable(w io.Writer, m Machine, points []DaemonPoint) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %d cores, GOMAXPROCS %d, %s, commit %s, %s\n\n", m.CPU, m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.Commit, m.Date)
	b.WriteString("| path | build (SHA-256) | providers | clients | identifiers | queries | p50 (ms) | p90 (ms) | p50 − first's (ms, 95 %) | queries/s | identifiers/s | CPU per query (ms) | ledger host CPU per query (ms) | load |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range points {
		ledger := "—" // no ledger in process
		if p.Path != PathInProcess {
			ledger = fmt.Sprintf("%.2f", 1000*p.LedgerCPUSeconds/float64(p.Queries))
		}
		delta := "—" // only a compared requester's
		if p.Path == PathCompared {
			delta = fmt.Sprintf("%+.2f (%+.2f to %+.2f)", ms(p.Delta), ms(p.DeltaLow), ms(p.DeltaHigh))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %.2f | %.2f | %s | %.0f | %.0f | %.2f | %s | %s |\n", p.Path, cmp.Or(p.Build, "—"), p.Providers, p.Clients,
			p.Identifiers, p.Queries, ms(p.P50), ms(p.P90), delta, p.QueriesPerSecond(), p.IdentifiersPerSecond(),
			1000*p.CPUSeconds/float64(p.Queries), ledger, p.Load)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
