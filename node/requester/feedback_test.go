package requester

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// feedbackNetwork is P1 listing phones 0..9 and P2 listing 5..14, a
// requester whose Quality is q (nil: its own ledger client), and one
// answered query of phones 1, 6, 7 and 20, with both providers' entries
// recorded: P1 hits indexes 0, 1 and 2, P2 indexes 1 and 2. opts set up
// the requester further.
func feedbackNetwork(t *testing.T, q func(n *network) Quality, opts ...func(*setup)) (*network, *Requester, string) {
	t.Helper()
	n := newNetwork(t, 1_000_000, span(0, 10), span(5, 15))
	r := n.newRequester("", func(c *setup) {
		c.Quality = n.requester.ledger
		if q != nil {
			c.Quality = q(n)
		}
		for _, o := range opts {
			o(c)
		}
	})
	ready(t, r)
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 6, 7, 20)})
	for _, p := range n.providers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		must(t, p.node.Outbox().Flush(ctx))
		cancel()
	}
	return n, r, events[0].GetAccepted().GetQueryId()
}

func feedback(queryID, provider string, outcomes ...any) *riskmeshv1.ReportOutcomesRequest {
	req := &riskmeshv1.ReportOutcomesRequest{QueryId: queryID, Provider: provider}
	for i := 0; i+1 < len(outcomes); i += 2 {
		req.Hits = append(req.Hits, &riskmeshv1.HitFeedback{Index: uint32(outcomes[i].(int)), Outcome: outcomes[i+1].(riskmeshv1.HitOutcome)})
	}
	return req
}

const (
	confirmed = riskmeshv1.HitOutcome_HIT_OUTCOME_CONFIRMED
	wrong     = riskmeshv1.HitOutcome_HIT_OUTCOME_WRONG
)

// TestOutcomeReportsReachTheLedger reports outcomes for P1's hits, revises
// one, and checks the counts the ledger holds after each submission: per
// entry, with the hits nobody reported on as unknown.
func TestOutcomeReportsReachTheLedger(t *testing.T) {
	ctx := context.Background()
	n, r, id := feedbackNetwork(t, nil)
	wantLedger := func(t *testing.T, confirmedN, wrongN, unknownN uint64) {
		t.Helper()
		submitted, err := r.submitFeedback(ctx)
		must(t, err)
		if submitted != 1 {
			t.Fatalf("%d entries submitted, want 1", submitted)
		}
		if again, err := r.submitFeedback(ctx); err != nil || again != 0 {
			t.Fatalf("second pass submitted %d (%v), want nothing left", again, err)
		}
		got, err := n.regulator.Scores(ctx, accounting.QualityQuery{Period: n.period, Provider: "P1MSP", Window: 1})
		must(t, err)
		if len(got) != 1 || got[0].Coverage != 1 || got[0].Entries != 1 || got[0].Items != 4 ||
			got[0].Confirmed != confirmedN || got[0].Wrong != wrongN || got[0].Unknown != unknownN || got[0].Confirmation.Shown {
			t.Fatalf("ledger score %+v, want %d confirmed, %d wrong, %d unknown of 4 items, not shown", got, confirmedN, wrongN, unknownN)
		}
	}
	resp, err := r.ReportOutcomes(ctx, feedback(id, "P1MSP", 0, confirmed, 1, wrong))
	must(t, err)
	if resp.Entries != 1 {
		t.Fatalf("%d entries changed, want 1", resp.Entries)
	}
	wantLedger(t, 1, 1, 1)
	// A revision replaces the earlier outcome.
	_, err = r.ReportOutcomes(ctx, feedback(id, "P1MSP", 1, confirmed))
	must(t, err)
	wantLedger(t, 2, 0, 1)
	// The same outcome again changes nothing.
	resp, err = r.ReportOutcomes(ctx, feedback(id, "P1MSP", 1, confirmed))
	must(t, err)
	if resp.Entries != 0 {
		t.Fatalf("repeating an outcome changed %d entries", resp.Entries)
	}
}

// TestAdversaryOutcomeReports plays a business system reporting what its
// node's answers do not hold: outcomes for identifiers that were no hit,
// for another provider's hits, twice for one hit, or for a query that does
// not exist. The node refuses each before anything is stored, so the
// counts it submits never claim more hits than the provider answered.
func TestAdversaryOutcomeReports(t *testing.T) {
	ctx := context.Background()
	_, r, id := feedbackNetwork(t, nil)
	for name, c := range map[string]struct {
		req  *riskmeshv1.ReportOutcomesRequest
		want error
	}{
		"NotAHit":           {feedback(id, "P1MSP", 3, wrong), ErrInvalidArgument},
		"OtherProvidersHit": {feedback(id, "P2MSP", 0, wrong), ErrInvalidArgument},
		"NotAsked":          {feedback(id, "P9MSP", 0, wrong), ErrInvalidArgument},
		"Twice":             {feedback(id, "P1MSP", 0, wrong, 0, confirmed), ErrInvalidArgument},
		"NoOutcome":         {feedback(id, "P1MSP", 0, riskmeshv1.HitOutcome_HIT_OUTCOME_UNSPECIFIED), ErrInvalidArgument},
		"Empty":             {feedback(id, "P1MSP"), ErrInvalidArgument},
		"UnknownQuery":      {feedback("00", "P1MSP", 0, wrong), ErrNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := r.ReportOutcomes(ctx, c.req); !errors.Is(err, c.want) {
				t.Fatalf("ReportOutcomes = %v, want %v", err, c.want)
			}
		})
	}
	if n, err := r.submitFeedback(ctx); err != nil || n != 0 {
		t.Fatalf("refused reports left %d entries to submit (%v)", n, err)
	}
}

// cannedScores reports fixed scores instead of the ledger's, which need
// three requesters to be shown.
type cannedScores struct {
	Quality
	scores []accounting.QualityScore
}

func (c cannedScores) Scores(context.Context, accounting.QualityQuery) ([]accounting.QualityScore, error) {
	return c.scores, nil
}

// TestQueryQualityOptions checks that a query skips the providers below
// its threshold and ranks merged hits by the providers' scores, and that
// the provider listing shows them.
func TestQueryQualityOptions(t *testing.T) {
	ctx := context.Background()
	score := func(p string, bp uint32) accounting.QualityScore {
		return accounting.QualityScore{Provider: p, Category: testCategory, From: 1, To: 1, Coverage: 3,
			Confirmation: accounting.Rate{BP: bp, Requesters: 3, Shown: true}}
	}
	_, r, _ := feedbackNetwork(t, func(n *network) Quality {
		return cannedScores{Quality: n.requester.ledger, scores: []accounting.QualityScore{score("P1MSP", 5000), score("P2MSP", 9000)}}
	})
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(6), RankByQuality: true})
	res := events[len(events)-1].GetResult()
	var order []string
	for _, h := range res.Items[0].Hits {
		order = append(order, h.Provider)
	}
	if !slices.Equal(order, []string{"P2MSP", "P1MSP"}) {
		t.Fatalf("ranked hits %v, want P2MSP (9000) before P1MSP (5000)", order)
	}
	events = query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(6), MinConfirmationBp: 6000})
	if got := events[0].GetAccepted().GetProviders(); !slices.Equal(got, []string{"P2MSP"}) {
		t.Fatalf("providers asked above 6000 bp: %v, want P2MSP", got)
	}
	for name, req := range map[string]*riskmeshv1.QueryRequest{
		"PastFullRate":  {Category: testCategory, Identifiers: phones(6), MinConfirmationBp: 10001},
		"WithProviders": {Category: testCategory, Identifiers: phones(6), MinConfirmationBp: 10, Providers: []string{"P1MSP"}},
		"NobodyReaches": {Category: testCategory, Identifiers: phones(6), MinConfirmationBp: 9500},
	} {
		err := r.Query(ctx, req, func(*riskmeshv1.QueryEvent) error { return nil })
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: Query = %v, want ErrInvalidArgument", name, err)
		}
	}
	list, err := r.Providers(ctx, &riskmeshv1.ProvidersRequest{})
	must(t, err)
	got := map[string]uint32{}
	for _, p := range list.Providers {
		for _, q := range p.Quality {
			if q.Category == testCategory && q.Shown && q.MultiplierBp == 10000 {
				got[p.MspId] = q.ConfirmationBp
			}
		}
	}
	if got["P1MSP"] != 5000 || got["P2MSP"] != 9000 {
		t.Fatalf("provider listing scores %v", got)
	}
}

// TestFeedbackRetention: the entry totals go with their period, a query's
// outcomes with the query.
func TestFeedbackRetention(t *testing.T) {
	ctx := context.Background()
	n, r, id := feedbackNetwork(t, nil)
	_, err := r.ReportOutcomes(ctx, feedback(id, "P1MSP", 0, confirmed))
	must(t, err)
	count := func(bucket []byte) int {
		t.Helper()
		k := 0
		must(t, r.store.db.View(func(tx *bolt.Tx) error {
			if b := tx.Bucket(bucket); b != nil {
				k = b.Stats().KeyN
			}
			return nil
		}))
		return k
	}
	if pruned, err := r.store.pruneFeedback(n.period); err != nil || pruned != 0 {
		t.Fatalf("pruning before the period pruned %d (%v)", pruned, err)
	}
	if count(bucketFeedbackEntries) != 1 || count(bucketFeedbackParts) != 1 || count(bucketFeedbackHits) != 1 {
		t.Fatal("feedback not stored")
	}
	must(t, r.store.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketQueries).Delete([]byte(id)) }))
	if pruned, err := r.store.pruneFeedback(n.period + 1); err != nil || pruned != 2 {
		t.Fatalf("pruned %d (%v), want the entry and the query's part", pruned, err)
	}
	if count(bucketFeedbackEntries)+count(bucketFeedbackParts)+count(bucketFeedbackHits) != 0 {
		t.Fatal("feedback left after retention")
	}
}
