package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc/codes"

	"github.com/riskmesh/riskmesh/internal/durable"
	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/ledgerrelay"
	"github.com/riskmesh/riskmesh/node/metrics"
	"github.com/riskmesh/riskmesh/node/mirror"
	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/outbox"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/push"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/node/requester"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// Defaults of Config's zero fields.
const (
	DefaultDrainTimeout = 10 * time.Second
	// registerRetry is the wait before another attempt to register this
	// institution's profile after one failed, when no registry change
	// comes first.
	registerRetry = 2 * time.Second
)

// Run runs the node until ctx ends, then stops it gracefully: the API stops
// taking calls, background work ends, the outbox gets DrainTimeout to
// flush, and the files close. It returns the first error that stopped a
// component, or nil after a stop caused by ctx.
func Run(ctx context.Context, cfg Config) error {
	n, err := start(ctx, cfg)
	if err != nil {
		return err
	}
	return n.wait()
}

// componentErrors map the requester's and provider's sentinel errors to
// the business API's status codes.
var componentErrors = []api.ErrorCode{
	{Err: requester.ErrInvalidArgument, Code: codes.InvalidArgument},
	{Err: requester.ErrOverLimit, Code: codes.FailedPrecondition},
	{Err: requester.ErrNotFound, Code: codes.NotFound},
	{Err: requester.ErrClosed, Code: codes.Unavailable},
	{Err: requester.ErrNoReconcile, Code: codes.FailedPrecondition},
	{Err: requester.ErrNoQuality, Code: codes.FailedPrecondition},
	{Err: requester.ErrReportsFinal, Code: codes.FailedPrecondition},
	{Err: provider.ErrUnknownSource, Code: codes.NotFound},
	{Err: provider.ErrImport, Code: codes.FailedPrecondition},
	{Err: errHostCertificate, Code: codes.FailedPrecondition},
	{Err: provider.ErrRotateTooSoon, Code: codes.FailedPrecondition},
	{Err: provider.ErrUnknownCategory, Code: codes.NotFound},
	{Err: errBackupDir, Code: codes.FailedPrecondition},
	{Err: errBackupExists, Code: codes.AlreadyExists},
	{Err: push.ErrUnknownDestination, Code: codes.NotFound},
	{Err: recon.ErrUnknownList, Code: codes.InvalidArgument},
	{Err: recon.ErrRequest, Code: codes.InvalidArgument},
	{Err: recon.ErrUnknown, Code: codes.NotFound},
	{Err: recon.ErrRunning, Code: codes.FailedPrecondition},
	{Err: errNoResponder, Code: codes.FailedPrecondition},
}

// providerSide is what the daemon uses of node/provider's *Provider.
type providerSide interface {
	api.Provider
	peerHandler
	Run(ctx context.Context) error
	UnreadableSources() []*riskmeshv1.StaleSource
	Outbox() *outbox.Outbox
	CheckRotate(ctx context.Context, category string) error
	RotateKey(ctx context.Context, category string, key *oprf.PrivateKey) error
	LiveKeyUploads() (decoded, refused uint64)
	LiveQueries() (decoded, reevaluated, refused uint64)
	Settle() error
	Close() error
}

// node is a started daemon.
type node struct {
	cfg      Config
	log      *slog.Logger
	keys     identity.Live     // every signature and handshake reads it; RotateKeys replaces it
	keystore identity.Keystore // the identity directory and its token, if any
	seal     *seal.Keyring     // data at rest; nil when nothing is sealed
	rotateMu sync.Mutex        // one rotation at a time
	// endpoint is the peer address registered on the ledger, set before
	// the registration loop and the API start.
	endpoint string
	db       *bolt.DB
	ledger   *ledgerConn
	dir      *registry.Directory
	server   *peer.Server
	prov     providerSide
	// journal is the outbox this node's answers are billed through: the
	// provider's, or the reconciliations' own when it provides no catalog
	// (reconJournal); nil when it answers nothing. Stop drains it, the
	// metrics and Health show it.
	journal  *outbox.Outbox
	req      *requester.Requester // nil without a requester side
	recon    *recon.Node          // nil without reconciliations
	conns    *outbound.Conns      // connections to other nodes; nil without a requester side or reconciliations
	push     *push.Outbox         // nil unless push destinations are configured
	auditor  *lazyAuditor         // nil unless disputes are on
	auto     *dispute.Auto        // nil unless disputes are on
	backupMu sync.Mutex           // one Backup at a time

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errMu  sync.Mutex
	err    error
}

func (c *Config) withDefaults() error {
	switch {
	case c.MSPID == "" || c.DataDir == "" || c.IdentityDir == "" || c.PeerListen == "":
		return errors.New("daemon: MSPID, DataDir, IdentityDir and PeerListen are required")
	case c.DrainTimeout < 0:
		return errors.New("daemon: negative DrainTimeout")
	}
	c.DrainTimeout = cmp.Or(c.DrainTimeout, DefaultDrainTimeout)
	c.APISocket = cmp.Or(c.APISocket, filepath.Join(c.DataDir, "api.sock"))
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return nil
}

// start opens everything and launches the background work.
func start(parent context.Context, cfg Config) (_ *node, err error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(parent)
	n := &node{cfg: cfg, log: cfg.Logger, cancel: cancel}
	defer func() {
		if err != nil {
			cancel()
			n.wg.Wait()
			n.close()
		}
	}()
	// First, so that an operator can profile the start too (a catalog
	// build, a slow ledger).
	if cfg.PprofListen != "" {
		if err := n.listenHTTP(ctx, "pprof", cfg.PprofListen, metrics.ProfileHandler(), pprofWriteTimeout); err != nil {
			return nil, err
		}
	}

	if n.keystore, err = openKeystore(&cfg); err != nil {
		return nil, err
	}
	id, err := n.keystore.Load()
	if err != nil {
		return nil, err
	}
	if id.MSPID != cfg.MSPID {
		return nil, fmt.Errorf("daemon: identity in %s is %s, not the configured %s", cfg.IdentityDir, id.MSPID, cfg.MSPID)
	}
	n.keys.Store(id)
	// Every TLS handshake and signature goes through the keyring, which
	// RotateKeys swaps.
	cfg.Peer.GetCertificate = n.keys.Certificate
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("daemon: data directory: %w", err)
	}
	if n.seal, err = openKeyring(&cfg, n.keystore.Token, true); err != nil {
		return nil, err
	}
	warnPlainOPRFKeys(n.log, cfg.Keys.AtRest, id)
	if n.db, err = bolt.Open(filepath.Join(cfg.DataDir, "node.db"), 0o600, durable.BoltOptions(5*time.Second)); err != nil {
		return nil, fmt.Errorf("daemon: open node.db (is another node running on %s?): %w", cfg.DataDir, err)
	}
	if err := sealNodeDB(n.db, n.seal); err != nil {
		return nil, err
	}
	if n.ledger, err = openLedger(&cfg, id); err != nil {
		return nil, err
	}
	ro := cfg.Registry
	ro.Logger = n.log.With("component", "registry")
	// Through the relay, members refresh when the host's view changes, and
	// the host when it relays a transaction, rather than every interval
	// (docs/operations.md, "Registry refresh").
	if n.ledger.host != nil && ro.Watch == nil {
		ro.Watch = ledgerrelay.Watch(n.ledger.host.Do)
	}
	ro.Poked = ro.Poked || n.ledger.relay != nil
	n.dir = registry.New(n.ledger.Ledger, ro)
	n.goRun("registry", func(ctx context.Context) error { n.dir.Run(ctx); return nil }, ctx)

	d := &dispatcher{active: n.dir.Authorize, relay: n.ledger.relay}
	if n.ledger.relay != nil {
		// A watch answers only a version number: the registry view's rule
		// (the handshake's) admits it without a ledger read.
		d.watch = ledgerrelay.NewWatcher(n.dir.WaitChange, ledgerrelay.Registered(viewRegistry(n.dir), n.ledger.members))
		d.committed = n.dir.Poke
	}
	pc := cfg.Peer
	if pc.StatelessResetKey, err = statelessResetKey(n.db, n.seal, nil); err != nil {
		return nil, err
	}
	pc.Authorizer = authorizer{dir: n.dir, members: n.ledger.members}
	providing := cfg.Provider != nil && len(cfg.Provider.Sources) > 0
	m := metrics.New(n.metricsOptions(providing, cfg.Requester != nil, providing || cfg.Reconcile != nil))
	pc.Handler = m.InstrumentHandler(d.handle)
	apiCfg := cfg.API
	apiCfg.Logger, apiCfg.Health = n.log.With("component", "api"), n.health
	apiCfg.Errors = append(slices.Clone(cfg.API.Errors), componentErrors...)
	if rc := cfg.Requester; rc != nil {
		catalog.SetResidentBudget(cfg.CatalogResidentBytes)
		dial := pc
		dial.Handler = nil
		dial.Authorizer = n.dir
		// The catalog mirror and query execution share one connection
		// per provider.
		conns := outbound.New(instrumentDial(m, outbound.PeerDialer(dial)), rc.PhaseTimeout)
		mc := cfg.Mirror
		mc.MSPID, mc.Directory, mc.Send = cfg.MSPID, n.dir, conns.Do
		mc.CatalogDir = filepath.Join(cfg.DataDir, "remote-catalogs")
		mc.Logger = n.log.With("component", "mirror")
		catalogs, err := mirror.New(mc)
		if err != nil {
			return nil, err
		}
		c := *rc
		c.MSPID, c.Sign = cfg.MSPID, n.keys.Sign
		c.Directory, c.Ledger, c.DB, c.Seal = n.dir, n.ledger.Ledger, n.db, n.seal
		c.Conns, c.Catalogs = conns, catalogs
		c.Logger = n.log.With("component", "requester")
		c.Bills, c.Quality = n.ledger.Ledger, n.ledger.Ledger
		if cfg.Reconcile != nil {
			c.ReconTranscript = reconTranscripts(cfg.DataDir)
		}
		if pc := cfg.Push; pc != nil {
			p := *pc
			p.DB, p.MSPID, p.Logger, p.Seal = n.db, cfg.MSPID, n.log.With("component", "push"), n.seal
			if n.push, err = push.Open(p); err != nil {
				return nil, err
			}
			c.Recorded, c.Pruned = n.push.RecordTx, n.push.PruneTx
			apiCfg.Push = n.push
			n.goRun("push", n.push.Run, ctx)
		}
		if dc := cfg.Disputes; dc != nil {
			auto, err := n.disputes(ctx, dc)
			if err != nil {
				return nil, err
			}
			if cfg.Reconcile != nil {
				c.ReconDispute = auto.ReconFiler(reconDir(cfg.DataDir))
			}
			c.Disputed, c.DisputeStatus = auto.Disputed, auto.Status
			c.NonDelivered, c.ProducedAnswer = auto.NonDelivered, auto.Produced
			c.LiveUnanswered = auto.LiveUnanswered
		}
		req, err := requester.New(c)
		if err != nil {
			return nil, err
		}
		n.req, n.conns = req, conns
		apiCfg.Requester = instrumentedRequester{Requester: req, query: m.InstrumentQuery(req.Query)}
		apiCfg.Catalogs, apiCfg.Reconciler = catalogs, req
		n.goRun("mirror", catalogs.Run, ctx)
		n.goRun("requester", req.Run, ctx)
	}
	if providing {
		c := *cfg.Provider
		c.MSPID, c.Sign, c.Keys, c.PreviousKeys = cfg.MSPID, n.keys.Sign, id.OPRFKeys(), id.PreviousOPRFKeys()
		c.Directory, c.Ledger, c.DB, c.Outbox = n.dir, n.ledger.Ledger, n.db, cfg.Outbox
		c.DataDir, c.Seal = cfg.DataDir, n.seal
		c.Logger = n.log.With("component", "provider")
		p, err := provider.New(c)
		if err != nil {
			return nil, err
		}
		n.prov, d.provider, apiCfg.Provider = p, p, p
		n.journal = p.Outbox()
		n.goRun("provider", p.Run, ctx)
		for name, every := range cfg.SourceRefresh {
			n.goRun("refresh "+name, func(ctx context.Context) error { n.refreshEvery(ctx, name, every); return nil }, ctx)
		}
	}
	if cfg.Reconcile != nil {
		if n.recon, err = n.reconciler(ctx, *cfg.Reconcile); err != nil {
			return nil, err
		}
		d.recon = n.recon
		if n.conns == nil { // no requester side: reconciliations dial on their own
			dial := pc
			dial.Handler, dial.Authorizer = nil, n.dir
			n.conns = outbound.New(outbound.PeerDialer(dial), 0)
		}
		ra := &reconAPI{ctx: ctx, dir: n.dir, conns: n.conns, node: n.recon}
		apiCfg.Reconciliations = ra
		n.goRun("reconciliations", func(ctx context.Context) error {
			return n.recon.ResumeAll(ctx, func(r string) (recon.Send, error) { return ra.sendTo(ctx, r) })
		}, ctx)
	}
	// The dispatcher is complete: peers may come in.
	if n.server, err = peer.Listen(ctx, cfg.PeerListen, pc); err != nil {
		return nil, fmt.Errorf("daemon: listen for peers: %w", err)
	}
	n.goRun("revocations", func(ctx context.Context) error { watchRevocations(ctx, n.dir, n.server, n.log); return nil }, ctx)
	n.endpoint = cfg.PeerEndpoint
	if n.endpoint == "" {
		n.endpoint = n.server.Addr().String()
	}
	// Every node registers its profile, the ledger host too: once the
	// regulator is added as an institution (for instance with the auditor
	// role), members pin its TLS certificate and check its signatures from
	// that record.
	n.goRun("registration", func(ctx context.Context) error { n.register(ctx); return nil }, ctx)

	apiCfg.Keys, apiCfg.Backup = n, n
	svc, err := api.New(apiCfg)
	if err != nil {
		return nil, err
	}
	sock, err := api.ListenUnix(cfg.APISocket)
	if err != nil {
		return nil, err
	}
	n.goRun("api", func(ctx context.Context) error { return svc.Serve(ctx, sock, nil) }, ctx)
	if cfg.APIListen != "" {
		l, err := net.Listen("tcp", cfg.APIListen)
		if err != nil {
			return nil, fmt.Errorf("daemon: API listen: %w", err)
		}
		n.goRun("api-tls", func(ctx context.Context) error { return svc.Serve(ctx, l, cfg.APITLS) }, ctx)
	}
	if cfg.MetricsListen != "" {
		if err := n.listenHTTP(ctx, "metrics", cfg.MetricsListen, m.Handler(), metricsWriteTimeout); err != nil {
			return nil, err
		}
	}
	n.log.Info("node started", slog.String("msp", cfg.MSPID), slog.String("peer", n.server.Addr().String()),
		slog.String("ledger", cfg.Ledger.Backend))
	return n, nil
}

// disputes sets up automatic disputes over the node's ledger and node.db,
// once (the requester side and reconciliations share them), and runs
// them until ctx ends.
func (n *node) disputes(ctx context.Context, dc *DisputeConfig) (*dispute.Auto, error) {
	if n.auto != nil {
		return n.auto, nil
	}
	n.auditor = &lazyAuditor{ledger: n.ledger.Ledger, msp: dc.AuditorMSP, addr: dc.AuditorAddress, cert: n.keys.Certificate}
	log := n.log.With("component", "disputes")
	client, err := dispute.New(dispute.Config{Ledger: n.ledger.Ledger, Auditor: n.auditor, AuditorMSP: dc.AuditorMSP, Logger: log})
	if err != nil {
		return nil, err
	}
	ac := dispute.AutoConfig{Client: client, DB: n.db, Retry: dc.Retry, Logger: log, Seal: n.seal}
	if n.push != nil {
		ac.Recorded, ac.Forget = n.push.RecordTx, n.push.ForgetDisputesTx
	}
	if n.auto, err = dispute.NewAuto(ac); err != nil {
		return nil, err
	}
	n.goRun("disputes", n.auto.Run, ctx)
	return n.auto, nil
}

// goRun runs f until ctx ends; an error from f stops the whole node.
func (n *node) goRun(name string, f func(context.Context) error, ctx context.Context) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := f(ctx); err != nil && ctx.Err() == nil {
			n.errMu.Lock()
			if n.err == nil {
				n.err = fmt.Errorf("daemon: %s: %w", name, err)
			}
			n.errMu.Unlock()
			n.log.Error("component failed, stopping", slog.String("component", name), slog.Any("err", err))
			n.cancel()
		}
	}()
}

// register keeps this institution's registry record in line with its
// identity: once the regulator has added the institution, and again
// whenever the registry changes (a rotated key, a record edited); a failed
// write is retried after registerRetry.
func (n *node) register(ctx context.Context) {
	retry := time.NewTimer(registerRetry) // armed only after a failure
	retry.Stop()
	defer retry.Stop()
	for {
		changed := n.dir.Changes()
		// Under rotateMu: RotateKeys registers a new key before it swaps
		// the keyring, and registering the keyring's old key in between
		// would rotate the record straight back.
		n.rotateMu.Lock()
		txs, err := registerSelf(ctx, n.ledger.Ledger, n.dir.View(), n.keys.Load(), n.endpoint)
		n.rotateMu.Unlock()
		switch {
		case err == nil && txs > 0:
			n.log.Info("registered profile and keys on the ledger", slog.Int("transactions", txs))
			if err := n.dir.Refresh(ctx); err != nil {
				n.log.Warn("registry refresh after registration failed", slog.Any("err", err))
			}
		case err != nil && !errors.Is(err, errNotRegistered):
			n.log.Warn("registration failed, will retry", slog.Any("err", err))
		}
		// Registered or not yet added, only a registry change can call for
		// another pass; a failed write is retried.
		if err != nil && !errors.Is(err, errNotRegistered) {
			retry.Reset(registerRetry)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
			retry.Stop()
		case <-retry.C:
		}
	}
}

// wait blocks until the node stops, then closes it.
func (n *node) wait() error {
	n.wg.Wait()
	n.close()
	n.errMu.Lock()
	defer n.errMu.Unlock()
	return n.err
}

func (n *node) close() {
	if n.server != nil {
		n.server.Close()
	}
	// Queries still running end as interrupted before node.db closes
	// under them; then the provider connections close with a clean
	// QUIC close instead of idling out at the providers.
	if n.req != nil {
		n.req.Close()
	}
	if n.conns != nil {
		n.conns.Close()
	}
	if n.journal != nil {
		n.drain()
	}
	if n.prov != nil {
		n.prov.Close() // its last journal writes folded into node.db
	}
	if n.auditor != nil {
		n.auditor.Close()
	}
	if n.push != nil {
		n.push.Close()
	}
	if n.ledger != nil {
		n.ledger.closer.Close()
	}
	if n.db != nil {
		n.db.Close()
	}
	if n.keystore.Token != nil {
		n.keystore.Token.Close()
	}
}

// drain gives the outbox DrainTimeout to flush what the node answered,
// after the peer server closed (so nothing new arrives). It does not look
// at the outbox's depth first: the last answers' bills may still be in the
// journal's held transaction, which Drain folds before it counts. Entries
// left are durable and flush after the next start.
func (n *node) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.DrainTimeout)
	defer cancel()
	if err := n.journal.Drain(ctx); err != nil {
		n.log.Warn("outbox not drained before stop; entries flush after restart",
			slog.Int("pending", n.journal.Depth()), slog.Any("err", err))
	}
}

// refreshEvery re-reads one list source at a fixed interval. A failed
// refresh is logged and retried at the next tick; the catalog built from
// the last good read keeps serving.
func (n *node) refreshEvery(ctx context.Context, source string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		reports, err := n.prov.Refresh(ctx, []string{source})
		if err != nil {
			n.log.Warn("scheduled list refresh failed", slog.String("source", source), slog.Any("err", err))
			continue
		}
		for _, r := range reports {
			if r.GetError() != "" {
				n.log.Warn("scheduled list refresh failed", slog.String("source", source), slog.String("err", r.GetError()))
			}
		}
	}
}
