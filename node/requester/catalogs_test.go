package requester

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// catalogFile is where the mirror of the requester newRequester opened in
// dir keeps provider's catalog for period (the layout mirror.Config's
// CatalogDir documents).
func catalogFile(dir, provider string, period uint64) string {
	return filepath.Join(dir, "catalogs", provider, testCategory, strconv.FormatUint(period, 10)+".cat")
}

// catalogState returns the state of provider's catalog for period, or
// UNSPECIFIED if the requester does not track it.
func catalogState(r *Requester, provider string, period uint64) riskmeshv1.CatalogState {
	for _, c := range mirrorOf(r).RemoteCatalogs() {
		if c.Provider == provider && c.Period == period {
			return c.State
		}
	}
	return riskmeshv1.CatalogState_CATALOG_STATE_UNSPECIFIED
}

// waitCatalog waits, attempt by attempt, until cond holds.
func waitCatalog(t *testing.T, r *Requester, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		changed := mirrorOf(r).Changes() // before the check: no change is missed
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("timed out waiting for %s: %v", what, mirrorOf(r).RemoteCatalogs())
		}
	}
}

func TestCatalogDownloadResumesFromPartialFile(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 2000))
	p := n.providers[0]
	// A first node downloads the whole catalog; a second one finds the
	// first 3 chunks of it left by an interrupted download.
	firstDir := t.TempDir()
	first := n.newRequester(firstDir, nil)
	ready(t, first)
	enc, err := os.ReadFile(catalogFile(firstDir, p.msp, n.period))
	must(t, err)
	rec, err := n.regulator.Catalog(context.Background(), p.msp, testCategory, n.period)
	must(t, err)
	before := len(p.downloadOffsets())

	dir := t.TempDir()
	r := n.newRequester(dir, nil)
	final := catalogFile(dir, p.msp, n.period)
	must(t, os.MkdirAll(filepath.Dir(final), 0o700))
	part := final + "." + hex.EncodeToString(rec.Digest[:8]) + ".part"
	must(t, os.WriteFile(part, enc[:3*4096], 0o600))
	ready(t, r)
	offsets := p.downloadOffsets()[before:]
	if len(offsets) == 0 || offsets[0] != 3*4096 {
		t.Fatalf("download offsets %v, want to start at %d", offsets, 3*4096)
	}
	if _, err := os.Stat(final); err != nil {
		t.Fatalf("catalog not kept on disk: %v", err)
	}
	c := mirrorOf(r).RemoteCatalogs()[0]
	if c.Items != 2000 || c.BytesDone != uint64(len(enc)) || c.TotalLength != uint64(len(enc)) {
		t.Fatalf("status %v", c)
	}
	offsets = p.downloadOffsets()

	// A restarted node verifies the file it has instead of downloading.
	must(t, r.Close())
	must(t, r.cfg.DB.Close())
	r2 := n.newRequester(dir, nil)
	ready(t, r2)
	if got := len(p.downloadOffsets()); got != len(offsets) {
		t.Fatalf("restart downloaded again (%d requests, had %d)", got, len(offsets))
	}
}

func TestCatalogDownloadWaitsOutRateLimits(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 500))
	p := n.providers[0]
	p.set(func(p *testProvider) { p.limited = 3 })
	r := n.newRequester("", nil)
	ready(t, r)
	offsets := p.downloadOffsets()
	if len(offsets) < 5 || offsets[0] != 0 || offsets[3] != 0 || offsets[4] != 4096 {
		t.Fatalf("download offsets %v: want the first offset asked 4 times", offsets)
	}
}

func TestCatalogWithBadBytesIsRetried(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 500))
	p := n.providers[0]
	p.set(func(p *testProvider) { p.corrupt = true })
	var (
		mu  sync.Mutex
		now = time.Now()
	)
	dir := t.TempDir()
	r := n.newRequester(dir, func(c *setup) {
		c.mirror.CatalogRetry = time.Hour
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	syncNow(r)
	if s := catalogState(r, p.msp, n.period); s != riskmeshv1.CatalogState_CATALOG_STATE_FAILED {
		t.Fatalf("state %v after bad bytes", s)
	}
	if matches, _ := filepath.Glob(catalogFile(dir, p.msp, n.period) + "*"); len(matches) != 0 {
		t.Fatalf("bad bytes kept: %v", matches)
	}
	p.set(func(p *testProvider) { p.corrupt = false })
	syncNow(r) // within the back-off: no attempt
	if s := catalogState(r, p.msp, n.period); s != riskmeshv1.CatalogState_CATALOG_STATE_FAILED {
		t.Fatalf("state %v within the back-off", s)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	ready(t, r)
}

func TestRunFollowsNewPeriods(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 100))
	p := n.providers[0]
	dir := t.TempDir()
	r := n.newRequester(dir, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- r.Run(ctx) }()
	go func() { done <- mirrorOf(r).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
		}
	})
	waitCatalog(t, r, "period 1", func() bool {
		return catalogState(r, p.msp, 1) == riskmeshv1.CatalogState_CATALOG_STATE_READY
	})
	old := catalogFile(dir, p.msp, 1)

	// The regulator opens period 2 and the provider publishes its catalog.
	if _, err := n.regulator.Rollover(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.refresh()
	n.waitPublished(2)
	waitCatalog(t, r, "period 2", func() bool {
		return catalogState(r, p.msp, 2) == riskmeshv1.CatalogState_CATALOG_STATE_READY
	})
	if s := catalogState(r, p.msp, 1); s != riskmeshv1.CatalogState_CATALOG_STATE_UNSPECIFIED {
		t.Fatalf("period 1 catalog still tracked: %v", s)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("period 1 catalog file: %v", err)
	}
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(5)})
	res := events[len(events)-1].GetResult()
	if res.Providers[0].Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || len(res.Items[0].Hits) != 1 {
		t.Fatalf("query in period 2: %v", res)
	}
}

func TestProvidersAndBalance(t *testing.T) {
	n := newNetwork(t, 500, span(0, 10), span(0, 10))
	r := n.newRequester("", nil)
	ready(t, r)
	query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2), Providers: []string{"P1MSP"}})
	resp, err := r.Providers(context.Background(), &riskmeshv1.ProvidersRequest{Category: testCategory})
	must(t, err)
	if len(resp.Providers) != 2 || resp.Prices[testCategory] != testPrice || resp.Period != n.period {
		t.Fatalf("providers %v", resp)
	}
	p1, p2 := resp.Providers[0], resp.Providers[1]
	if p1.MspId != "P1MSP" || !p1.Active || !p1.Reachable || len(p1.Catalogs) != 1 ||
		p1.Catalogs[0].State != riskmeshv1.CatalogState_CATALOG_STATE_READY || p1.Endpoint == "" {
		t.Fatalf("P1: %v", p1)
	}
	if p2.MspId != "P2MSP" || len(p2.Catalogs) != 1 {
		t.Fatalf("P2: %v", p2)
	}
	resp, err = r.Providers(context.Background(), &riskmeshv1.ProvidersRequest{Category: "grey"})
	must(t, err)
	if len(resp.Providers) != 0 {
		t.Fatalf("grey providers %v", resp.Providers)
	}
	bal, err := r.Balance(context.Background())
	must(t, err)
	if bal.MspId != requesterMSP || bal.OverdraftLimit != 500 || bal.UnsettledSpend != 2*testPrice ||
		bal.Headroom != 500-2*testPrice || bal.LedgerAsOf == nil || bal.Flagged {
		t.Fatalf("balance %v", bal)
	}
}

func TestRetention(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	var (
		mu        sync.Mutex
		now       = time.Now()
		prunedIDs []string
		prunedMin []uint64
	)
	r := n.newRequester("", func(c *setup) {
		c.QueryRetention = 24 * time.Hour
		c.TranscriptPeriods = 1
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		c.Pruned = func(_ *bolt.Tx, ids []string, minPeriod uint64) error {
			prunedIDs, prunedMin = append(prunedIDs, ids...), append(prunedMin, minPeriod)
			return nil
		}
	})
	ready(t, r)
	ev := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1), ClientRequestId: "old"})
	id := ev[0].GetAccepted().QueryId
	_, seqs := n.providers[0].stats()
	must(t, r.prune())
	if _, err := r.GetQuery(context.Background(), id); err != nil {
		t.Fatalf("young query pruned: %v", err)
	}

	// A day later, in period 3, the record and the period 1 transcript go.
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	for range 2 {
		_, err := n.regulator.Rollover(context.Background())
		must(t, err)
		must(t, n.regulator.ClosePeriod(context.Background(), n.period))
		n.period++
	}
	n.refresh()
	must(t, r.prune())
	if _, err := r.GetQuery(context.Background(), id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old query: %v", err)
	}
	if _, err := r.Transcript(1, "P1MSP", seqs[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old transcript: %v", err)
	}
	must(t, r.cfg.DB.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketClientIDs).Get([]byte("old")) != nil {
			t.Error("client request id of a pruned query kept")
		}
		return nil
	}))
	if !slices.Equal(prunedIDs, []string{id}) || len(prunedMin) != 2 || prunedMin[1] != n.period-1 {
		t.Fatalf("Pruned told of queries %v and periods below %v, want only %s, then below %d", prunedIDs, prunedMin, id, n.period-1)
	}
}

func TestEndpointAnsweredByAnotherInstitutionIsRefused(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10), span(0, 10))
	p1, p2 := n.providers[0], n.providers[1]
	// P1's registry record now points at P2's node.
	must(t, p1.ledger.UpdateProfile(context.Background(), accounting.Profile{Endpoint: p2.srv.Addr().String()}))
	n.refresh()
	r := n.newRequester("", nil)
	syncNow(r)
	if s := catalogState(r, p1.msp, n.period); s != riskmeshv1.CatalogState_CATALOG_STATE_FAILED {
		t.Fatalf("P1's catalog through P2's node: %v", s)
	}
	for _, c := range mirrorOf(r).RemoteCatalogs() {
		if c.Provider == p1.msp && !strings.Contains(c.Error, "another institution") {
			t.Fatalf("P1's catalog error: %q", c.Error)
		}
	}
	if got := p2.downloadOffsets(); len(got) == 0 {
		t.Fatal("P2's own catalog was not downloaded")
	}
}
