package adversary

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/internal/testwait"
	"github.com/riskmesh/riskmesh/node/api"
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

// The consortium's fixed names and prices.
const (
	Category     = "black"
	Price        = 2
	LivePrice    = 3
	RequesterMSP = "BankAMSP"
)

// liveBatch is the providers' live batch: small parameters, quick to
// build and answer.
const liveBatch = 16

// Config shapes the consortium Start builds. The zero value works: one
// provider listing nothing.
type Config struct {
	// Listings holds, per provider, the numbers of the phones it lists
	// (Phone); provider i is ProviderMSP(i).
	Listings [][]int
	// PeerRate is each provider listener's request rate per peer, in
	// requests per second (0: node/peer's default).
	PeerRate float64
	// API adjusts the requester's API config (limits); Requester is set by
	// Start.
	API api.Config
	// Deadline is the requester's default query deadline (default 10 s).
	Deadline time.Duration
	// Live makes every provider serve the category live as well as by
	// catalog, at LivePrice; Start then also waits until each provider's
	// live database answers.
	Live bool
}

// Network is a running consortium.
type Network struct {
	t         testing.TB
	store     *accounting.EmbeddedStore
	regulator *accounting.Embedded
	dir       *registry.Directory
	// Period is the open accounting period.
	Period uint64
	// Providers are the provider institutions, in Config.Listings order.
	Providers []*Provider
	// Requester is the requester institution's node; Self its identity,
	// for a test playing that institution running its own code.
	Requester *requester.Requester
	Self      *Member
	// Catalogs is the requester's catalog mirror.
	Catalogs *mirror.Mirror
	// Socket is the requester's API socket; API a client on it.
	Socket string
	API    riskmeshv1.RiskMeshClient
}

// Member is a registered institution's identity: what a dishonest member
// holds.
type Member struct {
	MSP  string
	Cert tls.Certificate
	sign ecsig.Sign
	pub  []byte
	led  *accounting.Embedded
}

// Intercept answers a request in the provider's place; a nil response
// passes the request to the provider's node.
type Intercept func(ctx context.Context, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse

// Provider is one provider institution: its node behind a QUIC listener.
type Provider struct {
	*Member
	Node      *provider.Provider
	srv       *peer.Server
	intercept atomic.Pointer[Intercept]
}

// Addr is the provider's QUIC address.
func (p *Provider) Addr() string { return p.srv.Addr().String() }

// Intercept makes f answer the provider's requests from now on (nil: the
// node again).
func (p *Provider) Intercept(f Intercept) {
	if f == nil {
		p.intercept.Store(nil)
		return
	}
	p.intercept.Store(&f)
}

// Stop closes the provider's listener: it answers nothing any more.
func (p *Provider) Stop() { p.srv.Close() }

func (p *Provider) handle(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
	if f := p.intercept.Load(); f != nil {
		if resp := (*f)(ctx, req); resp != nil {
			return resp
		}
	}
	return p.Node.Handle(ctx, who, req)
}

// Phone is the canonical phone number i; providers list them by number.
func Phone(i int) string { return fmt.Sprintf("+86139%08d", i) }

// ProviderMSP is provider i's MSP id (from 1).
func ProviderMSP(i int) string { return fmt.Sprintf("P%dMSP", i) }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Start builds the consortium, opens period 1 and returns once the
// requester holds every provider's verified catalog. Everything stops when
// the test ends.
func Start(t testing.TB, cfg Config) *Network {
	t.Helper()
	if len(cfg.Listings) == 0 {
		cfg.Listings = [][]int{nil}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	n := &Network{t: t}
	store, err := accounting.OpenEmbedded(filepath.Join(t.TempDir(), "ledger.db"), accounting.EmbeddedConfig{})
	must(t, err)
	t.Cleanup(func() { store.Close() })
	n.store = store
	n.regulator, err = store.As(accounting.DefaultRegulator)
	must(t, err)
	must(t, n.regulator.SetPrice(ctx, Category, Price))
	if cfg.Live {
		must(t, n.regulator.SetModePrice(ctx, Category, accounting.ModeLive, LivePrice))
	}
	req := n.Member(RequesterMSP)
	n.Self = req
	n.dir = registry.New(req.led, registry.Options{Refresh: 200 * time.Millisecond})
	for i, listing := range cfg.Listings {
		n.Providers = append(n.Providers, n.startProvider(ctx, i+1, listing, cfg))
	}
	_, err = n.regulator.Rollover(ctx)
	must(t, err)
	go n.dir.Run(ctx)
	n.startRequester(ctx, req, cfg)
	n.serveAPI(ctx, cfg.API)
	testwait.Until(t, "requester holds every provider's catalog", time.Minute, func() error {
		v := n.dir.View()
		n.Period = v.Period.Number
		ready := 0
		for _, c := range n.Catalogs.RemoteCatalogs() {
			if c.State == riskmeshv1.CatalogState_CATALOG_STATE_READY && c.Period == n.Period {
				ready++
			}
		}
		if ready < len(n.Providers) {
			return fmt.Errorf("%d of %d catalogs ready in period %d", ready, len(n.Providers), n.Period)
		}
		for _, p := range n.Providers {
			if cfg.Live && !p.answersLive(n.Period) {
				return fmt.Errorf("%s's live database of period %d not ready", p.MSP, n.Period)
			}
		}
		return nil
	})
	return n
}

// answersLive reports whether p announces the parameters of its live
// database of period, as it does to a requester once the database answers.
func (p *Provider) answersLive(period uint64) bool {
	return p.Node.Handle(context.Background(), peer.Identity{MSPID: RequesterMSP}, &riskmeshv1.PeerRequest{
		Body: &riskmeshv1.PeerRequest_LiveInfo{LiveInfo: &riskmeshv1.LiveInfoRequest{Provider: p.MSP, Category: Category, Period: period}},
	}).GetLiveInfo() != nil
}

// Member registers a requester institution named msp, with its own keys
// and a large overdraft limit, and returns its identity.
func (n *Network) Member(msp string) *Member {
	t := n.t
	t.Helper()
	ctx := context.Background()
	must(t, n.regulator.AddInstitution(ctx, msp, "Institution "+msp, []accounting.Role{accounting.RoleRequester}))
	must(t, n.regulator.SetLimit(ctx, msp, 1<<40))
	m := n.identity(msp)
	must(t, m.led.UpdateProfile(ctx, accounting.Profile{
		Endpoint: "127.0.0.1:1", TLSFingerprint: fingerprint(m.Cert), SigningKey: m.pub,
	}))
	if n.dir != nil {
		must(t, n.dir.Refresh(ctx))
	}
	return m
}

func (n *Network) identity(msp string) *Member {
	t := n.t
	cert, err := selfsigned.New(msp, nil, nil, time.Now())
	must(t, err)
	key, pub, err := ecsig.GenerateKey(rand.Reader)
	must(t, err)
	led, err := n.store.As(msp)
	must(t, err)
	return &Member{MSP: msp, Cert: cert, sign: ecsig.NewSigner(key, rand.Reader), pub: pub, led: led}
}

func fingerprint(c tls.Certificate) []byte {
	f := peer.FingerprintOf(c.Certificate[0])
	return f[:]
}

// startProvider starts provider number code's node listing the phones,
// each labelled with reason number i, serving as cfg says.
func (n *Network) startProvider(ctx context.Context, code int, listing []int, cfg Config) *Provider {
	t := n.t
	t.Helper()
	msp := ProviderMSP(code)
	must(t, n.regulator.AddInstitution(ctx, msp, "Provider "+msp, []accounting.Role{accounting.RoleProvider}))
	p := &Provider{Member: n.identity(msp)}
	key, err := oprf.GenerateKey(rand.Reader)
	must(t, err)
	var csv strings.Builder
	csv.WriteString("phone,cat,reason,listed,ref\n")
	for _, i := range listing {
		fmt.Fprintf(&csv, "%s,%d,%d,2024-01-02,P%d\n", Phone(i), code, i, code)
	}
	text := csv.String()
	src, err := lists.NewDelimited(func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil },
		lists.DelimitedConfig{Mapping: lists.Mapping{ID: "phone", FixedType: "phone", Category: "cat",
			Reason: "reason", Listed: "listed", Reference: "ref"}})
	must(t, err)
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "node.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(t, err)
	pcfg := provider.Config{
		MSPID: msp, Ledger: p.led, Directory: n.dir,
		Keys: map[string]*oprf.PrivateKey{Category: key}, Sign: p.sign, DB: db, DataDir: dir,
		Sources: []provider.Source{{Name: "list", Category: Category, Code: uint8(code), Source: src}},
	}
	lcfg := peer.Config{Certificate: p.Cert, Authorizer: n.dir, Handler: p.handle,
		RequestRate: cfg.PeerRate, RequestBurst: int(cfg.PeerRate)}
	if cfg.Live {
		pcfg.Serve = map[string]provider.ServeMode{Category: provider.ServeCatalog | provider.ServeLive}
		pcfg.LiveBatch = liveBatch
		lcfg.MaxRequestSize = riskmeshv1.MaxLiveQuerySize
	}
	p.Node, err = provider.New(pcfg)
	must(t, err)
	p.srv, err = peer.Listen(ctx, "127.0.0.1:0", lcfg)
	must(t, err)
	must(t, p.led.UpdateProfile(ctx, accounting.Profile{
		Endpoint: p.Addr(), TLSFingerprint: fingerprint(p.Cert), SigningKey: p.pub,
	}))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Node.Run(rctx)
	}()
	t.Cleanup(func() {
		p.srv.Close()
		cancel()
		<-done
		db.Close()
	})
	return p
}

func (n *Network) startRequester(ctx context.Context, m *Member, cfg Config) {
	t := n.t
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "node.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(t, err)
	deadline := cfg.Deadline
	if deadline == 0 {
		deadline = 10 * time.Second
	}
	conns := outbound.New(outbound.PeerDialer(peer.Config{Certificate: m.Cert, Authorizer: n.dir}), 0)
	catalogs, err := mirror.New(mirror.Config{
		MSPID: m.MSP, Directory: n.dir, Send: conns.Do,
		CatalogDir:   filepath.Join(dir, "catalogs"),
		RetryBackoff: 10 * time.Millisecond,
		CatalogRetry: 50 * time.Millisecond,
	})
	must(t, err)
	r, err := requester.New(requester.Config{
		MSPID: m.MSP, Directory: n.dir, Ledger: m.led,
		Conns:           conns,
		Catalogs:        catalogs,
		Sign:            m.sign,
		DB:              db,
		RetryBackoff:    10 * time.Millisecond,
		DefaultDeadline: deadline,
	})
	must(t, err)
	n.Requester, n.Catalogs = r, catalogs
	rctx, cancel := context.WithCancel(ctx)
	var running sync.WaitGroup
	running.Go(func() { _ = catalogs.Run(rctx) })
	running.Go(func() { _ = r.Run(rctx) })
	t.Cleanup(func() {
		cancel()
		running.Wait()
		r.Close()
		conns.Close()
		db.Close()
	})
}

func (n *Network) serveAPI(ctx context.Context, cfg api.Config) {
	t := n.t
	cfg.Requester, cfg.Catalogs = n.Requester, n.Catalogs
	svc, err := api.New(cfg)
	must(t, err)
	n.Socket = filepath.Join(t.TempDir(), "api.sock")
	l, err := api.ListenUnix(n.Socket)
	must(t, err)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.Serve(sctx, l, nil); err != nil {
			t.Errorf("api: %v", err)
		}
	}()
	conn, err := grpc.NewClient("unix://"+n.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(1<<30)))
	must(t, err)
	n.API = riskmeshv1.NewRiskMeshClient(conn)
	t.Cleanup(func() {
		conn.Close()
		cancel()
		<-done
	})
}

// Query runs one query through the API and returns the stream's result.
func (n *Network) Query(ctx context.Context, req *riskmeshv1.QueryRequest) (*riskmeshv1.QueryResult, error) {
	ctx, cancel := context.WithCancel(ctx) // ends the client's stream
	defer cancel()
	stream, err := n.API.Query(ctx, req)
	if err != nil {
		return nil, err
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			return nil, fmt.Errorf("query stream: %w", err)
		}
		if r := ev.GetResult(); r != nil {
			return r, nil
		}
	}
}

// Phones returns phone identifiers for the numbers.
func Phones(nums ...int) []*riskmeshv1.Identifier {
	out := make([]*riskmeshv1.Identifier, len(nums))
	for i, num := range nums {
		out[i] = &riskmeshv1.Identifier{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: Phone(num)}
	}
	return out
}

// PeakRSS is this process's peak resident set size in bytes (VmHWM on
// Linux; 0 where /proc does not say).
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
