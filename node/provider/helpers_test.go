package provider

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"iter"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/lists"
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
	providerMSP  = "ProviderMSP"
	requesterMSP = "RequesterMSP"
	category     = "black"
	price        = 2
	// livePrice is the category's price in live mode.
	livePrice = 3
	// fixtureLimit is the requester's overdraft limit: room for every
	// look-up the tests make, unless a test lowers it.
	fixtureLimit = 1_000_000
)

// listCSV is the provider's black list: two valid rows of code 1, one of
// code 2 (another list) and one row whose identifier does not normalise.
const listCSV = "phone,cat,reason,listed\n" +
	"+8613800138000,1,7,2024-03-01\n" +
	"+8613800138001,1,8,2024-03-02\n" +
	"+8613800138002,2,9,2024-03-03\n" +
	"12345,1,7,2024-03-01\n"

// fixture is a provider over a real embedded ledger with a registered
// requester, price and open period 1, and a real registry Directory.
type fixture struct {
	t         testing.TB
	ctx       context.Context
	store     *accounting.EmbeddedStore
	regulator *accounting.Embedded
	requester *accounting.Embedded
	dir       *registry.Directory
	db        *bolt.DB
	key       *oprf.PrivateKey
	reqSign   ecsig.Sign
	p         *Provider
	seq       uint64
}

func newFixture(t testing.TB, tweak func(*Config)) *fixture {
	t.Helper()
	return newPricedFixture(t, tweak, true)
}

// newPricedFixture is newFixture with or without a live-mode price.
func newPricedFixture(t testing.TB, tweak func(*Config), livePriced bool) *fixture {
	t.Helper()
	ctx := context.Background()
	tmp := t.TempDir()
	store, err := accounting.OpenEmbedded(filepath.Join(tmp, "ledger.db"), accounting.EmbeddedConfig{})
	must(t, err)
	t.Cleanup(func() { store.Close() })
	f := &fixture{t: t, ctx: ctx, store: store}
	f.regulator, err = store.As(accounting.DefaultRegulator)
	must(t, err)
	provLedger, err := store.As(providerMSP)
	must(t, err)
	f.requester, err = store.As(requesterMSP)
	must(t, err)

	must(t, f.regulator.AddInstitution(ctx, providerMSP, "Provider", []accounting.Role{accounting.RoleProvider}))
	must(t, f.regulator.AddInstitution(ctx, requesterMSP, "Requester", []accounting.Role{accounting.RoleRequester}))
	var provSign ecsig.Sign
	for _, party := range []struct {
		l    *accounting.Embedded
		sign *ecsig.Sign
	}{{provLedger, &provSign}, {f.requester, &f.reqSign}} {
		k, pub, err := ecsig.GenerateKey(rand.Reader)
		must(t, err)
		must(t, party.l.UpdateProfile(ctx, accounting.Profile{SigningKey: pub}))
		*party.sign = ecsig.NewSigner(k, rand.Reader)
	}
	must(t, f.regulator.SetLimit(ctx, requesterMSP, fixtureLimit))
	must(t, f.regulator.SetPrice(ctx, category, price))
	if livePriced {
		must(t, f.regulator.SetModePrice(ctx, category, accounting.ModeLive, livePrice))
	}
	_, err = f.regulator.Rollover(ctx)
	must(t, err)

	f.dir = registry.New(provLedger, registry.Options{})
	f.refresh()
	f.db, err = bolt.Open(filepath.Join(tmp, "node.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(t, err)
	t.Cleanup(func() { f.db.Close() })
	f.key, err = oprf.GenerateKey(nil)
	must(t, err)
	src, err := lists.NewDelimited(func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(listCSV)), nil },
		lists.DelimitedConfig{Mapping: lists.Mapping{ID: "phone", FixedType: "phone", Category: "cat", Reason: "reason", Listed: "listed"}})
	must(t, err)
	cfg := Config{
		MSPID:     providerMSP,
		Ledger:    provLedger,
		Directory: f.dir,
		Keys:      map[string]*oprf.PrivateKey{category: f.key},
		Sign:      provSign,
		DB:        f.db,
		DataDir:   filepath.Join(tmp, "data"),
		Sources:   []Source{{Name: "black-csv", Category: category, Code: 1, Source: src}},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	f.p, err = New(cfg)
	must(t, err)
	p := f.p
	t.Cleanup(func() { p.Close() }) // before node.db closes
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// refresh brings the registry view and, once the provider exists, the
// requesters' exposures up to date, as Run's loops do on their timers.
func (f *fixture) refresh() {
	f.t.Helper()
	must(f.t, f.dir.Refresh(f.ctx))
	if f.p != nil {
		must(f.t, f.p.refreshExposures(f.ctx))
	}
}

// maintain runs one catalog and retention pass, as Run does on a change.
func (f *fixture) maintain() {
	f.t.Helper()
	if failed := f.p.maintain(f.ctx); failed {
		f.t.Fatalf("maintain failed: %v", f.p.CatalogStatus(""))
	}
}

// query is one signed evaluate request and what resolving it needs.
type query struct {
	header *transcript.Header
	state  *oprf.BlindState
	req    *riskmeshv1.PeerRequest
}

// newQuery blinds ids (canonical phone numbers) for period under the
// provider's key and signs the request as the requester, with sequence seq
// (0: the next one).
func (f *fixture) newQuery(period, seq uint64, phones ...string) *query {
	f.t.Helper()
	return f.newQueryUnder(f.key, period, seq, phones...)
}

// newQueryUnder is newQuery for the provider key key.
func (f *fixture) newQueryUnder(key *oprf.PrivateKey, period, seq uint64, phones ...string) *query {
	f.t.Helper()
	return f.newQueryTo(providerMSP, key, period, seq, phones...)
}

// newQueryTo is newQueryUnder addressed to the provider responder.
func (f *fixture) newQueryTo(responder string, key *oprf.PrivateKey, period, seq uint64, phones ...string) *query {
	f.t.Helper()
	return f.newQueryOf(transcript.ProtocolCatalogOPRF, responder, key.Public(), period, seq, phones...)
}

// newQueryOf is newQueryTo for an exchange of protocol, blinded against
// the public key pub.
func (f *fixture) newQueryOf(protocol transcript.Protocol, responder string, pub *oprf.PublicKey, period, seq uint64, phones ...string) *query {
	f.t.Helper()
	if seq == 0 {
		f.seq++
		seq = f.seq
	}
	client, err := oprf.NewClient(pub, catalogpsi.Info(category, period))
	must(f.t, err)
	inputs := make([][]byte, len(phones))
	for i, ph := range phones {
		id, err := ident.Normalize("phone", ph)
		must(f.t, err)
		inputs[i] = id.AppendTo(nil)
	}
	state, blinded, err := client.Blind(nil, inputs)
	must(f.t, err)
	h := &transcript.Header{
		ProofRule: transcript.ProofBinding128, // what requesters ask for
		Protocol:  protocol, Suite: catalogpsi.Suite, Category: category, Period: period,
		Requester: requesterMSP, Responder: responder, Sequence: seq, Count: uint32(len(phones)),
		KeyID: pub.KeyID(),
	}
	return &query{header: h, state: state, req: f.sign(h, blinded)}
}

// sign encodes h and signs the request digest over h and blinded.
func (f *fixture) sign(h *transcript.Header, blinded []byte) *riskmeshv1.PeerRequest {
	f.t.Helper()
	hdr, err := h.MarshalBinary()
	must(f.t, err)
	reqHash, err := transcript.HashRequest(h, &transcript.Request{Elements: split(blinded)})
	must(f.t, err)
	d, err := transcript.RequestDigest(h, reqHash)
	must(f.t, err)
	sig, err := transcript.SignRequest(f.reqSign, d)
	must(f.t, err)
	return &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Evaluate{Evaluate: &riskmeshv1.EvaluateRequest{
		Header: hdr, Blinded: blinded, RequesterSignature: sig,
	}}}
}

func (f *fixture) handle(req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
	return f.p.Handle(f.ctx, peer.Identity{MSPID: requesterMSP}, req)
}

// exchange is how a test reaches the provider as the requester: through
// Handle (fixture.handle) or over QUIC (fixture.serveQUIC). A refusal is a
// PeerError response either way.
type exchange func(*riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse

// download fetches a whole catalog, chunk by chunk.
func (f *fixture) download(via exchange, period uint64, maxChunk uint32, expected []byte) []byte {
	f.t.Helper()
	var out []byte
	for range 1000 {
		resp := via(&riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogDownload{CatalogDownload: &riskmeshv1.CatalogDownloadRequest{
			Provider: providerMSP, Category: category, Period: period, Offset: uint64(len(out)), MaxChunk: maxChunk, ExpectedDigest: expected,
		}}})
		chunk := resp.GetCatalogChunk()
		if chunk == nil {
			f.t.Fatalf("download at %d: %v", len(out), resp)
		}
		if chunk.GetOffset() != uint64(len(out)) || len(chunk.GetData()) == 0 || len(chunk.GetData()) > int(maxChunk) {
			f.t.Fatalf("chunk at %d of %d bytes", chunk.GetOffset(), len(chunk.GetData()))
		}
		out = append(out, chunk.GetData()...)
		if uint64(len(out)) == chunk.GetTotalLength() {
			return out
		}
	}
	f.t.Fatal("download did not end")
	return nil
}

// publishedKey is the OPRF public key the ledger's catalog record of
// period names.
func (f *fixture) publishedKey(period uint64) *oprf.PublicKey {
	f.t.Helper()
	rec, err := f.requester.Catalog(f.ctx, providerMSP, category, period)
	must(f.t, err)
	pub := new(oprf.PublicKey)
	must(f.t, pub.UnmarshalBinary(rec.OPRFKey))
	return pub
}

// lookupVia is a requester's whole look-up of phones in period's catalog,
// trusting only the ledger: the catalog record's digest and OPRF key, the
// catalog downloaded and checked against both, the blinded batch answered
// under that key and its proof verified against it.
func (f *fixture) lookupVia(via exchange, period uint64, phones ...string) []catalogpsi.Result {
	f.t.Helper()
	rec, err := f.requester.Catalog(f.ctx, providerMSP, category, period)
	must(f.t, err)
	digest := [catalog.DigestSize]byte(rec.Digest)
	cat, err := catalog.Decode(bytes.NewReader(f.download(via, period, 1<<20, rec.Digest)), catalog.DecodeConfig{ExpectedDigest: &digest})
	must(f.t, err)
	pub := f.publishedKey(period)
	r, err := catalogpsi.NewRequester(providerMSP, pub, category, period, cat)
	must(f.t, err)
	ids := make([]ident.ID, len(phones))
	for i, ph := range phones {
		ids[i], err = ident.Normalize("phone", ph)
		must(f.t, err)
	}
	q, blinded, err := r.Blind(nil, ids)
	must(f.t, err)
	f.seq++
	h := &transcript.Header{
		ProofRule: transcript.ProofBinding128, Protocol: transcript.ProtocolCatalogOPRF, Suite: catalogpsi.Suite, Category: category, Period: period,
		Requester: requesterMSP, Responder: providerMSP, Sequence: f.seq, Count: uint32(len(ids)), KeyID: pub.KeyID(),
	}
	ans := via(f.sign(h, blinded)).GetEvaluate()
	if ans == nil {
		f.t.Fatalf("period %d look-up refused", period)
	}
	res, err := r.Resolve(q, ans.GetEvaluated(), ans.GetProof())
	if err != nil {
		f.t.Fatalf("period %d answer does not verify against the catalog record's key: %v", period, err)
	}
	return res
}

// wantCode checks that resp is a PeerError with code want.
func wantCode(t *testing.T, resp *riskmeshv1.PeerResponse, want riskmeshv1.ErrorCode) {
	t.Helper()
	if got := resp.GetError().GetCode(); got != want {
		t.Fatalf("answer %v, want error %v", resp, want)
	}
}

// flush runs the outbox submitter until the journal is empty.
func (f *fixture) flush() {
	f.t.Helper()
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- f.p.Outbox().Run(ctx) }()
	fctx, fcancel := context.WithTimeout(f.ctx, 30*time.Second)
	err := f.p.Outbox().Flush(fctx)
	fcancel()
	cancel()
	<-done
	must(f.t, err)
}

// failingSource yields one good entry and then fails, as a list file that
// breaks half-way does.
type failingSource struct{}

func (failingSource) Entries(context.Context, uint8) iter.Seq2[catalogpsi.Entry, error] {
	return func(yield func(catalogpsi.Entry, error) bool) {
		id, _ := ident.Normalize("phone", "+8613800138000")
		if !yield(catalogpsi.Entry{ID: id, Label: catalog.Label{Category: 1}}, nil) {
			return
		}
		yield(catalogpsi.Entry{}, errors.New("disk on fire"))
	}
}
