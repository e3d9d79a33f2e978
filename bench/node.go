package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/mirror"
	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/node/requester"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// Settings of the benchmark network.
const (
	// price is the consortium price per item; the requester's overdraft
	// limit is far beyond what a run spends.
	price = 1
	limit = 1 << 50
	// registryRefresh is how often the nodes' registry cache re-reads the
	// ledger, so that a published catalog is seen at once.
	registryRefresh = 100 * time.Millisecond
	// readyTimeout bounds the wait for every catalog to be published and
	// downloaded: a 10^7-entry catalog build takes minutes on 2 cores.
	readyTimeout = 30 * time.Minute
)

// catalogNodes is catalog PSI through the real node stack on loopback: an
// embedded ledger, one node/provider per provider behind a node/peer
// listener, and one node/requester that downloads every catalog and fans
// each query out over QUIC with mutual TLS. Queries go through the
// requester's whole path (normalisation, sequence reservation, signed
// transcripts, proof verification) and each provider's (signature checks,
// replay index, transcript and accounting entry fsynced before answering).
type catalogNodes struct {
	store     *accounting.EmbeddedStore
	requester *requester.Requester
	catalogs  *mirror.Mirror // the requester's catalog mirror
	nodes     []*provider.Provider
	providers int
	// link, if set, is emulated between the requester and every provider:
	// the registry lists a relay's address as the provider's endpoint.
	link *WAN
	// live: the providers serve the category live too and every query
	// asks in live mode (ProtocolLive).
	live bool
	// up and down count the peer requests' and responses' bytes.
	up, down atomic.Int64

	cancel context.CancelFunc
	wg     sync.WaitGroup // the nodes' and the registry's loops
	// stops are the servers and the requester, files the databases, the
	// ledger and the directory, each closed in reverse order of opening.
	stops, files []func() error
}

// institution is a node's keys and ledger client.
type institution struct {
	msp     string
	cert    tls.Certificate
	sign    ecsig.Sign
	signPub []byte
	ledger  *accounting.Embedded
}

func newInstitution(store *accounting.EmbeddedStore, msp string) (*institution, error) {
	cert, err := selfsigned.New(msp, nil, nil, time.Now())
	if err != nil {
		return nil, err
	}
	key, pub, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	l, err := store.As(msp)
	if err != nil {
		return nil, err
	}
	return &institution{msp: msp, cert: cert, sign: ecsig.NewSigner(key, rand.Reader), signPub: pub, ledger: l}, nil
}

// profile registers the institution's keys and endpoint on the ledger.
func (in *institution) profile(ctx context.Context, endpoint string) error {
	fp := peer.FingerprintOf(in.cert.Certificate[0])
	return in.ledger.UpdateProfile(ctx, accounting.Profile{Endpoint: endpoint, TLSFingerprint: fp[:], SigningKey: in.signPub})
}

// newCatalogNodes starts the network over w's lists in a directory under
// tmp and waits until the requester holds every provider's verified
// catalog and, if live, every provider's live database answers. The
// setup cost is the time from the period's opening (when the providers
// start building) to that moment.
func newCatalogNodes(ctx context.Context, w *workload, tmp string, log *slog.Logger, link *WAN, live bool) (s *catalogNodes, cost setupCost, err error) {
	dir, err := os.MkdirTemp(tmp, "network-")
	if err != nil {
		return nil, cost, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s = &catalogNodes{providers: len(w.lists), cancel: cancel, link: link, live: live}
	s.files = append(s.files, func() error { return os.RemoveAll(dir) })
	// Every error return below sets s to nil, so the clean-up closes the
	// nodes it started through its own reference.
	started := s
	defer func() {
		if err != nil {
			err = errors.Join(err, started.close())
		}
	}()
	s.store, err = accounting.OpenEmbedded(filepath.Join(dir, "ledger.db"), accounting.EmbeddedConfig{})
	if err != nil {
		return nil, cost, err
	}
	s.files = append(s.files, s.store.Close)
	regulator, err := s.store.As(accounting.DefaultRegulator)
	if err != nil {
		return nil, cost, err
	}
	req, err := newInstitution(s.store, requesterMSP)
	if err != nil {
		return nil, cost, err
	}
	steps := []func() error{
		func() error {
			return regulator.AddInstitution(ctx, requesterMSP, "Benchmark requester", []accounting.Role{accounting.RoleRequester})
		},
		func() error { return regulator.SetPrice(ctx, category.String(), price) },
		func() error { return regulator.SetLimit(ctx, requesterMSP, limit) },
		// A requester serves nothing; its profile still names an endpoint.
		func() error { return req.profile(ctx, "127.0.0.1:1") },
	}
	if live {
		steps = append(steps, func() error { return regulator.SetModePrice(ctx, category.String(), accounting.ModeLive, price) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, cost, err
		}
	}
	directory := registry.New(req.ledger, registry.Options{Refresh: registryRefresh})
	for i := range w.lists {
		if err := s.startProvider(ctx, runCtx, dir, regulator, directory, w.lists[i], log); err != nil {
			return nil, cost, fmt.Errorf("start provider %d: %w", i+1, err)
		}
	}

	start, cpu := time.Now(), processCPU()
	p, err := regulator.Rollover(ctx)
	if err != nil {
		return nil, cost, err
	}
	if err := directory.Refresh(ctx); err != nil {
		return nil, cost, err
	}
	s.wg.Go(func() { directory.Run(runCtx) })
	log.Info("waiting for catalogs", "providers", len(w.lists))
	if err := s.waitPublished(ctx, p.Number); err != nil {
		return nil, cost, err
	}
	if err := s.startRequester(runCtx, dir, req, directory, log); err != nil {
		return nil, cost, err
	}
	if err := s.waitDownloaded(ctx, p.Number); err != nil {
		return nil, cost, err
	}
	if err := s.waitLive(ctx); err != nil {
		return nil, cost, err
	}
	if err := s.waitLiveKeys(ctx); err != nil {
		return nil, cost, err
	}
	entries := 0
	for _, l := range w.lists {
		entries += len(l.Entries)
	}
	return s, setupCost{phase: PhaseSetup, items: entries, seconds: time.Since(start).Seconds(), cpu: processCPU() - cpu}, nil
}

// startProvider writes the list as a CSV file (the node reads it as an
// institution's export) and starts the provider node over it.
func (s *catalogNodes) startProvider(ctx, runCtx context.Context, dir string, regulator *accounting.Embedded,
	directory *registry.Directory, list synth.List, log *slog.Logger) error {
	msp := list.MSPID
	if err := regulator.AddInstitution(ctx, msp, "Benchmark provider "+msp, []accounting.Role{accounting.RoleProvider}); err != nil {
		return err
	}
	in, err := newInstitution(s.store, msp)
	if err != nil {
		return err
	}
	key, err := oprf.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	home := filepath.Join(dir, msp)
	if err := os.Mkdir(home, 0o700); err != nil {
		return err
	}
	path := filepath.Join(home, "list.csv")
	if err := writeList(path, list); err != nil {
		return err
	}
	src, err := lists.NewDelimited(lists.File(path), lists.DelimitedConfig{Mapping: synth.Mapping()})
	if err != nil {
		return err
	}
	db, err := bolt.Open(filepath.Join(home, "node.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	s.files = append(s.files, db.Close)
	cfg := provider.Config{
		MSPID: msp, Ledger: in.ledger, Directory: directory,
		Keys: map[string]*oprf.PrivateKey{category.String(): key}, Sign: in.sign, DB: db, DataDir: home,
		Sources: []provider.Source{{Name: "list", Category: category.String(), Code: uint8(category), Source: src}},
		Logger:  log.With("node", msp),
	}
	if s.live {
		cfg.Serve = map[string]provider.ServeMode{category.String(): provider.ServeCatalog | provider.ServeLive}
	}
	node, err := provider.New(cfg)
	if err != nil {
		return err
	}
	pc := peer.Config{
		Certificate: in.cert, Authorizer: directory, Handler: s.counted(node.Handle),
		ReadTimeout: slowPhase, HandleTimeout: slowPhase, WriteTimeout: slowPhase,
	}
	if s.live {
		// As the node daemon does for a provider serving live.
		pc.MaxRequestSize = riskmeshv1.MaxLiveQuerySize
	}
	srv, err := peer.Listen(runCtx, "127.0.0.1:0", pc)
	if err != nil {
		return err
	}
	s.stops = append(s.stops, srv.Close)
	endpoint, stop, err := expose(srv.Addr(), s.link)
	if err != nil {
		return err
	}
	s.stops = append(s.stops, stop)
	if err := in.profile(ctx, endpoint); err != nil {
		return err
	}
	s.nodes = append(s.nodes, node)
	s.wg.Go(func() { _ = node.Run(runCtx) })
	return nil
}

func writeList(path string, l synth.List) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = synth.WriteCSV(bw, l)
	if err == nil {
		err = bw.Flush()
	}
	return errors.Join(err, f.Close())
}

// waitPublished waits, catalog change by catalog change, until every
// provider node has built and published its catalog for period.
func (s *catalogNodes) waitPublished(ctx context.Context, period uint64) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for i, node := range s.nodes {
		for {
			changed := node.CatalogChanges()
			st := node.CatalogStatus(category.String())
			k := slices.IndexFunc(st, func(c *riskmeshv1.LocalCatalog) bool { return c.GetPeriod() == period })
			if k >= 0 && st[k].GetState() == riskmeshv1.CatalogState_CATALOG_STATE_READY {
				break
			}
			if k >= 0 && st[k].GetState() == riskmeshv1.CatalogState_CATALOG_STATE_FAILED {
				return fmt.Errorf("%s failed to build its catalog: %s", providerMSP(i), st[k].GetError())
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return fmt.Errorf("%s did not publish its catalog: %w", providerMSP(i), ctx.Err())
			}
		}
	}
	return nil
}

func (s *catalogNodes) startRequester(runCtx context.Context, dir string, in *institution, directory *registry.Directory, log *slog.Logger) error {
	home := filepath.Join(dir, requesterMSP)
	if err := os.Mkdir(home, 0o700); err != nil {
		return err
	}
	db, err := bolt.Open(filepath.Join(home, "node.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	s.files = append(s.files, db.Close)
	conns := outbound.New(outbound.PeerDialer(peer.Config{Certificate: in.cert, Authorizer: directory}), time.Minute)
	s.stops = append(s.stops, func() error { conns.Close(); return nil })
	s.catalogs, err = mirror.New(mirror.Config{
		MSPID: requesterMSP, Directory: directory, Send: conns.Do,
		CatalogDir: filepath.Join(home, "catalogs"),
		// The largest chunks: the download is part of the setup cost.
		CatalogChunk: riskmeshv1.MaxCatalogChunk,
		CatalogRetry: 100 * time.Millisecond,
		PhaseTimeout: time.Minute,
		RetryBackoff: 10 * time.Millisecond,
		Logger:       log.With("node", requesterMSP),
	})
	if err != nil {
		return err
	}
	s.requester, err = requester.New(requester.Config{
		MSPID: requesterMSP, Directory: directory, Ledger: in.ledger,
		Conns:          conns,
		Catalogs:       s.catalogs,
		Sign:           in.sign,
		DB:             db,
		MaxDeadline:    slowPhase,
		PhaseTimeout:   time.Minute,
		RetryBackoff:   10 * time.Millisecond,
		MaxIdentifiers: MaxBatch,
		Logger:         log.With("node", requesterMSP),
	})
	if err != nil {
		return err
	}
	s.stops = append(s.stops, s.requester.Close)
	s.wg.Go(func() { _ = s.catalogs.Run(runCtx) })
	s.wg.Go(func() { _ = s.requester.Run(runCtx) })
	return nil
}

// waitDownloaded polls the requester until it holds a verified catalog of
// every provider for period. The requester offers no notification of its
// downloads, so this is the one poll of the harness.
func (s *catalogNodes) waitDownloaded(ctx context.Context, period uint64) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ready := 0
		var last string
		for _, c := range s.catalogs.RemoteCatalogs() {
			if c.GetPeriod() != period {
				continue
			}
			if c.GetState() == riskmeshv1.CatalogState_CATALOG_STATE_READY {
				ready++
			} else if c.GetError() != "" {
				last = c.GetError()
			}
		}
		if ready == s.providers {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("%d of %d catalogs downloaded (last error %q): %w", ready, s.providers, last, ctx.Err())
		}
	}
}

// counted wraps a provider's handler to count the bytes of what it is sent
// and answers.
func (s *catalogNodes) counted(h peer.Handler) peer.Handler {
	return func(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		s.up.Add(int64(proto.Size(req)))
		resp := h(ctx, who, req)
		s.down.Add(int64(proto.Size(resp)))
		return resp
	}
}

// waitLive polls, if the network serves live, until every provider's
// live database answers (the build follows the catalog's).
func (s *catalogNodes) waitLive(ctx context.Context) error {
	if !s.live {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for i, node := range s.nodes {
		if err := pollUntil(ctx, func() bool { return node.LiveReady(category.String()) }); err != nil {
			return fmt.Errorf("%s's live database not ready: %w", providerMSP(i), err)
		}
	}
	return nil
}

// waitLiveKeys polls, if the network serves live, until the requester
// has sent its evaluation key to every provider ahead of its queries, as
// a node running before its users' first live query has
// (node/requester's PreparedLiveKeys): the first query row then measures
// a query, not the node's start.
func (s *catalogNodes) waitLiveKeys(ctx context.Context) error {
	if !s.live {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := pollUntil(ctx, func() bool { return s.requester.PreparedLiveKeys() >= s.providers }); err != nil {
		return fmt.Errorf("%d of %d live keys sent ahead: %w", s.requester.PreparedLiveKeys(), s.providers, err)
	}
	return nil
}

// pollUntil checks done every 20 ms until it holds or ctx ends.
func pollUntil(ctx context.Context, done func() bool) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !done() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (s *catalogNodes) query(ctx context.Context, b *synth.Batch, _ uint64) (sample, error) {
	up, down := s.up.Load(), s.down.Load()
	m, err := s.ask(ctx, b)
	m.bytesUp, m.bytesDown = s.up.Load()-up, s.down.Load()-down
	return m, err
}

func (s *catalogNodes) ask(ctx context.Context, b *synth.Batch) (sample, error) {
	return timed(func() (int, error) {
		req := b.Request()
		req.Deadline = durationpb.New(slowPhase)
		if s.live {
			req.Mode = riskmeshv1.QueryMode_QUERY_MODE_LIVE
		}
		var res *riskmeshv1.QueryResult
		err := s.requester.Query(ctx, req, func(ev *riskmeshv1.QueryEvent) error {
			if r := ev.GetResult(); r != nil {
				res = r
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if res == nil {
			return 0, errors.New("query ended without a result")
		}
		if len(res.GetProviders()) != s.providers {
			return 0, fmt.Errorf("%w: %d providers answered, want %d", ErrWrongResult, len(res.GetProviders()), s.providers)
		}
		for _, p := range res.GetProviders() {
			if p.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
				return 0, fmt.Errorf("provider %s: %s (%s)", p.GetProvider(), p.GetStatus(), p.GetError().GetMessage())
			}
		}
		hits := 0
		for _, it := range res.GetItems() {
			hits += len(it.GetHits())
		}
		if err := b.Check(res); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrWrongResult, err)
		}
		return hits, nil
	})
}

// close stops every node and removes the network's files.
func (s *catalogNodes) close() error {
	s.cancel()
	var errs []error
	for i := len(s.stops) - 1; i >= 0; i-- {
		errs = append(errs, s.stops[i]())
	}
	s.wg.Wait()
	for i := len(s.files) - 1; i >= 0; i-- {
		errs = append(errs, s.files[i]())
	}
	return errors.Join(errs...)
}
