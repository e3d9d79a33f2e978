package requester

// The test network: an embedded ledger, the requester institution, and
// provider institutions running the real node/provider behind a node/peer
// listener. Between the listener and the provider sits an interceptor with
// knobs that make a provider misbehave the ways the requester must handle.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/mirror"
	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

const (
	testCategory = "black"
	testPrice    = 2
	// testLivePrice and testLiveBatch are the category's live price and
	// the providers' live batch.
	testLivePrice = 3
	testLiveBatch = 16
	requesterMSP  = "Bank1MSP"
	// testReconPrice is the category's price per item of a reconciliation.
	testReconPrice = 1
)

// identity is an institution's keys and ledger client.
type identity struct {
	msp     string
	cert    tls.Certificate
	sign    ecsig.Sign
	signPub []byte
	ledger  *accounting.Embedded
}

func newIdentity(t testing.TB, store *accounting.EmbeddedStore, msp string) *identity {
	t.Helper()
	cert, err := selfsigned.New(msp, nil, nil, time.Now())
	must(t, err)
	sigKey, pub, err := ecsig.GenerateKey(rand.Reader)
	must(t, err)
	l, err := store.As(msp)
	must(t, err)
	return &identity{
		msp: msp, cert: cert,
		sign: ecsig.NewSigner(sigKey, rand.Reader), signPub: pub, ledger: l,
	}
}

func (id *identity) fingerprint() []byte {
	f := peer.FingerprintOf(id.cert.Certificate[0])
	return f[:]
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// phone returns the canonical phone identifier number i.
func phone(i int) string { return fmt.Sprintf("+86138%08d", i) }

// labelOfListed is the label provider number code gives phone i.
func labelOfListed(code, i int) catalog.Label {
	l := catalog.Label{Category: uint8(code), Reason: uint16(i), Listed: catalog.Date(20000 + i)}
	copy(l.Reference[:], fmt.Sprintf("P%d", code))
	return l
}

// testProvider is one provider institution's node.
type testProvider struct {
	*identity
	code int
	key  *oprf.PrivateKey
	node *provider.Provider
	srv  *peer.Server

	mu        sync.Mutex
	evaluates int      // evaluate requests received
	sequences []uint64 // sequence numbers of the evaluate requests answered
	downloads []uint64 // offsets of the catalog_download requests
	failNext  int      // answer this many evaluates with failCode
	failCode  riskmeshv1.ErrorCode
	drop      int              // swallow this many evaluates unseen by the provider, never answering
	lose      int              // let the provider answer (and bill) this many evaluates, but never send the answer
	rogueKey  *oprf.PrivateKey // if set, answers are re-evaluated under it (dishonest)
	rogueRule oprf.ProofRule   // the proof rule of those answers
	hang      chan struct{}    // if set, evaluate waits for it to close
	hangAfter int              // this many evaluates do not wait for hang
	rogueOnce bool             // if set, only the next evaluate is answered under rogueKey
	corrupt   bool             // if set, catalog chunks are served with a flipped bit
	limited   int              // answer this many catalog_downloads RATE_LIMITED
	withhold  int              // let the provider answer (and bill) this many evaluates, then refuse instead (dishonest)
	hide      []string         // refuse redelivery to these MSP ids as if nothing were stored (dishonest)
	weakLive  bool             // announce the live parameters over half the ring degree (dishonest)
	liveLose  int              // let the provider answer this many live queries, but report UNAVAILABLE instead
	// liveWithhold refuses this many live queries for good unseen by the
	// provider, after it billed their POPRF step (dishonest).
	liveWithhold int
	liveQueries  [][32]byte // SHA-256 of each live query's bytes as received
	liveSizes    []int      // the size of each live query as received
	liveVersions []byte     // each live query's version byte: 1 carries its evaluation key, 2 names it
	keyUploads   int        // live key uploads received
	// liveForget refuses this many live queries UNKNOWN_KEY unseen by the
	// provider, as a provider that restarted since it cached the key would.
	liveForget int
	liveHang   chan struct{} // if set, live queries wait for it to close before the provider sees them
	// restartOnLoss restarts the node (restart) after it answered a live
	// query whose answer liveLose loses, before the loss is reported.
	restartOnLoss bool

	cfg     provider.Config // what the node was made of
	stop    func()          // stops the node's Run and closes its database
	failure error           // why a restart failed
}

// network is an embedded ledger with a requester institution and providers.
type network struct {
	t         testing.TB
	store     *accounting.EmbeddedStore
	regulator *accounting.Embedded
	requester *identity
	providers []*testProvider
	dir       *registry.Directory
	period    uint64
	published chan struct{} // signalled after every catalog publication
	maxBatch  int           // the providers' MaxBatch
	// serve is how each provider serves the category, by provider number
	// (ServeCatalog for a provider not in it).
	serve map[int]provider.ServeMode
	// auto is the dispute queue of the last openReconciler.
	auto *dispute.Auto
}

// signalLedger is a provider's ledger client that signals publications.
type signalLedger struct {
	*accounting.Embedded
	published chan<- struct{}
}

func (l signalLedger) PublishCatalog(ctx context.Context, c accounting.Catalog) error {
	err := l.Embedded.PublishCatalog(ctx, c)
	select {
	case l.published <- struct{}{}:
	default:
	}
	return err
}

// newNetwork registers the requester with an overdraft limit and one
// provider per listing (the phone numbers it lists), opens period 1 and
// waits until every provider node has published its catalog.
func newNetwork(t testing.TB, limit int64, listings ...[]int) *network {
	t.Helper()
	return buildNetwork(t, limit, 0, listings...)
}

// buildNetwork is newNetwork with the providers' MaxBatch (0: default).
func buildNetwork(t testing.TB, limit int64, maxBatch int, listings ...[]int) *network {
	t.Helper()
	return buildServing(t, limit, maxBatch, nil, listings...)
}

// buildServing is buildNetwork with the providers' serve modes, by
// provider number; the category has a live price (testLivePrice) too.
func buildServing(t testing.TB, limit int64, maxBatch int, serve map[int]provider.ServeMode, listings ...[]int) *network {
	t.Helper()
	ctx := context.Background()
	n := &network{t: t, published: make(chan struct{}, 1), maxBatch: maxBatch, serve: serve}
	store, err := accounting.OpenEmbedded(filepath.Join(t.TempDir(), "ledger.db"), accounting.EmbeddedConfig{})
	must(t, err)
	t.Cleanup(func() { store.Close() })
	n.store = store
	n.regulator, err = store.As(accounting.DefaultRegulator)
	must(t, err)
	n.requester = newIdentity(t, store, requesterMSP)
	must(t, n.regulator.AddInstitution(ctx, requesterMSP, "Bank One", []accounting.Role{accounting.RoleRequester}))
	must(t, n.regulator.SetPrice(ctx, testCategory, testPrice))
	must(t, n.regulator.SetModePrice(ctx, testCategory, accounting.ModeLive, testLivePrice))
	must(t, n.regulator.SetModePrice(ctx, testCategory, accounting.ModeReconcile, testReconPrice))
	must(t, n.regulator.SetLimit(ctx, requesterMSP, limit))
	must(t, n.requester.ledger.UpdateProfile(ctx, accounting.Profile{
		Endpoint: "127.0.0.1:1", TLSFingerprint: n.requester.fingerprint(), SigningKey: n.requester.signPub,
	}))
	n.dir = registry.New(n.requester.ledger, registry.Options{})
	for i, listing := range listings {
		n.providers = append(n.providers, n.startProvider(i+1, listing))
	}
	p, err := n.regulator.Rollover(ctx)
	must(t, err)
	n.period = p.Number
	n.refresh()
	n.waitPublished(n.period)
	n.refresh() // the providers registered their OPRF keys on the way
	// A live database is built after the catalogs are published, off the
	// provider's update lock (a Refresh during the build returns at once):
	// wait until it answers, so a query does not race its first build.
	for i, tp := range n.providers {
		if n.serve[i+1]&provider.ServeLive == 0 {
			continue
		}
		for !tp.answersLive(n.period) {
			_, err := tp.node.Refresh(ctx, nil)
			must(t, err)
			time.Sleep(10 * time.Millisecond)
		}
	}
	return n
}

func (n *network) refresh() {
	n.t.Helper()
	must(n.t, n.dir.Refresh(context.Background()))
}

// waitPublished waits, publication by publication, until every
// provider has published its catalog for period.
func (n *network) waitPublished(period uint64) {
	n.t.Helper()
	timeout := time.After(time.Minute)
	for _, p := range n.providers {
		if m, ok := n.serve[p.code]; ok && m&provider.ServeCatalog == 0 {
			n.waitLive(p, period, timeout)
			continue
		}
		for {
			if _, err := n.regulator.Catalog(context.Background(), p.msp, testCategory, period); err == nil {
				break
			}
			select {
			case <-n.published:
			case <-timeout:
				n.t.Fatalf("%s did not publish its period %d catalog: %v", p.msp, period, p.node.CatalogStatus(""))
			}
		}
	}
}

// answersLive reports whether p's live database of period answers: its
// parameters are announced to the requester.
func (p *testProvider) answersLive(period uint64) bool {
	return answersLive(p.current(), p.msp, period)
}

// answersLive reports whether node, provider msp, announces its live
// parameters of period to the requester.
func answersLive(node *provider.Provider, msp string, period uint64) bool {
	req := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveInfo{LiveInfo: &riskmeshv1.LiveInfoRequest{
		Provider: msp, Category: testCategory, Period: period,
	}}}
	return node.Handle(context.Background(), peer.Identity{MSPID: requesterMSP}, req).GetLiveInfo() != nil
}

// waitLive waits until a live-only provider answers for period.
func (n *network) waitLive(p *testProvider, period uint64, timeout <-chan time.Time) {
	n.t.Helper()
	for !p.answersLive(period) {
		select {
		case <-time.After(10 * time.Millisecond):
		case <-timeout:
			n.t.Fatalf("%s did not serve live for period %d", p.msp, period)
		}
	}
}

// startProvider starts provider number code's node listing the phones.
func (n *network) startProvider(code int, listing []int) *testProvider {
	t := n.t
	t.Helper()
	ctx := context.Background()
	msp := fmt.Sprintf("P%dMSP", code)
	must(t, n.regulator.AddInstitution(ctx, msp, "Provider "+msp, []accounting.Role{accounting.RoleProvider}))
	p := &testProvider{identity: newIdentity(t, n.store, msp), code: code}
	var err error
	p.key, err = oprf.GenerateKey(rand.Reader)
	must(t, err)
	var csv strings.Builder
	csv.WriteString("phone,cat,reason,listed,ref\n")
	for _, i := range listing {
		l := labelOfListed(code, i)
		fmt.Fprintf(&csv, "%s,%d,%d,%s,P%d\n", phone(i), l.Category, l.Reason, l.Listed, code)
	}
	text := csv.String()
	src, err := lists.NewDelimited(func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil },
		lists.DelimitedConfig{Mapping: lists.Mapping{ID: "phone", FixedType: "phone", Category: "cat",
			Reason: "reason", Listed: "listed", Reference: "ref"}})
	must(t, err)
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "node.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(t, err)
	cfg := provider.Config{
		MSPID: msp, Ledger: signalLedger{p.ledger, n.published}, Directory: n.dir,
		Keys: map[string]*oprf.PrivateKey{testCategory: p.key}, Sign: p.sign, DB: db,
		DataDir: dir, MaxBatch: n.maxBatch, LiveBatch: testLiveBatch,
		Sources: []provider.Source{{Name: "list", Category: testCategory, Code: uint8(code), Source: src}},
	}
	if m, ok := n.serve[code]; ok {
		cfg.Serve = map[string]provider.ServeMode{testCategory: m}
	}
	p.cfg = cfg
	must(t, p.start())
	p.srv, err = peer.Listen(ctx, "127.0.0.1:0", peer.Config{Certificate: p.cert, Authorizer: n.dir, Handler: p.handle,
		MaxRequestSize: riskmeshv1.MaxLiveQuerySize})
	must(t, err)
	must(t, p.ledger.UpdateProfile(ctx, accounting.Profile{
		Endpoint: p.srv.Addr().String(), TLSFingerprint: p.fingerprint(), SigningKey: p.signPub,
	}))
	t.Cleanup(func() {
		p.srv.Close()
		p.set(func(p *testProvider) { p.stop() })
	})
	return p
}

// start makes p's node of p.cfg and runs it.
func (p *testProvider) start() error {
	node, err := provider.New(p.cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = node.Run(ctx)
	}()
	db := p.cfg.DB
	p.node, p.stop = node, func() {
		cancel()
		<-done
		db.Close()
	}
	return nil
}

// restart stops p's node and starts another on its database and data
// directory, as a restarted process does: what the node kept in memory
// (the evaluation keys it held, the live answers it kept, the budgets) is
// gone, what it wrote is read back. It returns once the new node answers
// live queries of period, if p serves live. Called with p.mu held.
func (p *testProvider) restart(period uint64) error {
	path := p.cfg.DB.Path()
	p.stop()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	p.cfg.DB = db
	if err := p.start(); err != nil {
		db.Close()
		return err
	}
	if p.cfg.Serve[testCategory]&provider.ServeLive == 0 {
		return nil
	}
	for deadline := time.Now().Add(time.Minute); !answersLive(p.node, p.msp, period); {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not answer live queries after its restart", p.msp)
		}
		if _, err := p.node.Refresh(context.Background(), nil); err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// current returns p's node, which restart replaces.
func (p *testProvider) current() *provider.Provider {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.node
}

func peerError(code riskmeshv1.ErrorCode, msg string) *riskmeshv1.PeerResponse {
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: &riskmeshv1.PeerError{Code: code, Message: msg}}}
}

// handle is the interceptor in front of the provider node.
func (p *testProvider) handle(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
	p.mu.Lock()
	node := p.node
	hang, rogue, rogueRule, corrupt, weak := p.hang, p.rogueKey, p.rogueRule, p.corrupt, p.weakLive
	ev := req.GetEvaluate()
	if d := req.GetCatalogDownload(); d != nil {
		p.downloads = append(p.downloads, d.GetOffset())
		if p.limited > 0 {
			p.limited--
			p.mu.Unlock()
			return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: &riskmeshv1.PeerError{
				Code: riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED, Message: "slow down", RetryAfterMs: 1,
			}}}
		}
	}
	if req.GetRedeliver() != nil && slices.Contains(p.hide, who.MSPID) {
		p.mu.Unlock()
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, "nothing stored")
	}
	if req.GetLiveKey() != nil {
		p.keyUploads++
	}
	lost, withheld := false, false
	if lq := req.GetLiveQuery(); lq != nil {
		p.liveQueries = append(p.liveQueries, sha256.Sum256(lq.GetQuery()))
		p.liveSizes = append(p.liveSizes, len(lq.GetQuery()))
		if q := lq.GetQuery(); len(q) > 0 {
			p.liveVersions = append(p.liveVersions, q[0])
		}
		if p.liveForget > 0 {
			p.liveForget--
			p.mu.Unlock()
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_KEY, "evaluation key unknown here")
		}
		if withheld = p.liveWithhold > 0; withheld {
			p.liveWithhold--
			p.mu.Unlock()
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_SUSPENDED, "refused")
		}
		if lost = p.liveLose > 0; lost {
			p.liveLose--
		}
		if h := p.liveHang; h != nil {
			p.mu.Unlock()
			select {
			case <-h:
			case <-ctx.Done():
				return nil
			}
			p.mu.Lock()
		}
	}
	if ev != nil {
		p.evaluates++
		if p.hangAfter > 0 {
			p.hangAfter--
			hang = nil
		}
		if p.rogueOnce {
			p.rogueKey, p.rogueOnce = nil, false
		}
		switch {
		case p.drop > 0:
			p.drop--
			p.mu.Unlock()
			<-ctx.Done() // the requester gave up on this request
			return nil
		case p.failNext > 0:
			p.failNext--
			code := p.failCode
			p.mu.Unlock()
			if code == riskmeshv1.ErrorCode_ERROR_CODE_UNSPECIFIED {
				code = riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE
			}
			return peerError(code, "busy")
		}
		lost = p.lose > 0
		if lost {
			p.lose--
		}
		if withheld = !lost && p.withhold > 0; withheld {
			p.withhold--
		}
	}
	p.mu.Unlock()
	if ev != nil && hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return nil
		}
	}
	resp := node.Handle(ctx, who, req)
	if info := resp.GetLiveInfo(); info != nil && weak {
		// The same 212-bit modulus over a ring of degree 2^12, which the
		// security table allows 109 bits.
		info.Params = slices.Clone(info.Params)
		info.Params[1] = 12
	}
	if resp.GetLiveAnswer() != nil && lost { // answered and recorded; the answer never arrives
		p.mu.Lock()
		if p.restartOnLoss {
			h, _ := transcript.ParseHeader(req.GetLiveQuery().GetHeader())
			if err := p.restart(h.Period); err != nil {
				p.failure = err
			}
		}
		p.mu.Unlock()
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "connection lost")
	}
	if chunk := resp.GetCatalogChunk(); chunk != nil && corrupt {
		chunk.Data = slices.Clone(chunk.Data)
		chunk.Data[0] ^= 1
	}
	if ans := resp.GetEvaluate(); ans != nil {
		h, _ := transcript.ParseHeader(ev.GetHeader())
		p.mu.Lock()
		p.sequences = append(p.sequences, h.Sequence)
		p.mu.Unlock()
		if lost {
			<-ctx.Done() // answered and billed; the requester gives up waiting
			return nil
		}
		if withheld { // answered and billed, but reported refused
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_SUSPENDED, "refused")
		}
		if rogue != nil {
			return p.dishonest(h, ev, rogue, rogueRule)
		}
	}
	return resp
}

// dishonest answers under another OPRF key than the registered one, or
// under another proof rule, with a valid signature: only the DLEQ proof
// gives it away.
func (p *testProvider) dishonest(h *transcript.Header, req *riskmeshv1.EvaluateRequest, key *oprf.PrivateKey, rule oprf.ProofRule) *riskmeshv1.PeerResponse {
	ev, err := oprf.NewEvaluatorWithRule(key, catalogpsi.Info(h.Category, h.Period), rule)
	if err != nil {
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, err.Error())
	}
	evaluated, proof, err := ev.BlindEvaluate(rand.Reader, req.GetBlinded())
	if err != nil {
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, err.Error())
	}
	reqHash, _ := transcript.HashRequest(h, &transcript.Request{Elements: splitElements(req.GetBlinded())})
	reqDigest, _ := transcript.RequestDigest(h, reqHash)
	respHash, _ := transcript.HashResponse(h, &transcript.Response{Evaluated: splitElements(evaluated), Proof: proof[:]})
	sig, err := transcript.SignResponse(p.sign, transcript.ResponseDigest(reqDigest, respHash))
	if err != nil {
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, err.Error())
	}
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Evaluate{Evaluate: &riskmeshv1.EvaluateResponse{
		Evaluated: evaluated, Proof: proof[:], ResponderSignature: sig,
	}}}
}

// set changes the provider's knobs under its lock.
func (p *testProvider) set(f func(p *testProvider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

// downloadOffsets returns the offsets of the catalog_download requests so far.
func (p *testProvider) downloadOffsets() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.downloads)
}

// stats returns the evaluate requests received and the sequence numbers
// answered so far.
func (p *testProvider) stats() (int, []uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.evaluates, slices.Clone(p.sequences)
}

// setup is what newRequester builds a requester from: its Config, its
// catalog mirror's and the dialer of their shared connections. A test's
// tweak may change any of it.
type setup struct {
	Config
	mirror mirror.Config
	dial   outbound.Dialer
}

// newRequester opens a requester and its catalog mirror over the network in
// dir (a fresh temp dir if empty), with tweak applied to their setup. The
// mirror's clock is the requester's unless tweak sets another.
func (n *network) newRequester(dir string, tweak func(*setup)) *Requester {
	t := n.t
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	db, err := bolt.Open(filepath.Join(dir, "node.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(t, err)
	s := setup{
		Config: Config{
			MSPID: requesterMSP, Directory: n.dir, Ledger: n.requester.ledger,
			Sign:         n.requester.sign,
			DB:           db,
			RetryBackoff: 10 * time.Millisecond,
		},
		mirror: mirror.Config{
			MSPID: requesterMSP, Directory: n.dir,
			CatalogDir: filepath.Join(dir, "catalogs"),
			// Small chunks make every download take several requests.
			CatalogChunk: 4096,
			RetryBackoff: 10 * time.Millisecond,
			CatalogRetry: time.Millisecond,
		},
		dial: outbound.PeerDialer(peer.Config{Certificate: n.requester.cert, Authorizer: n.dir}),
	}
	if tweak != nil {
		tweak(&s)
	}
	if s.mirror.Now == nil {
		s.mirror.Now = s.Now
	}
	conns := outbound.New(s.dial, s.PhaseTimeout)
	s.mirror.Send = conns.Do
	m, err := mirror.New(s.mirror)
	must(t, err)
	s.Conns, s.Catalogs = conns, m
	r, err := New(s.Config)
	must(t, err)
	t.Cleanup(func() {
		r.Close()
		conns.Close()
		db.Close()
	})
	return r
}

// mirrorOf returns the catalog mirror newRequester gave r.
func mirrorOf(r *Requester) *mirror.Mirror { return r.cfg.Catalogs.(*mirror.Mirror) }
