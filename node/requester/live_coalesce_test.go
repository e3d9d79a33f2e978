package requester

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// liveQueries returns how many homomorphic queries reached p and the
// sequence numbers of the POPRF steps it answered.
func liveQueries(p *testProvider) (int, []uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.liveQueries), slices.Clone(p.sequences)
}

// liveCoalescing is a network with one live-only provider listing listed
// and a requester whose coalescing window never ends (only the end of a
// request in flight releases a waiting part).
func liveCoalescing(t *testing.T, listed []int) (*network, *Requester, *testProvider) {
	t.Helper()
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, listed)
	r := n.newRequester("", nil)
	windowNeverEnds(r)
	return n, r, n.providers[0]
}

// askLiveAsync starts a live query of phones nums and returns where its
// result arrives, with its query id.
func askLiveAsync(t *testing.T, r *Requester, nums ...int) <-chan *riskmeshv1.QueryRecord {
	t.Helper()
	out := make(chan *riskmeshv1.QueryRecord, 1)
	go func() {
		ev := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(nums...),
			Mode: riskmeshv1.QueryMode_QUERY_MODE_LIVE, Deadline: durationpb.New(5 * time.Minute)})
		rec, err := r.GetQuery(t.Context(), ev[0].GetAccepted().GetQueryId())
		if err != nil {
			t.Errorf("stored query: %v", err)
		}
		out <- rec
	}()
	return out
}

// checkOwnHits fails unless rec, a live query of phones nums at the one
// provider p listing listed, has exactly the hits the plain list gives
// for its own identifiers, with their labels, at its own indices, and is
// billed its own items at the live price on one exchange, seq.
func checkOwnHits(t *testing.T, rec *riskmeshv1.QueryRecord, p *testProvider, listed []int, nums []int, seq uint64) {
	t.Helper()
	var stored *riskmeshv1.ProviderResult
	for _, s := range rec.GetProviderResults() {
		if s.Provider == p.msp {
			stored = s
		}
	}
	if stored.GetStatus() != answered || stored.GetMode() != riskmeshv1.QueryMode_QUERY_MODE_LIVE || stored.GetAmount() != int64(len(nums))*testLivePrice {
		t.Errorf("query of %v: %v by %v billing %d, want answered live billing %d (%v)", nums, stored.GetStatus(), stored.GetMode(),
			stored.GetAmount(), len(nums)*testLivePrice, stored.GetError())
	}
	if ex := stored.GetExchanges(); len(ex) != 1 || ex[0].Sequence != seq || ex[0].Items != uint32(len(nums)) {
		t.Errorf("query of %v: exchanges %v, want sequence %d with its %d items", nums, ex, seq, len(nums))
	}
	var want []uint32
	for i, num := range nums {
		if slices.Contains(listed, num) {
			want = append(want, uint32(i))
		}
	}
	var got []uint32
	for _, h := range stored.GetHits() {
		got = append(got, h.Index)
		if int(h.Index) >= len(nums) {
			t.Errorf("query of %v: a hit at index %d", nums, h.Index)
			continue
		}
		if l := labelOfListed(p.code, nums[h.Index]); h.Label.ReasonCode != uint32(l.Reason) || h.Label.CategoryCode != uint32(l.Category) {
			t.Errorf("query of %v: hit %d labelled %v, want %+v", nums, h.Index, h.Label, l)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("query of %v: hits at %v, want %v", nums, got, want)
	}
}

// TestLiveQueriesCoalesce: over QUIC, while a live exchange to a provider
// is in flight, concurrent live queries to it wait and leave as one
// exchange when it ends: the provider sees one more POPRF step and one
// more homomorphic query, not one per query, and each query gets exactly
// the hits the plain list gives for its own identifiers (one identifier
// asked by two queries included), billed its own items.
func TestLiveQueriesCoalesce(t *testing.T) {
	listed := span(0, 100)
	n, r, p := liveCoalescing(t, listed)
	release := holdInFlight(t, r, p)
	// Query i asks 2i+2 (listed) and 1000+i (not); the last asks 2 again.
	asks := [][]int{{2, 1000}, {4, 1001}, {6, 1002}, {8, 1003}, {10, 1004}, {12, 1005}, {1006, 2}}
	results := make([]<-chan *riskmeshv1.QueryRecord, len(asks))
	for i, nums := range asks {
		results[i] = askLiveAsync(t, r, nums...)
	}
	waitFor(t, "every live part pending", func() bool { return pendingParts(r, p.msp) == len(asks) })
	if evals, _ := p.stats(); evals != 1 {
		t.Fatalf("%d POPRF steps while one was in flight, want the queries held back", evals)
	}
	release()
	recs := make([]*riskmeshv1.QueryRecord, len(asks))
	for i := range asks {
		recs[i] = <-results[i]
	}
	evals, seqs := p.stats()
	he, _ := liveQueries(p)
	if evals != 2 || len(seqs) != 2 || seqs[0] == seqs[1] || he != 2 {
		t.Fatalf("%d POPRF steps (sequences %v) and %d homomorphic queries, want the held exchange's and one for %d queries",
			evals, seqs, he, len(asks))
	}
	for i, nums := range asks {
		checkOwnHits(t, recs[i], p, listed, nums, seqs[1])
	}
	total := 1
	for _, nums := range asks {
		total += len(nums)
	}
	if e := ledgerEntries(t, n); len(e) != 2 || e[0].Amount+e[1].Amount != int64(total)*testLivePrice {
		t.Fatalf("ledger entries %v, want the held exchange and one coalesced, %d items", e, total)
	}
}

// TestAdversaryCoalescedLiveQueriesSeeOnlyTheirOwn plays one caller of the
// node looking for another's live results in a shared exchange: query A
// asks three listed identifiers, then query B, coalesced with it, asks two
// unlisted ones around one listed one. B's stored record (its part and
// its merged items) holds only its own hit at its own index with its own
// label, none of A's (which sit at the same indices of A's share), and
// A's holds its three; each is billed its own items. The order of the two
// in the exchange is then reversed.
func TestAdversaryCoalescedLiveQueriesSeeOnlyTheirOwn(t *testing.T) {
	listed := span(0, 10)
	_, r, p := liveCoalescing(t, listed)
	a, b := []int{3, 5, 7}, []int{2000, 9, 2001}
	for round, order := range [][2][]int{{a, b}, {b, a}} {
		release := holdInFlight(t, r, p)
		first := askLiveAsync(t, r, order[0]...)
		waitFor(t, "the first part pending", func() bool { return pendingParts(r, p.msp) == 1 })
		second := askLiveAsync(t, r, order[1]...)
		waitFor(t, "both parts pending", func() bool { return pendingParts(r, p.msp) == 2 })
		release()
		recs := [2]*riskmeshv1.QueryRecord{<-first, <-second}
		_, seqs := p.stats()
		shared := seqs[len(seqs)-1]
		for i, rec := range recs {
			checkOwnHits(t, rec, p, listed, order[i], shared)
			for _, item := range rec.GetResult().GetItems() {
				for _, h := range item.GetHits() {
					if !slices.Contains(order[i], int(h.Label.ReasonCode)) {
						t.Errorf("round %d: query of %v shows the label of phone %d, not its own", round, order[i], h.Label.ReasonCode)
					}
				}
			}
		}
		if he, _ := liveQueries(p); he != 2*(round+1) {
			t.Fatalf("round %d: %d homomorphic queries, want two a round", round, he)
		}
	}
}

// TestLiveLatePOPRFStep: the provider answers and bills a live exchange's
// POPRF step, but the answer never arrives before the deadline. The part
// is UNAVAILABLE, unbilled so far, and fetched late: the identical request
// gets the provider's stored answer (one sequence, billed once), the
// homomorphic step runs, and the stored record shows the late answer with
// its hits and the receipt is kept.
func TestLiveLatePOPRFStep(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	p := n.providers[0]
	p.set(func(p *testProvider) { p.lose = 1 })
	r := n.newRequester("", nil)
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(3, 40),
		Mode: riskmeshv1.QueryMode_QUERY_MODE_LIVE, Deadline: durationpb.New(2 * time.Second)})
	id := events[0].GetAccepted().GetQueryId()
	part := providerResult(t, events[len(events)-1].GetResult(), p.msp)
	if part.Status != unavailable || part.Amount != 0 || !strings.HasSuffix(part.Error.GetMessage(), lateNote) {
		t.Fatalf("at the deadline: %v billing %d (%v), want unavailable, unbilled, fetched late", part.Status, part.Amount, part.Error)
	}
	waitLate(t, r, "the late POPRF answer", func() bool {
		_, pr := storedPart(t, r, id, p.msp)
		return pr.GetStatus() != unavailable
	})
	rec, got := storedPart(t, r, id, p.msp)
	if got.Status != answered || !got.Late || got.LateChange.GetSource() != riskmeshv1.LateSource_LATE_SOURCE_LATE_ANSWER ||
		got.Amount != 2*testLivePrice || got.Mode != riskmeshv1.QueryMode_QUERY_MODE_LIVE {
		t.Fatalf("late part %v, want a late live answer billing %d", got, 2*testLivePrice)
	}
	if len(got.Hits) != 1 || got.Hits[0].Index != 0 || got.Hits[0].Label.ReasonCode != 3 || !slices.Equal(hitsOf(rec.Result)[0], []string{p.msp}) {
		t.Fatalf("late hits %v, want item 0 only", got.Hits)
	}
	he, seqs := liveQueries(p)
	if len(seqs) < 2 || len(slices.Compact(slices.Clone(seqs))) != 1 || he != 1 {
		t.Fatalf("answered sequences %v and %d homomorphic queries, want one sequence answered again and one query", seqs, he)
	}
	var billed []int64
	for _, e := range ledgerEntries(t, n) {
		if e.Key.Responder == p.msp {
			billed = append(billed, e.Amount)
		}
	}
	if !slices.Equal(billed, []int64{2 * testLivePrice}) {
		t.Fatalf("ledger entries of %s: %v, want one of %d", p.msp, billed, 2*testLivePrice)
	}
	step, err := r.LiveStep(n.period, p.msp, seqs[0])
	must(t, err)
	if !step.Answered() {
		t.Fatal("no receipt kept for the late homomorphic answer")
	}
	// An exchange without a live step says so, not "query not found".
	if _, err := r.LiveStep(n.period, p.msp, seqs[0]+1); !errors.Is(err, ErrNoLiveStep) || !strings.Contains(err.Error(), "live step not found") {
		t.Fatalf("live step of an unknown exchange: %v, want ErrNoLiveStep", err)
	}
}
