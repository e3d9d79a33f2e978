package requester

// A minimal provider stands in for node/provider until that package is on
// main: catalogpsi Provider and Evaluator behind a node/peer listener, with
// knobs to make it fail in the ways the requester must handle.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

const (
	testCategory = "black"
	testPrice    = 2
	requesterMSP = "Bank1MSP"
)

// identity is an institution's keys.
type identity struct {
	msp     string
	cert    tls.Certificate
	sign    ecsig.Sign
	signPub []byte
	ledger  *accounting.Embedded
}

func newIdentity(t testing.TB, store *accounting.EmbeddedStore, msp string) *identity {
	t.Helper()
	tlsKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: msp},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &tlsKey.PublicKey, tlsKey)
	must(t, err)
	sigKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	pub, err := ecsig.MarshalPublicKey(&sigKey.PublicKey)
	must(t, err)
	l, err := store.As(msp)
	must(t, err)
	return &identity{
		msp: msp, cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: tlsKey},
		sign: ecsig.NewSigner(sigKey, rand.Reader), signPub: pub, ledger: l,
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// phone returns the canonical phone identifier number i.
func phone(i int) string { return fmt.Sprintf("+86138%08d", i) }

// provider is the stand-in provider node.
type provider struct {
	*identity
	key     *oprf.PrivateKey
	entries []catalogpsi.Entry
	listed  map[string]catalog.Label // canonical phone -> label
	srv     *peer.Server
	reqKey  func() []byte // the requester's registered signing key

	mu        sync.Mutex
	catalog   *catalog.Catalog
	enc       []byte // what catalog_download serves
	digest    [catalog.DigestSize]byte
	downloads []uint64                                  // offsets of the catalog_download requests
	evaluates int                                       // evaluate requests received
	sequences []uint64                                  // sequence numbers of the requests answered
	answered  map[[32]byte]*riskmeshv1.EvaluateResponse // by request digest
	failNext  int                                       // answer this many evaluates UNAVAILABLE
	evalKey   *oprf.PrivateKey                          // evaluate under this key instead (dishonest)
	hang      chan struct{}                             // if set, evaluate waits for it or ctx
}

// network is an embedded ledger with a requester institution and providers.
type network struct {
	t         testing.TB
	store     *accounting.EmbeddedStore
	regulator *accounting.Embedded
	requester *identity
	providers []*provider
	dir       *registry.Directory
	period    uint64
}

// newNetwork registers the requester and one provider per listing (each
// listing is the phone numbers it lists), opens period 1 and publishes
// every catalog. The requester's limit is limit tokens.
func newNetwork(t testing.TB, limit int64, listings ...[]int) *network {
	t.Helper()
	ctx := context.Background()
	store, err := accounting.OpenEmbedded(filepath.Join(t.TempDir(), "ledger.db"), accounting.EmbeddedConfig{})
	must(t, err)
	t.Cleanup(func() { store.Close() })
	reg, err := store.As(accounting.DefaultRegulator)
	must(t, err)
	n := &network{t: t, store: store, regulator: reg}
	n.requester = newIdentity(t, store, requesterMSP)
	must(t, reg.AddInstitution(ctx, requesterMSP, "Bank One", []accounting.Role{accounting.RoleRequester}))
	must(t, reg.SetPrice(ctx, testCategory, testPrice))
	must(t, reg.SetLimit(ctx, requesterMSP, limit))
	must(t, n.requester.ledger.UpdateProfile(ctx, accounting.Profile{
		Endpoint: "127.0.0.1:1", TLSFingerprint: fp(n.requester.cert), SigningKey: n.requester.signPub,
	}))
	for i := range listings {
		msp := fmt.Sprintf("P%dMSP", i+1)
		must(t, reg.AddInstitution(ctx, msp, "Provider "+msp, []accounting.Role{accounting.RoleProvider}))
	}
	p, err := reg.Rollover(ctx)
	must(t, err)
	n.period = p.Number
	n.dir = registry.New(n.requester.ledger, registry.Options{})
	for i, listing := range listings {
		n.providers = append(n.providers, n.startProvider(fmt.Sprintf("P%dMSP", i+1), i+1, listing))
	}
	must(t, n.dir.Refresh(ctx))
	return n
}

func fp(c tls.Certificate) []byte {
	f := peer.FingerprintOf(c.Certificate[0])
	return f[:]
}

// startProvider builds, publishes and serves one provider's catalog.
func (n *network) startProvider(msp string, code int, listing []int) *provider {
	t := n.t
	t.Helper()
	ctx := context.Background()
	key, err := oprf.GenerateKey(rand.Reader)
	must(t, err)
	p := &provider{identity: newIdentity(t, n.store, msp), key: key, listed: map[string]catalog.Label{},
		answered: map[[32]byte]*riskmeshv1.EvaluateResponse{}}
	p.reqKey = func() []byte { return n.requester.signPub }
	var entries []catalogpsi.Entry
	for _, i := range listing {
		l := catalog.Label{Category: uint8(code), Reason: uint16(i), Listed: catalog.Date(20000 + i)}
		l.Reference[0] = byte(code)
		id := ident.ID{Type: ident.Phone, Value: phone(i)}
		entries = append(entries, catalogpsi.Entry{ID: id, Label: l})
		p.listed[phone(i)] = l
	}
	p.entries = entries
	p.build(t, n.period)
	pub, err := key.Public().MarshalBinary()
	must(t, err)
	p.srv, err = peer.Listen(ctx, "127.0.0.1:0", peer.Config{Certificate: p.cert, Authorizer: n.dir, Handler: p.handle})
	must(t, err)
	t.Cleanup(func() { p.srv.Close() })
	must(t, p.ledger.UpdateProfile(ctx, accounting.Profile{
		Endpoint: p.srv.Addr().String(), TLSFingerprint: fp(p.cert), SigningKey: p.signPub,
	}))
	must(t, p.ledger.SetOPRFKey(ctx, testCategory, pub))
	p.publish(t)
	return p
}

// build builds the provider's catalog for period; publish puts its digest
// on the ledger.
func (p *provider) build(t testing.TB, period uint64) {
	t.Helper()
	cat, err := catalogpsi.NewProvider(p.msp, p.key).BuildCatalog(context.Background(), nil, testCategory, period,
		slices.Values(p.entries), len(p.entries), nil)
	must(t, err)
	var buf bytes.Buffer
	digest, err := cat.Encode(&buf)
	must(t, err)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.catalog, p.enc, p.digest = cat, buf.Bytes(), digest
}

func (p *provider) publish(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	period, digest := p.catalog.Meta().Period, p.digest
	p.mu.Unlock()
	must(t, p.ledger.PublishCatalog(context.Background(), testCategory, period, digest[:]))
}

// corrupt makes the provider serve bytes that are not the catalog whose
// digest it announces.
func (p *provider) corrupt() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.enc = slices.Clone(p.enc)
	p.enc[len(p.enc)-1] ^= 1
}

func peerError(code riskmeshv1.ErrorCode, msg string) *riskmeshv1.PeerResponse {
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: &riskmeshv1.PeerError{Code: code, Message: msg}}}
}

func (p *provider) handle(ctx context.Context, _ peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
	p.mu.Lock()
	cat, enc, digest := p.catalog, p.enc, p.digest
	if d := req.GetCatalogDownload(); d != nil {
		p.downloads = append(p.downloads, d.GetOffset())
	}
	p.mu.Unlock()
	switch b := req.GetBody().(type) {
	case *riskmeshv1.PeerRequest_CatalogInfo:
		m := cat.Meta()
		if b.CatalogInfo.GetPeriod() != m.Period {
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, "no catalog for that period")
		}
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfo{
			Provider: m.Provider, Category: m.Category, Period: m.Period, Suite: m.Suite, KeyId: m.KeyID[:],
			Items: uint64(cat.Len()), TotalLength: uint64(len(enc)), Digest: digest[:],
		}}}
	case *riskmeshv1.PeerRequest_CatalogDownload:
		off := b.CatalogDownload.GetOffset()
		if off >= uint64(len(enc)) {
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, "offset past the end")
		}
		end := min(off+uint64(riskmeshv1.ChunkSize(b.CatalogDownload.GetMaxChunk())), uint64(len(enc)))
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_CatalogChunk{CatalogChunk: &riskmeshv1.CatalogChunk{
			Offset: off, Data: enc[off:end], TotalLength: uint64(len(enc)), Digest: digest[:],
		}}}
	case *riskmeshv1.PeerRequest_Evaluate:
		return p.evaluate(ctx, b.Evaluate)
	}
	return peerError(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, "unexpected request")
}

func (p *provider) evaluate(ctx context.Context, req *riskmeshv1.EvaluateRequest) *riskmeshv1.PeerResponse {
	p.mu.Lock()
	p.evaluates++
	hang, key := p.hang, p.key
	if p.evalKey != nil {
		key = p.evalKey
	}
	if p.failNext > 0 {
		p.failNext--
		p.mu.Unlock()
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "busy")
	}
	p.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return nil
		}
	}
	h, err := transcript.ParseHeader(req.GetHeader())
	if err != nil {
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, err.Error())
	}
	tr, err := transcript.ParseRequest(h, append(binaryCount(h.Count), req.GetBlinded()...))
	if err != nil {
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, err.Error())
	}
	reqHash, _ := transcript.HashRequest(h, tr)
	reqDigest, _ := transcript.RequestDigest(h, reqHash)
	if err := transcript.VerifyRequest(p.reqKey(), reqDigest, req.GetRequesterSignature()); err != nil {
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_BAD_SIGNATURE, err.Error())
	}
	p.mu.Lock()
	if prev := p.answered[reqDigest]; prev != nil {
		p.mu.Unlock()
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Evaluate{Evaluate: prev}}
	}
	p.mu.Unlock()
	ev, err := oprf.NewEvaluator(key, catalogpsi.Info(h.Category, h.Period))
	if err != nil {
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, err.Error())
	}
	evaluated, proof, err := ev.BlindEvaluate(rand.Reader, req.GetBlinded())
	if err != nil {
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, err.Error())
	}
	resp := &transcript.Response{Evaluated: splitElements(evaluated), Proof: proof[:]}
	respHash, _ := transcript.HashResponse(h, resp)
	sig, err := transcript.SignResponse(p.sign, transcript.ResponseDigest(reqDigest, respHash))
	if err != nil {
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, err.Error())
	}
	out := &riskmeshv1.EvaluateResponse{Evaluated: evaluated, Proof: proof[:], ResponderSignature: sig}
	p.mu.Lock()
	p.answered[reqDigest] = out
	p.sequences = append(p.sequences, h.Sequence)
	p.mu.Unlock()
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Evaluate{Evaluate: out}}
}

func binaryCount(n uint32) []byte { return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }

// downloadOffsets returns the offsets of the catalog_download requests so far.
func (p *provider) downloadOffsets() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.downloads)
}

// stats returns the evaluate requests received and the sequence numbers
// answered so far.
func (p *provider) stats() (int, []uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.evaluates, slices.Clone(p.sequences)
}

// newRequester opens a requester over the network in dir (a fresh temp
// dir if empty), with cfg's non-zero fields applied.
func (n *network) newRequester(dir string, tweak func(*Config)) *Requester {
	t := n.t
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	db, err := bolt.Open(filepath.Join(dir, "node.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(t, err)
	cfg := Config{
		MSPID: requesterMSP, Directory: n.dir, Ledger: n.requester.ledger,
		Dial:       PeerDialer(peer.Config{Certificate: n.requester.cert, Authorizer: n.dir}),
		Sign:       n.requester.sign,
		DB:         db,
		CatalogDir: filepath.Join(dir, "catalogs"),
		// Small chunks make every download take several requests.
		CatalogChunk: 4096,
		RetryBackoff: 10 * time.Millisecond,
		CatalogRetry: time.Millisecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	r, err := New(cfg)
	must(t, err)
	t.Cleanup(func() {
		r.Close()
		db.Close()
	})
	return r
}
