package demo

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// The quality scene (docs/quality.md): Unreliable's list carries planted
// false positives. In period 1 every institution asks every other one about
// a batch of its own and reports, through its node's business API, each
// hit confirmed or, for a planted false positive, wrong; the scene reads
// the scores the ledger derives and checks them against the plant. After
// period 1's snapshot the regulator sets a quality policy and rolls over:
// the new period bills Unreliable at its lower tier's price, the business
// API's provider listing shows why, and a query ranked by quality lists
// Unreliable's hits after the others'.

const (
	// Unreliable is the provider whose list carries planted false
	// positives.
	Unreliable = "Bank1MSP"
	// falsePositives is the fraction of Unreliable's entries planted false.
	falsePositives = 0.2
	// qualityBatchSize is the identifiers each institution asks about in
	// the quality scene: all valid and distinct, so every hit is one item.
	qualityBatchSize = 200
	// qualityWait bounds the wait for the feedback to reach the ledger
	// (the nodes retry every 10 s while an entry is not recorded yet).
	qualityWait = 2 * time.Minute
)

// qualityPolicy is the policy the regulator sets: a provider whose
// requesters confirm at least 90% of its hits keeps the price, the others
// are paid half. Its window of three periods keeps period 1's reports in
// the rolling score of period 3, which ranks that period's queries.
var qualityPolicy = accounting.QualityPolicy{
	MinRequesters: 3, Window: 3,
	Tiers: []accounting.QualityTier{{MinConfirmation: 9000, Multiplier: 10000}, {MinConfirmation: 0, Multiplier: 5000}},
}

// qualityBatches draws each institution's batch for the quality scene. A
// batch for another institution than Unreliable carries a sixth of its
// hits as Unreliable's false positives; the other hits are at most five
// sixths of them, so Unreliable's confirmation rate stays below 8,334
// basis points, under the policy's first tier, whatever the draw.
func qualityBatches(cons *synth.Consortium, seed uint64, scale int) (map[string]*synth.Batch, error) {
	hits := min(60, scale/25)
	out := map[string]*synth.Batch{}
	for i, inst := range institutions() {
		cfg := synth.BatchConfig{Seed: seed + 1 + uint64(i), Category: category, Size: qualityBatchSize, Hits: hits, MultiHits: min(hits/6, scale/330)}
		if inst.MSPID != Unreliable {
			cfg.FalseHits = hits / 6
		}
		b, err := cons.Batch(cfg)
		if err != nil {
			return nil, fmt.Errorf("quality batch of %s: %w", inst.MSPID, err)
		}
		out[inst.MSPID] = b
	}
	return out, nil
}

// tally is what one requester reports on one provider's hits.
type tally struct{ confirmed, wrong uint64 }

// plantedTallies is what each requester finds of each provider's hits in
// its batch, by provider then requester: a planted false positive is
// wrong, every other hit confirmed.
func plantedTallies(batches map[string]*synth.Batch) map[string]map[string]tally {
	out := map[string]map[string]tally{}
	for r, b := range batches {
		for _, it := range b.Items {
			for _, h := range it.Hits {
				if h.Provider == r {
					continue // nobody asks itself
				}
				if out[h.Provider] == nil {
					out[h.Provider] = map[string]tally{}
				}
				t := out[h.Provider][r]
				if h.False {
					t.wrong++
				} else {
					t.confirmed++
				}
				out[h.Provider][r] = t
			}
		}
	}
	return out
}

// expectScore is the score the ledger must derive from one provider's
// tallies, by docs/quality.md's rule: each requester's own rates, then
// their median, shown from the policy's minimum of requesters.
func expectScore(provider string, byRequester map[string]tally, minRequesters int) Score {
	s := Score{Provider: provider, Coverage: uint32(len(byRequester))}
	var conf, wrong []uint32
	for _, t := range byRequester {
		s.Confirmed += t.confirmed
		s.Wrong += t.wrong
		hits := t.confirmed + t.wrong
		conf = append(conf, uint32(t.confirmed*chaincode.BasisPoints/hits))
		wrong = append(wrong, uint32(t.wrong*chaincode.BasisPoints/hits))
	}
	if len(byRequester) < minRequesters {
		return s
	}
	slices.Sort(conf)
	slices.Sort(wrong)
	s.Shown, s.Values = true, conf
	s.ConfirmationBP, s.WrongRateBP = middle(conf), middle(wrong)
	return s
}

// middle is the median of sorted values, the mean of the two middle ones
// (rounded down) for an even count.
func middle(v []uint32) uint32 {
	k := len(v)
	if k%2 == 0 {
		return uint32((uint64(v[k/2-1]) + uint64(v[k/2])) / 2)
	}
	return v[k/2]
}

// tier is the policy tier a shown confirmation rate places a provider in.
func tier(bp uint32) int {
	for i, t := range qualityPolicy.Tiers {
		if bp >= t.MinConfirmation {
			return i
		}
	}
	return len(qualityPolicy.Tiers) - 1
}

// feedback is the first half of the quality scene, in period 1: every
// institution queries its batch, acts on the hits and reports the outcomes
// through its node; the scene waits until the ledger's scores are the ones
// the planted false positives imply.
func (d *session) feedback(ctx context.Context) error {
	done := d.step("feedback", fmt.Sprintf("quality feedback: each institution asks the others about %d identifiers and reports each hit confirmed or wrong (%s's list carries planted false positives)",
		qualityBatchSize, Unreliable))
	before, err := d.net.Entries(ctx, 1)
	if err != nil {
		return err
	}
	seen := map[accounting.EntryKey]bool{}
	for _, e := range before {
		seen[e.Key] = true
	}
	type answered struct {
		requester, id string
		res           *riskmeshv1.QueryResult
	}
	var runs []answered
	var amount int64
	for _, inst := range institutions() {
		r, b := inst.MSPID, d.qualityBatches[inst.MSPID]
		if err := d.net.WaitCatalogs(ctx, r, category.String(), 1, nil); err != nil {
			return err
		}
		client, err := d.net.Client(r)
		if err != nil {
			return err
		}
		id, res, err := runQueryID(ctx, client, b.Request())
		if err != nil {
			return fmt.Errorf("quality query of %s: %w", r, err)
		}
		for _, p := range res.GetProviders() {
			if p.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
				return fmt.Errorf("quality query of %s: provider %s did not answer: %v", r, p.GetProvider(), p.GetStatus())
			}
		}
		if err := b.Check(res); err != nil {
			return fmt.Errorf("quality query of %s: %w", r, err)
		}
		runs = append(runs, answered{r, id, res})
		amount += res.GetAmount()
	}
	// A report needs its entry on the ledger; the nodes would retry, but
	// only every 10 s.
	added, err := d.waitEntries(ctx, "the quality queries' accounting entries", 1, seen, amount)
	if err != nil {
		return err
	}
	q := &Quality{Provider: Unreliable, Policy: qualityPolicy}
	for _, e := range added {
		q.Entries = append(q.Entries, entryOf(e))
	}
	for _, run := range runs {
		if err := d.report(ctx, run.requester, run.id, run.res); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.out, "   %d queries, %d entries for %d tokens; every hit reported to the requester's node, which sends the counts to the ledger\n", len(runs), len(added), amount)

	tallies := plantedTallies(d.qualityBatches)
	for _, p := range slices.Sorted(maps.Keys(tallies)) {
		q.Scores = append(q.Scores, expectScore(p, tallies[p], int(qualityPolicy.MinRequesters)))
		for _, r := range slices.Sorted(maps.Keys(tallies[p])) {
			q.Reports = append(q.Reports, Report{Requester: r, Provider: p, Confirmed: tallies[p][r].confirmed, Wrong: tallies[p][r].wrong})
		}
	}
	wctx, cancel := context.WithTimeout(ctx, qualityWait)
	defer cancel()
	err = d.net.Wait(wctx, "the scores of period 1", func() error {
		got, err := d.net.Admin().Scores(wctx, accounting.QualityQuery{Period: 1, Category: category.String(), Window: 1})
		if err != nil {
			return err
		}
		return scoresMatch(q.Scores, got)
	})
	if err != nil {
		return err
	}
	printScores(d.out, q.Scores)
	bad := q.score(Unreliable)
	if bad == nil || !bad.Shown || tier(bad.ConfirmationBP) != len(qualityPolicy.Tiers)-1 {
		return fmt.Errorf("quality: %s's planted false positives give it no score in the lowest tier: %+v", Unreliable, bad)
	}
	d.summary.Quality = q
	done()
	return nil
}

// report acts on the hits of one answered query as the requester's
// business would: each hit of a provider is confirmed, or wrong when the
// listing is a planted false positive, and reported through the
// requester's node, one call per provider.
func (d *session) report(ctx context.Context, requester, queryID string, res *riskmeshv1.QueryResult) error {
	client, err := d.net.Client(requester)
	if err != nil {
		return err
	}
	b := d.qualityBatches[requester]
	byProvider := map[string][]*riskmeshv1.HitFeedback{}
	for _, it := range res.GetItems() {
		for _, h := range it.GetHits() {
			outcome := riskmeshv1.HitOutcome_HIT_OUTCOME_CONFIRMED
			for _, want := range b.Items[it.GetIndex()].Hits {
				if want.Provider == h.GetProvider() && want.False {
					outcome = riskmeshv1.HitOutcome_HIT_OUTCOME_WRONG
				}
			}
			byProvider[h.GetProvider()] = append(byProvider[h.GetProvider()], &riskmeshv1.HitFeedback{Index: it.GetIndex(), Outcome: outcome})
		}
	}
	for _, p := range slices.Sorted(maps.Keys(byProvider)) {
		_, err := client.ReportOutcomes(ctx, &riskmeshv1.ReportOutcomesRequest{QueryId: queryID, Provider: p, Hits: byProvider[p]})
		if err != nil {
			return fmt.Errorf("quality: %s's report on %s: %w", requester, p, err)
		}
	}
	return nil
}

// scoresMatch compares the ledger's scores with the expected ones: the
// same providers, each with the same coverage, totals and rates.
func scoresMatch(want []Score, got []accounting.QualityScore) error {
	var errs []string
	byProvider := map[string]accounting.QualityScore{}
	for _, s := range got {
		byProvider[s.Provider] = s
	}
	for _, w := range want {
		s, ok := byProvider[w.Provider]
		c := s.Confirmation
		switch {
		case !ok:
			errs = append(errs, w.Provider+": no score yet")
		case s.Coverage != w.Coverage || s.Confirmed != w.Confirmed || s.Wrong != w.Wrong || s.Unknown != 0:
			errs = append(errs, fmt.Sprintf("%s: %d requesters, %d confirmed, %d wrong, %d unknown; want %d, %d, %d, 0",
				w.Provider, s.Coverage, s.Confirmed, s.Wrong, s.Unknown, w.Coverage, w.Confirmed, w.Wrong))
		case c.Shown != w.Shown || c.BP != w.ConfirmationBP || !slices.Equal(c.Values, w.Values) || s.WrongRate.BP != w.WrongRateBP:
			errs = append(errs, fmt.Sprintf("%s: confirmation %d %v (shown %v), wrong rate %d; want %d %v (shown %v), %d",
				w.Provider, c.BP, c.Values, c.Shown, s.WrongRate.BP, w.ConfirmationBP, w.Values, w.Shown, w.WrongRateBP))
		}
	}
	if len(byProvider) != len(want) {
		errs = append(errs, fmt.Sprintf("%d providers scored, want %d", len(byProvider), len(want)))
	}
	if len(errs) > 0 {
		return fmt.Errorf("scores differ: %s", strings.Join(errs, "; "))
	}
	return nil
}

// printScores prints the scores as a table, rates in percent.
func printScores(w io.Writer, scores []Score) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "   provider\trequesters\tconfirmed\twrong\tconfirmation (each requester's)\twrong-hit rate")
	for _, s := range scores {
		if !s.Shown {
			fmt.Fprintf(tw, "   %s\t%d\t%d\t%d\tnot shown (fewer than %d requesters)\t\n", s.Provider, s.Coverage, s.Confirmed, s.Wrong, qualityPolicy.MinRequesters)
			continue
		}
		vals := make([]string, len(s.Values))
		for i, v := range s.Values {
			vals[i] = percentBP(v)
		}
		fmt.Fprintf(tw, "   %s\t%d\t%d\t%d\t%s (%s)\t%s\n", s.Provider, s.Coverage, s.Confirmed, s.Wrong,
			percentBP(s.ConfirmationBP), strings.Join(vals, ", "), percentBP(s.WrongRateBP))
	}
	tw.Flush()
}

// percentBP writes basis points as a percentage with two decimals.
func percentBP(bp uint32) string { return fmt.Sprintf("%d.%02d%%", bp/100, bp%100) }

// qualityPrices is the second half of the quality scene, after period 1's
// snapshot: the regulator sets the policy and rolls over; the new period's
// price factors, the business API's provider listing and a query ranked by
// quality are checked against the expected scores, and the query's entries
// against the lower price.
func (d *session) qualityPrices(ctx context.Context) error {
	q := d.summary.Quality
	done := d.step("quality", "quality prices: the regulator sets a quality policy and opens the next period, priced by period 1's scores")
	admin := d.net.Admin()
	if err := admin.SetQualityPolicy(ctx, qualityPolicy); err != nil {
		return fmt.Errorf("set the quality policy: %w", err)
	}
	// The reconciliation scene's price, set here because a price applies
	// from the next period and this is the main network's last rollover.
	if err := admin.SetModePrice(ctx, reconCategory, accounting.ModeReconcile, reconPrice); err != nil {
		return fmt.Errorf("set the reconciliation price: %w", err)
	}
	fmt.Fprintf(d.out, "   policy: a score needs %d requesters and covers %d periods; tier 0 from %s confirmed: x%s, tier 1 below: x%s\n", qualityPolicy.MinRequesters, qualityPolicy.Window,
		percentBP(qualityPolicy.Tiers[0].MinConfirmation), multiplier(qualityPolicy.Tiers[0].Multiplier), multiplier(qualityPolicy.Tiers[1].Multiplier))
	p, err := admin.Rollover(ctx)
	if err != nil {
		return fmt.Errorf("rollover: %w", err)
	}
	q.Period = p.Number
	for i := range q.Scores {
		s := &q.Scores[i]
		f, factored := p.Factors[chaincode.FactorKey(s.Provider, category.String())]
		if factored != s.Shown {
			return fmt.Errorf("quality: period %d has a factor for %s: %v, want %v", p.Number, s.Provider, factored, s.Shown)
		}
		s.Tier, s.MultiplierBP = 0, chaincode.BasisPoints
		if s.Shown {
			s.Tier, s.MultiplierBP = tier(s.ConfirmationBP), qualityPolicy.Tiers[tier(s.ConfirmationBP)].Multiplier
		}
		s.Price = Price(category.String()) * int64(s.MultiplierBP) / chaincode.BasisPoints
		if factored && (f.Tier != s.Tier || f.Multiplier != s.MultiplierBP || f.Confirmation.BP != s.ConfirmationBP || f.From != 1 || f.To != 1) {
			return fmt.Errorf("quality: %s's factor in period %d is %+v, want tier %d, x%d from period 1's confirmation %d", s.Provider, p.Number, f, s.Tier, s.MultiplierBP, s.ConfirmationBP)
		}
		if got, ok := p.Price(category.String(), chaincode.ModeCatalog, s.Provider); !ok || got != s.Price {
			return fmt.Errorf("quality: period %d prices %s's %s at %d, want %d", p.Number, s.Provider, category, got, s.Price)
		}
		if s.Shown {
			fmt.Fprintf(d.out, "   %s: confirmation %s, tier %d, x%s: its %s answers cost %d per identifier in period %d\n", s.Provider, percentBP(s.ConfirmationBP),
				s.Tier, multiplier(s.MultiplierBP), category, s.Price, p.Number)
		}
	}
	if bad := q.score(Unreliable); bad.Price >= Price(category.String()) {
		return fmt.Errorf("quality: %s is priced at %d in period %d, not below %d", Unreliable, bad.Price, p.Number, Price(category.String()))
	}
	done()
	if err := d.waitCatalogs(ctx, p.Number, fmt.Sprintf("catalogs_period_%d", p.Number)); err != nil {
		return err
	}
	return d.ranked(ctx)
}

// multiplier writes a multiplier in basis points as a decimal, e.g. 0.5.
func multiplier(bp uint32) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%d.%04d", bp/chaincode.BasisPoints, bp%chaincode.BasisPoints), "0"), ".")
}

// ranked is the quality scene's end, in the priced period: the requester's
// provider listing shows the scores and factors, a query ranked by quality
// lists Unreliable's hits last, and the ledger bills each provider's part
// at its own price.
func (d *session) ranked(ctx context.Context) error {
	q := d.summary.Quality
	done := d.step("ranked", fmt.Sprintf("period %d: %s's provider listing and a query ranked by quality", q.Period, Requester))
	client, err := d.net.Client(Requester)
	if err != nil {
		return err
	}
	if err := d.checkListing(ctx, client); err != nil {
		return err
	}
	b := d.qualityBatches[Requester]
	req := b.Request()
	req.RankByQuality = true
	id, res, err := runQueryID(ctx, client, req)
	if err != nil {
		return err
	}
	// The ranking the node must use: the shown rates of the providers asked.
	want := map[string]uint32{}
	for _, p := range res.GetProviders() {
		if p.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			return fmt.Errorf("ranked query: provider %s did not answer: %v", p.GetProvider(), p.GetStatus())
		}
		s := q.score(p.GetProvider())
		if s == nil {
			return fmt.Errorf("ranked query: %s answered but has no score", p.GetProvider())
		}
		if s.Shown {
			want[p.GetProvider()] = s.ConfirmationBP
		}
		if p.GetAmount() != int64(p.GetItems())*s.Price {
			return fmt.Errorf("ranked query: %s billed %d tokens for %d items, want %d each", p.GetProvider(), p.GetAmount(), p.GetItems(), s.Price)
		}
	}
	rec, err := client.GetQuery(ctx, &riskmeshv1.GetQueryRequest{QueryId: id})
	if err != nil {
		return err
	}
	if !maps.Equal(rec.GetRanking(), want) {
		return fmt.Errorf("ranked query: ranked by %v, want %v", rec.GetRanking(), want)
	}
	if q.RankedLast, err = checkRanking(b, res, want); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   ranked by confirmation rate %v: on %d identifiers %s's hit comes after another provider's\n", rankingText(want), q.RankedLast, Unreliable)

	entries, err := d.priced(ctx, q.Period, res.GetAmount())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "   requester\tresponder\tcategory\titems\ttokens\tper item")
	for _, e := range entries {
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%d\t%d\t%d\n", e.Key.Requester, e.Key.Responder, e.Category, e.Count, e.Amount, q.score(e.Key.Responder).Price)
		q.Priced = append(q.Priced, entryOf(e))
	}
	tw.Flush()
	done()
	return nil
}

// checkListing checks the requester's business API provider listing: each
// provider's score and the current period's factor, as expected.
func (d *session) checkListing(ctx context.Context, client riskmeshv1.RiskMeshClient) error {
	q := d.summary.Quality
	resp, err := client.Providers(ctx, &riskmeshv1.ProvidersRequest{Category: category.String()})
	if err != nil {
		return fmt.Errorf("providers: %w", err)
	}
	listed, want := 0, 0
	for _, s := range q.Scores {
		if s.Provider != Requester { // nobody lists itself
			want++
		}
	}
	for _, p := range resp.GetProviders() {
		s := q.score(p.GetMspId())
		for _, pq := range p.GetQuality() {
			if pq.GetCategory() != category.String() || s == nil {
				continue
			}
			listed++
			if pq.GetShown() != s.Shown || pq.GetCoverage() != s.Coverage || pq.GetConfirmationBp() != s.ConfirmationBP ||
				pq.GetWrongRateBp() != s.WrongRateBP || pq.GetMultiplierBp() != s.MultiplierBP || int(pq.GetTier()) != s.Tier {
				return fmt.Errorf("providers: %s's quality is %v, want %+v", p.GetMspId(), pq, s)
			}
		}
	}
	if listed != want {
		return fmt.Errorf("providers: %d providers with a %s score listed, want %d", listed, category, want)
	}
	fmt.Fprintf(d.out, "   %s's provider listing shows the same scores, tiers and multipliers (%d providers)\n", Requester, listed)
	return nil
}

// checkRanking checks a ranked result: every item's hits are the planted
// ones, in the ranking's order (best rate first, providers without a shown
// rate last, ties by provider). It returns on how many items Unreliable's
// hit follows another provider's, at least one.
func checkRanking(b *synth.Batch, res *riskmeshv1.QueryResult, ranking map[string]uint32) (int, error) {
	rank := func(p string) (bool, uint32) { r, ok := ranking[p]; return ok, r }
	before := func(a, c string) bool {
		oka, ra := rank(a)
		okc, rc := rank(c)
		if oka != okc {
			return oka
		}
		if ra != rc {
			return ra > rc
		}
		return a < c
	}
	last := 0
	for _, it := range res.GetItems() {
		hits := it.GetHits()
		for i := 1; i < len(hits); i++ {
			if !before(hits[i-1].GetProvider(), hits[i].GetProvider()) {
				return 0, fmt.Errorf("ranked query: item %d lists %s before %s", it.GetIndex(), hits[i-1].GetProvider(), hits[i].GetProvider())
			}
		}
		if len(hits) > 1 && hits[len(hits)-1].GetProvider() == Unreliable {
			last++
		}
	}
	// The hits themselves, in provider order, are the planted ones.
	sorted := proto.Clone(res).(*riskmeshv1.QueryResult)
	for _, it := range sorted.GetItems() {
		slices.SortFunc(it.Hits, func(a, c *riskmeshv1.Hit) int { return strings.Compare(a.GetProvider(), c.GetProvider()) })
	}
	if err := b.Check(sorted); err != nil {
		return 0, fmt.Errorf("ranked query: %w", err)
	}
	if last == 0 {
		return 0, fmt.Errorf("ranked query: no identifier hit by %s and another provider", Unreliable)
	}
	return last, nil
}

// rankingText is a ranking as "P 100.00%, Q 83.33%", best first.
func rankingText(ranking map[string]uint32) string {
	ps := slices.SortedFunc(maps.Keys(ranking), func(a, b string) int {
		if ranking[a] != ranking[b] {
			return int(ranking[b]) - int(ranking[a])
		}
		return strings.Compare(a, b)
	})
	for i, p := range ps {
		ps[i] = p + " " + percentBP(ranking[p])
	}
	return strings.Join(ps, ", ")
}

// priced waits until the priced period's entries bill amount and checks
// each against its provider's price in that period.
func (d *session) priced(ctx context.Context, period uint64, amount int64) ([]accounting.RecordedEntry, error) {
	q := d.summary.Quality
	entries, err := d.waitEntries(ctx, fmt.Sprintf("the ranked query's entries in period %d", period), period, nil, amount)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		s := q.score(e.Key.Responder)
		if s == nil || e.Amount != int64(e.Count)*s.Price {
			return nil, fmt.Errorf("ledger entry %s -> %s of %d items billed %d tokens, not at its period %d price", e.Key.Requester, e.Key.Responder, e.Count, e.Amount, period)
		}
	}
	return entries, nil
}
