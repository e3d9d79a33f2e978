package requester

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/hepsi"
)

// Live query versions as psi/hepsi writes them: the first byte of a query.
const (
	carriesKey = 1
	namesKey   = 2
)

// liveKeyTraffic returns the live key uploads p received and the version
// of each live query.
func liveKeyTraffic(p *testProvider) (uploads int, versions []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keyUploads, bytes.Clone(p.liveVersions)
}

// runRequester runs r.Run until the test ends or the returned stop is
// called.
func runRequester(t *testing.T, r *Requester) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitUploads waits until p has received n live key uploads and r knows
// the provider holds its key.
func waitUploads(t *testing.T, r *Requester, p *testProvider, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		uploads, _ := liveKeyTraffic(p)
		if uploads >= n && r.preparedLiveKeys() > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d live key uploads after 2 minutes, want %d", uploads, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// askLiveAnswered runs a live query of ids through r and fails unless the
// provider's part is answered.
func askLiveAnswered(t *testing.T, n *network, r *Requester, ids ...int) *riskmeshv1.ProviderResult {
	t.Helper()
	part, _ := liveExchange(t, n, r, 5*time.Minute, ids...)
	if part.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		t.Fatalf("part %v (%v)", part.Status, part.Error)
	}
	return part
}

// TestLiveKeysAhead: a node that starts makes its key pair for the
// live-only provider in the background and uploads the evaluation key,
// once; its first live query then names the key by digest, as does the
// next. A node restarted on the same database makes a new key pair and
// uploads it, and its first query names the new key.
func TestLiveKeysAhead(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	p := n.providers[0]
	dir := t.TempDir()
	first := n.newRequester(dir, nil)
	stop := runRequester(t, first)
	waitUploads(t, first, p, 1)
	for range 2 {
		askLiveAnswered(t, n, first, 3, 40)
	}
	if uploads, versions := liveKeyTraffic(p); uploads != 1 || !bytes.Equal(versions, []byte{namesKey, namesKey}) {
		t.Fatalf("%d uploads and query versions %v, want one upload and both queries naming the key", uploads, versions)
	}
	stop()
	must(t, first.Close())
	must(t, first.cfg.DB.Close())

	again := n.newRequester(dir, nil)
	runRequester(t, again)
	waitUploads(t, again, p, 2)
	askLiveAnswered(t, n, again, 3)
	if uploads, versions := liveKeyTraffic(p); uploads != 2 || !bytes.Equal(versions, []byte{namesKey, namesKey, namesKey}) {
		t.Fatalf("after the restart: %d uploads and query versions %v, want two uploads and every query naming its key", uploads, versions)
	}
}

// TestLiveKeyLostFallsBack: the provider lost the key uploaded ahead (a
// restart): the first query, naming it, is refused UNKNOWN_KEY and sent
// again with the key, answered and billed once; the next query names the
// key again.
func TestLiveKeyLostFallsBack(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	p := n.providers[0]
	r := n.newRequester("", nil)
	if failed := r.prepareLiveKeys(context.Background()); failed {
		t.Fatal("preparing the live keys failed")
	}
	p.set(func(p *testProvider) { p.liveForget = 1 })
	for range 2 {
		if part := askLiveAnswered(t, n, r, 3, 40); part.Amount != 2*testLivePrice {
			t.Fatalf("part billing %d, want %d", part.Amount, 2*testLivePrice)
		}
	}
	if uploads, versions := liveKeyTraffic(p); uploads != 1 || !bytes.Equal(versions, []byte{namesKey, carriesKey, namesKey}) {
		t.Fatalf("%d uploads and query versions %v, want one upload, then by digest refused, with the key, by digest", uploads, versions)
	}
}

// TestLiveKeyLostAfterAnswer: the provider takes a query naming the key
// by digest and answers it, and restarts before the answer arrives: the
// restarted node holds neither the key nor the answer, and has the
// exchange's step recorded as taken by that query. The node's identical
// retry is refused UNKNOWN_KEY; it sends the same query carrying the key,
// which has the same digest and signature, so the provider knows it as
// the exchange's query and evaluates it again (a query encrypted afresh
// would be another query on a taken step, refused REPLAYED_SEQUENCE). The
// part is answered, finds the listed identifier, is billed for its one
// POPRF step, and the node keeps the provider's receipt for the query it
// signed.
func TestLiveKeyLostAfterAnswer(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	p := n.providers[0]
	r := n.newRequester("", nil)
	if failed := r.prepareLiveKeys(context.Background()); failed {
		t.Fatal("preparing the live keys failed")
	}
	p.set(func(p *testProvider) { p.liveLose, p.restartOnLoss = 1, true })
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(3, 40), Mode: riskmeshv1.QueryMode_QUERY_MODE_LIVE})
	p.mu.Lock()
	failure, evaluates, queries := p.failure, p.evaluates, slices.Clone(p.liveQueries)
	p.mu.Unlock()
	must(t, failure)
	res := events[len(events)-1].GetResult()
	part := providerResult(t, res, p.msp)
	if part.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || part.Amount != 2*testLivePrice {
		t.Fatalf("part %v billing %d, want answered billing %d (%v)", part.Status, part.Amount, 2*testLivePrice, part.Error)
	}
	if hits := hitsOf(res); len(hits) != 1 || len(hits[0]) != 1 {
		t.Fatalf("hits %v, want the listed identifier's only", hits)
	}
	if uploads, versions := liveKeyTraffic(p); uploads != 1 || !bytes.Equal(versions, []byte{namesKey, namesKey, carriesKey}) {
		t.Fatalf("%d uploads and query versions %v, want one upload, then by digest answered and lost, by digest refused, with the key", uploads, versions)
	}
	if evaluates != 1 || queries[0] != queries[1] {
		t.Fatalf("%d POPRF steps, live queries %x: want one step and the identical query retried", evaluates, queries)
	}
	wantLiveReceipt(t, n, r, accounting.EntryKey{Period: n.period, Requester: requesterMSP, Responder: p.msp, Sequence: part.Exchanges[0].Sequence})
}

// TestLiveKeyRace: a query racing the background preparation of the same
// key pair uses that pair (one pair for the provider, category and
// period, whoever asked first), and is answered whether or not the upload
// went first.
func TestLiveKeyRace(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	p := n.providers[0]
	r := n.newRequester("", nil)
	var wg sync.WaitGroup
	wg.Go(func() { r.prepareLiveKeys(context.Background()) })
	askLiveAnswered(t, n, r, 3, 40)
	wg.Wait()
	r.heKeys.mu.Lock()
	pairs := len(r.heKeys.m)
	r.heKeys.mu.Unlock()
	if pairs != 1 {
		t.Fatalf("%d key pairs for one provider, category and period", pairs)
	}
	if uploads, versions := liveKeyTraffic(p); uploads > 1 || len(versions) != 1 {
		t.Fatalf("%d uploads and query versions %v, want at most one upload and one query", uploads, versions)
	}
	// Concurrent askers of one key pair all get it.
	inst, _ := n.dir.View().Institution(p.msp)
	x, refusal := r.liveSetupOf(context.Background(), inst, testCategory, n.period)
	if refusal != nil {
		t.Fatal(refusal.err)
	}
	r.heKeys.m = nil // as on a new period: nothing made yet
	got := make([]*heKey, 4)
	for i := range got {
		wg.Go(func() {
			he, err := r.heKeys.requester(x)
			must(t, err)
			got[i] = he
		})
	}
	wg.Wait()
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("asker %d got another key pair", i)
		}
	}
}

// TestLiveKeysNewPeriod: when the next period opens, the node prepares a
// key pair for it and uploads its key; the period's first query names it.
func TestLiveKeysNewPeriod(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	p := n.providers[0]
	r := n.newRequester("", nil)
	if failed := r.prepareLiveKeys(context.Background()); failed {
		t.Fatal("preparing the live keys failed")
	}
	period, err := n.regulator.Rollover(context.Background())
	must(t, err)
	n.period = period.Number
	n.refresh()
	n.waitPublished(n.period)
	if failed := r.prepareLiveKeys(context.Background()); failed {
		t.Fatal("preparing the live keys of the new period failed")
	}
	askLiveAnswered(t, n, r, 3)
	if uploads, versions := liveKeyTraffic(p); uploads != 2 || !bytes.Equal(versions, []byte{namesKey}) {
		t.Fatalf("%d uploads and query versions %v, want one upload per period and the query naming its key", uploads, versions)
	}
}

// TestLiveKeyUploadOverBudget: the provider's budget of this member's key
// uploads is spent (an earlier run of the node, say): the node's upload is
// refused RATE_LIMITED, and it sends that provider no other upload before
// the refusal's hint; its first live query carries the key and is
// answered, and the next names the key, with no upload needed any more.
func TestLiveKeyUploadOverBudget(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	p := n.providers[0]
	// The provider's upload budget on a held clock: on the real one, a
	// loaded machine taking more than a refill interval over the uploads
	// below would hand the requester a token back.
	held := time.Now()
	p.set(func(p *testProvider) {
		p.cfg.Now = func() time.Time { return held }
		must(t, p.restart(n.period))
	})
	ctx := context.Background()
	as := peer.Identity{MSPID: requesterMSP}
	info := p.node.Handle(ctx, as, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveInfo{LiveInfo: &riskmeshv1.LiveInfoRequest{
		Provider: p.msp, Category: testCategory, Period: n.period,
	}}}).GetLiveInfo()
	var params hepsi.Params
	must(t, params.UnmarshalBinary(info.GetParams()))
	earlier, err := hepsi.NewRequester(params)
	must(t, err)
	key, err := earlier.EvaluationKey().MarshalBinary()
	must(t, err)
	for i := range provider.DefaultLiveKeyBurst {
		if p.node.Handle(ctx, as, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveKey{LiveKey: &riskmeshv1.LiveKeyUpload{
			Provider: p.msp, Category: testCategory, Period: n.period, Key: key,
		}}}).GetLiveKeyStored() == nil {
			t.Fatalf("upload %d of the budget refused", i)
		}
	}

	r := n.newRequester("", nil)
	for i := range 2 {
		if failed := r.prepareLiveKeys(ctx); !failed {
			t.Fatalf("preparation %d over the budget reported no failure", i)
		}
		if uploads, _ := liveKeyTraffic(p); uploads != 1 {
			t.Fatalf("preparation %d: %d uploads sent, want the one refused and none before its hint", i, uploads)
		}
	}
	if r.preparedLiveKeys() != 0 {
		t.Fatal("key refused over the budget counted as held by the provider")
	}
	if r.heKeys.uploadWait(p.msp, time.Now()) <= 0 {
		t.Fatal("uploads to the provider not held back after its RATE_LIMITED refusal")
	}
	for range 2 {
		askLiveAnswered(t, n, r, 3, 40)
	}
	if uploads, versions := liveKeyTraffic(p); uploads != 1 || !bytes.Equal(versions, []byte{carriesKey, namesKey}) {
		t.Fatalf("%d uploads and query versions %v, want the refused upload, the first query carrying the key and the next naming it", uploads, versions)
	}
	if failed := r.prepareLiveKeys(ctx); failed || r.preparedLiveKeys() != 1 {
		t.Fatalf("after the answered query: preparation failed %v, %d keys held, want the key held and nothing to upload", failed, r.preparedLiveKeys())
	}
	if uploads, _ := liveKeyTraffic(p); uploads != 1 {
		t.Fatalf("%d uploads, want no more once the query carried the key", uploads)
	}
}
