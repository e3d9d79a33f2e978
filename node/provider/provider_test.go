package provider

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// A whole look-up against the provider: the catalog is built from the list,
// published on the ledger, downloaded in chunks and verified against the
// ledger's digest; a blinded batch is answered with a valid proof; the
// listed number hits, the other misses; the answer is billed once.
func TestLookupEndToEnd(t *testing.T) {
	f := newFixture(t, nil)
	f.maintain()

	status := f.p.CatalogStatus(category)
	if len(status) != 1 || status[0].GetState() != riskmeshv1.CatalogState_CATALOG_STATE_READY || !status[0].GetServing() || status[0].GetItems() != 2 {
		t.Fatalf("CatalogStatus = %v, want one READY serving catalog of 2 items", status)
	}
	published, err := f.requester.Catalog(f.ctx, providerMSP, category, 1)
	must(t, err)
	info := f.handle(&riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfoRequest{
		Provider: providerMSP, Category: category, Period: 1,
	}}}).GetCatalogInfo()
	if !bytes.Equal(info.GetDigest(), published.Digest) || info.GetItems() != 2 {
		t.Fatalf("CatalogInfo %v does not match the ledger's digest", info)
	}

	data := f.download(f.handle, 1, 100, published.Digest)
	want := [catalog.DigestSize]byte(published.Digest)
	cat, err := catalog.Decode(bytes.NewReader(data), catalog.DecodeConfig{ExpectedDigest: &want})
	must(t, err)
	inst, err := f.requester.Institution(f.ctx, providerMSP)
	must(t, err)
	pub, err := f.key.Public().MarshalBinary()
	must(t, err)
	if !bytes.Equal(inst.OPRFKeys[category], pub) {
		t.Fatal("the provider's OPRF key is not registered on the ledger")
	}
	r, err := catalogpsi.NewRequester(providerMSP, f.key.Public(), category, 1, cat)
	must(t, err)
	listed, _ := ident.Normalize("phone", "+8613800138001")
	other, _ := ident.Normalize("phone", "+8613800138002") // on list 2, not this one
	q, blinded, err := r.Blind(nil, []ident.ID{listed, other})
	must(t, err)
	h := &transcript.Header{
		ProofRule: transcript.ProofBinding128, Protocol: transcript.ProtocolCatalogOPRF, Suite: catalogpsi.Suite, Category: category, Period: 1,
		Requester: requesterMSP, Responder: providerMSP, Sequence: 1, Count: 2, KeyID: f.key.Public().KeyID(),
	}
	ans := f.handle(f.sign(h, blinded)).GetEvaluate()
	if ans == nil {
		t.Fatal("evaluate refused")
	}
	results, err := r.Resolve(q, ans.GetEvaluated(), ans.GetProof())
	must(t, err)
	if !results[0].Hit || results[0].Label.Reason != 8 || results[1].Hit {
		t.Fatalf("results %+v, want a hit with reason 8 then a miss", results)
	}

	f.flush()
	e, err := f.requester.Entry(f.ctx, accounting.EntryKey{Period: 1, Requester: requesterMSP, Responder: providerMSP, Sequence: 1})
	must(t, err)
	if e.Amount != 2*price || e.Count != 2 {
		t.Fatalf("ledger entry bills %d for %d items, want %d for 2", e.Amount, e.Count, 2*price)
	}
	stored, err := f.p.Transcript(1, 1, requesterMSP)
	must(t, err)
	if stored == nil || !bytes.Equal(stored.ResponseSignature, ans.GetResponderSignature()) {
		t.Fatal("transcript not stored with the answer's signature")
	}
}

// A restarted provider serves the catalog file it published instead of
// building and publishing anew.
func TestCatalogSurvivesRestart(t *testing.T) {
	f := newFixture(t, nil)
	f.maintain()
	before := f.p.CatalogStatus(category)[0].GetDigest()
	p2, err := New(f.p.cfg)
	must(t, err)
	f.p = p2
	f.maintain()
	if after := f.p.CatalogStatus(category)[0].GetDigest(); !bytes.Equal(before, after) {
		t.Fatal("restart changed the served catalog")
	}
}

// After a restart in period 2, period 1's published catalog is served again
// for its grace window, superseded by period 2's.
func TestRestartServesPreviousPeriod(t *testing.T) {
	f := newFixture(t, nil)
	f.maintain()
	_, err := f.regulator.Rollover(f.ctx)
	must(t, err)
	f.refresh()
	f.maintain()
	p2, err := New(f.p.cfg)
	must(t, err)
	f.p = p2
	f.maintain()
	status := f.p.CatalogStatus(category)
	if len(status) != 2 || status[0].GetState() != riskmeshv1.CatalogState_CATALOG_STATE_SUPERSEDED || !status[0].GetServing() ||
		status[1].GetState() != riskmeshv1.CatalogState_CATALOG_STATE_READY {
		t.Fatalf("status after restart: %v", status)
	}
	if f.handle(&riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfoRequest{
		Provider: providerMSP, Category: category, Period: 1}}}).GetCatalogInfo() == nil {
		t.Fatal("period 1's catalog is not served after the restart")
	}
}

// Rebuilding unchanged lists for a published period reproduces the same
// digest (the construction seed is derived, not random), so a lost catalog
// file can be rebuilt and the ledger accepts it.
func TestRebuildReproducesDigest(t *testing.T) {
	f := newFixture(t, nil)
	f.maintain()
	before := f.p.CatalogStatus(category)[0].GetDigest()
	must(t, os.RemoveAll(f.p.cfg.DataDir))
	p2, err := New(f.p.cfg)
	must(t, err)
	f.p = p2
	f.maintain()
	if after := f.p.CatalogStatus(category)[0].GetDigest(); !bytes.Equal(before, after) {
		t.Fatal("rebuild produced another digest")
	}
}

func TestCatalogRequests(t *testing.T) {
	f := newFixture(t, nil)
	info := func(provider, cat string, period uint64) *riskmeshv1.PeerRequest {
		return &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfoRequest{
			Provider: provider, Category: cat, Period: period}}}
	}
	wantCode(t, f.handle(info(providerMSP, category, 1)), codeUnavailable) // not built yet
	f.maintain()
	download := func(offset uint64, expected []byte) *riskmeshv1.PeerRequest {
		return &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogDownload{CatalogDownload: &riskmeshv1.CatalogDownloadRequest{
			Provider: providerMSP, Category: category, Period: 1, Offset: offset, ExpectedDigest: expected}}}
	}
	length := f.p.CatalogStatus(category)[0].GetTotalLength()
	for _, tc := range []struct {
		name string
		req  *riskmeshv1.PeerRequest
		want riskmeshv1.ErrorCode
	}{
		{"another provider", info("OtherMSP", category, 1), codeNotFound},
		{"category not provided", info(providerMSP, "grey", 1), codeNotFound},
		{"no catalog for the period", info(providerMSP, category, 7), codeNotFound},
		{"offset at the end", download(length, nil), codeMalformed},
		{"expected digest differs", download(0, make([]byte, 32)), codeNotFound},
		{"expected digest malformed", download(0, make([]byte, 5)), codeMalformed},
		{"no body", &riskmeshv1.PeerRequest{}, codeMalformed},
		{"ECDH not served", &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Ecdh{Ecdh: &riskmeshv1.ECDHRequest{}}}, codeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, f.handle(tc.req), tc.want) })
	}
}

func TestRefreshReports(t *testing.T) {
	f := newFixture(t, nil)
	imports, err := f.p.Refresh(f.ctx, nil)
	must(t, err)
	if len(imports) != 1 {
		t.Fatalf("%d reports, want 1", len(imports))
	}
	imp := imports[0]
	if imp.GetSource() != "black-csv" || imp.GetAccepted() != 2 || imp.GetRejected() != 1 || imp.GetRows() != 3 ||
		len(imp.GetRejectedRows()) != 1 || imp.GetRejectedRows()[0].GetLine() != 5 || imp.GetError() != "" {
		t.Fatalf("report %v, want 2 accepted and row 5 rejected", imp)
	}
	if strings := imp.GetRejectedRows()[0].GetReason(); bytes.Contains([]byte(strings), []byte("12345")) {
		t.Fatal("rejection reason repeats the identifier")
	}
	if _, err := f.p.Refresh(f.ctx, []string{"nope"}); !errors.Is(err, ErrUnknownSource) {
		t.Fatalf("Refresh of an unknown source: %v", err)
	}
}

// A maintenance pass leaves the rest of a period's catalogs unbuilt once a
// newer period has opened (the demo rolls from 1 to 3 at once): the
// period-1 build of the first category opens period 2 while it reads its
// source, and the second category is then built for period 2 only.
func TestMaintainSkipsSupersededPeriod(t *testing.T) {
	var (
		once     sync.Once
		f        *fixture
		rollover error
	)
	const first = "amber" // sorts before category, so its build runs first
	open := func() (io.ReadCloser, error) {
		once.Do(func() {
			if _, rollover = f.regulator.Rollover(f.ctx); rollover == nil {
				rollover = f.dir.Refresh(f.ctx)
			}
		})
		return io.NopCloser(strings.NewReader("phone,cat,reason,listed\n+8613800138010,3,7,2024-03-01\n")), nil
	}
	src, err := lists.NewDelimited(open, lists.DelimitedConfig{Mapping: lists.Mapping{ID: "phone", FixedType: "phone", Category: "cat", Reason: "reason", Listed: "listed"}})
	must(t, err)
	key, err := oprf.GenerateKey(nil)
	must(t, err)
	f = newFixture(t, func(c *Config) {
		c.Keys[first] = key
		c.Sources = append(c.Sources, Source{Name: "amber-csv", Category: first, Code: 3, Source: src})
	})
	must(t, f.regulator.SetPrice(f.ctx, first, price))
	f.refresh()

	f.p.maintain(f.ctx)
	must(t, rollover)
	if f.dir.View().Period.Number != 2 {
		t.Fatalf("the first build did not open period 2")
	}
	for _, st := range f.p.CatalogStatus(category) {
		if st.Period == 1 {
			t.Fatalf("%s was built for the superseded period 1: %v", category, st)
		}
	}
	f.p.maintain(f.ctx)
	var built bool
	for _, st := range f.p.CatalogStatus(category) {
		built = built || st.Period == 2 && st.State == riskmeshv1.CatalogState_CATALOG_STATE_READY
	}
	if !built {
		t.Fatalf("%s not built for period 2 by the next pass: %v", category, f.p.CatalogStatus(category))
	}
}
