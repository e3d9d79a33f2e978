package requester

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// hitsOf returns, per item index, the providers that hit it.
func hitsOf(res *riskmeshv1.QueryResult) map[int][]string {
	out := map[int][]string{}
	for i, item := range res.Items {
		for _, h := range item.Hits {
			out[i] = append(out[i], h.Provider)
		}
	}
	return out
}

// TestQueryPicksModePerProvider: in auto mode a query asks the provider
// with a verified catalog by catalog PSI and the live-only provider (no
// catalog at all) live, over QUIC, and merges their hits as one result;
// each part says how it was answered and bills at its mode's price.
func TestQueryPicksModePerProvider(t *testing.T) {
	// P1 lists 0..9 (catalog), P2 lists 5..14 (live only).
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{2: provider.ServeLive}, span(0, 10), span(5, 15))
	r := n.newRequester("", nil)
	syncNow(r) // P2 has no catalog to verify
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 7, 12, 40)})
	res := events[len(events)-1].GetResult()
	want := map[int][]string{0: {"P1MSP"}, 1: {"P1MSP", "P2MSP"}, 2: {"P2MSP"}}
	got := hitsOf(res)
	for i := range 4 {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("item %d: hits %v, want %v", i, got[i], want[i])
		}
	}
	for _, h := range res.Items[2].Hits {
		if l := labelOfListed(2, 12); h.Label.ReasonCode != uint32(l.Reason) || h.Label.CategoryCode != uint32(l.Category) {
			t.Errorf("live hit label %v, want %+v", h.Label, l)
		}
	}
	for msp, w := range map[string]struct {
		mode   riskmeshv1.QueryMode
		amount int64
	}{
		"P1MSP": {riskmeshv1.QueryMode_QUERY_MODE_CATALOG, 4 * testPrice},
		"P2MSP": {riskmeshv1.QueryMode_QUERY_MODE_LIVE, 4 * testLivePrice},
	} {
		p := providerResult(t, res, msp)
		if p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || p.Mode != w.mode || p.Amount != w.amount {
			t.Errorf("%s: %v by %v billing %d, want answered by %v billing %d (%v)", msp, p.Status, p.Mode, p.Amount, w.mode, w.amount, p.Error)
		}
	}
}

// TestQueryLiveModeForced: a query asking for live mode is refused by a
// provider serving catalogs only, unbilled, and answered live by one that
// serves both.
func TestQueryLiveModeForced(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{2: provider.ServeCatalog | provider.ServeLive}, span(0, 10), span(5, 15))
	r := n.newRequester("", nil)
	ready(t, r)
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(7), Mode: riskmeshv1.QueryMode_QUERY_MODE_LIVE})
	res := events[len(events)-1].GetResult()
	p1, p2 := providerResult(t, res, "P1MSP"), providerResult(t, res, "P2MSP")
	if p1.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED || p1.Error.GetCode() != riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND || p1.Amount != 0 {
		t.Errorf("catalog-only provider asked live: %v %v billing %d", p1.Status, p1.Error, p1.Amount)
	}
	if p2.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || p2.Mode != riskmeshv1.QueryMode_QUERY_MODE_LIVE {
		t.Errorf("provider serving both asked live: %v by %v", p2.Status, p2.Mode)
	}
	if got := hitsOf(res)[0]; !slices.Equal(got, []string{"P2MSP"}) {
		t.Errorf("hits %v, want P2MSP's", got)
	}
}

// TestAdversaryProviderWeakLiveParams: a provider announcing homomorphic
// parameters below the security table (a ring too large for its degree)
// is refused before this node pays for a POPRF step: no evaluate request
// reaches it and nothing is billed.
func TestAdversaryProviderWeakLiveParams(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	n.providers[0].set(func(p *testProvider) { p.weakLive = true })
	r := n.newRequester("", nil)
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1)})
	p := providerResult(t, events[len(events)-1].GetResult(), "P1MSP")
	if p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED || p.Error.GetCode() != riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED ||
		!strings.Contains(p.Error.GetMessage(), "exceeds 109") || p.Amount != 0 {
		t.Fatalf("weak parameters: %v %v billing %d", p.Status, p.Error, p.Amount)
	}
	if evaluates, _ := n.providers[0].stats(); evaluates != 0 {
		t.Fatalf("%d evaluate requests sent after weak parameters", evaluates)
	}
}

// TestLiveSendsKeyOnce: over QUIC, the node's first live query to a
// provider carries its evaluation key and the second names it by digest,
// about 1.57 MB less upload; when the provider no longer holds the key
// (UNKNOWN_KEY), the node sends that exchange's query again with the key,
// once, and the part is answered and billed for its one POPRF step.
func TestLiveSendsKeyOnce(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	p := n.providers[0]
	r := n.newRequester("", nil)
	for range 2 {
		if part, _ := liveExchange(t, n, r, 5*time.Minute, 3, 40); part.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			t.Fatalf("part %v (%v)", part.Status, part.Error)
		}
	}
	p.set(func(p *testProvider) { p.liveForget = 1 })
	part, _ := liveExchange(t, n, r, 5*time.Minute, 3, 40)
	if part.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || part.Amount != 2*testLivePrice {
		t.Fatalf("after UNKNOWN_KEY: part %v billing %d, want answered billing %d (%v)", part.Status, part.Amount, 2*testLivePrice, part.Error)
	}
	p.mu.Lock()
	sizes, evaluates := slices.Clone(p.liveSizes), p.evaluates
	p.mu.Unlock()
	const keySize = 1_500_000
	if evaluates != 3 || len(sizes) != 4 {
		t.Fatalf("%d POPRF steps and %d live queries, want 3 and 4", evaluates, len(sizes))
	}
	withKey, named, refused, resent := sizes[0], sizes[1], sizes[2], sizes[3]
	if withKey-named < keySize || refused != named || resent != withKey {
		t.Fatalf("live query sizes %v: want with key, by digest (over %d bytes less), by digest refused, with key", sizes, keySize)
	}
}

// TestLiveReplayedSequenceIsResigned: a second node of the institution
// with a fresh database (two nodes sharing an identity, or one restored
// from an old backup) numbers its exchanges from 1 again. Its live POPRF
// step, refused REPLAYED_SEQUENCE as the provider holds another request
// under that number, is signed again under a fresh number, once, as a
// catalog request is, and answered; only the answered step is billed.
func TestLiveReplayedSequenceIsResigned(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	first := n.newRequester("", nil)
	if part, _ := liveExchange(t, n, first, 5*time.Minute, 3); part.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		t.Fatalf("first node's part %v (%v)", part.Status, part.Error)
	}
	r := n.newRequester("", nil)
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(4, 40), Mode: riskmeshv1.QueryMode_QUERY_MODE_LIVE})
	res := events[len(events)-1].GetResult()
	part := providerResult(t, res, n.providers[0].msp)
	if part.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || part.Attempts != 2 || part.Amount != 2*testLivePrice {
		t.Fatalf("second node's part %v after %d attempts billing %d (%v): want answered on the second attempt billing %d",
			part.Status, part.Attempts, part.Amount, part.Error, 2*testLivePrice)
	}
	if hits := hitsOf(res); len(hits) != 1 || !slices.Equal(hits[0], []string{n.providers[0].msp}) {
		t.Fatalf("hits %v, want the listed identifier's only", hits)
	}
	if _, seqs := n.providers[0].stats(); !slices.Equal(seqs, []uint64{1, 2}) {
		t.Fatalf("answered sequences %v, want 1 then 2", seqs)
	}
}
