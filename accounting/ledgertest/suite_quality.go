package ledgertest

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
)

// quality plays the rules of outcome reports, scores and the quality
// policy (docs/quality.md) against dishonest members: a provider rating
// its own answers, a requester rating another's entry, an unrecorded or a
// reversed one, a report after the snapshot, the regulator trying to set a
// score or weaken the policy, and one requester reporting its extremes to
// drag a score past the bound. Bank3 answers in category "a" of the
// current period; Bank1, Bank2 and the regulator (given the requester role
// for the step) ask. It then drives the periods to a snapshot of this one
// and checks that the period after the next bills Bank3 at its tier's
// multiplier. It restores the regulator's roles and the default policy.
func (s *scenario) quality(t *testing.T) {
	reg := s.h.Regulator.Ledger
	b1, b2, b3, rg := &s.h.Bank1, &s.h.Bank2, &s.h.Bank3, &s.h.Regulator
	a := s.category("a")
	must(t, reg.SetRoles(ctx(t), RegulatorMSP, []accounting.Role{accounting.RoleAuditor, accounting.RoleRequester}))
	cur, err := reg.Period(ctx(t), 0)
	must(t, err)
	c, price := cur.Number, cur.Prices[a]
	if _, ok := cur.Factors[chaincode.FactorKey(Bank3MSP, a)]; ok {
		t.Fatalf("period %d has a factor for a category nobody scored", c)
	}

	// Bank3 answers 10 items per entry.
	ask := func(t *testing.T, req *Identity, n int) []accounting.EntryKey {
		t.Helper()
		var es []accounting.Entry
		for range n {
			es = append(es, s.entry(t, req, b3, a, c, 10, price, entryOpts{}))
		}
		s.recordOK(t, b3, es...)
		keys := make([]accounting.EntryKey, n)
		for i, e := range es {
			keys[i] = keyOf(t, e)
		}
		return keys
	}
	k1, k2, kr := ask(t, b1, 3), ask(t, b2, 1), ask(t, rg, 1)
	report := func(t *testing.T, id *Identity, reports ...accounting.OutcomeReport) []accounting.Outcome {
		t.Helper()
		outs, err := id.Ledger.ReportOutcomes(ctx(t), reports)
		must(t, err)
		return outs
	}
	reportOK := func(t *testing.T, id *Identity, reports ...accounting.OutcomeReport) {
		t.Helper()
		for _, o := range report(t, id, reports...) {
			wantOutcome(t, o, accounting.OutcomeRecorded, "")
		}
	}
	refused := func(t *testing.T, id *Identity, code chaincode.Code, r accounting.OutcomeReport) {
		t.Helper()
		wantOutcome(t, report(t, id, r)[0], accounting.OutcomeRejected, code)
	}
	scoreOf := func(t *testing.T) accounting.QualityScore {
		t.Helper()
		got, err := b2.Ledger.Scores(ctx(t), accounting.QualityQuery{Period: c, Provider: Bank3MSP, Category: a, Window: 1})
		must(t, err)
		if len(got) != 1 || got[0].Provider != Bank3MSP || got[0].Category != a || got[0].From != c || got[0].To != c {
			t.Fatalf("scores of %s in %s: %+v", Bank3MSP, a, got)
		}
		return got[0]
	}
	wantConfirmation := func(t *testing.T, bp uint32, values ...uint32) {
		t.Helper()
		got := scoreOf(t).Confirmation
		if !got.Shown || got.BP != bp || !slices.Equal(got.Values, values) {
			t.Fatalf("confirmation %+v, want %d from %v", got, bp, values)
		}
	}

	t.Run("AdversaryRefusals", func(t *testing.T) {
		honest := accounting.OutcomeReport{Key: k1[0], Confirmed: 4, Wrong: 1}
		refused(t, b3, chaincode.CodeForbidden, honest) // the provider rates its own answer
		refused(t, b2, chaincode.CodeForbidden, honest) // another requester's entry
		refused(t, rg, chaincode.CodeForbidden, honest) // the regulator edits a score
		unrecorded := honest
		unrecorded.Key.Sequence = s.nextSeq()
		refused(t, b1, chaincode.CodeNotFound, unrecorded)
		refused(t, b1, chaincode.CodeInvalidArgument, accounting.OutcomeReport{Key: k1[0], Confirmed: 8, Wrong: 2, Unknown: 1})
		for _, k := range s.keys { // s.period is snapshotted
			e, err := reg.Entry(ctx(t), k)
			must(t, err)
			if k.Requester == Bank1MSP && e.Reversal == nil {
				refused(t, b1, chaincode.CodePeriodClosed, accounting.OutcomeReport{Key: k, Confirmed: 1})
				break
			}
		}
		// A reversed entry's report leaves the score, and it cannot be rated again.
		reportOK(t, b1, accounting.OutcomeReport{Key: k1[2], Wrong: 10})
		if got := scoreOf(t); got.Entries != 1 || got.Wrong != 10 {
			t.Fatalf("score before the reversal: %+v", got)
		}
		s.reverseOK(t, b1, k1[2])
		if got := scoreOf(t); got.Coverage != 0 || got.Entries != 0 || got.Wrong != 0 {
			t.Fatalf("a reversed entry's report still scores: %+v", got)
		}
		refused(t, b1, chaincode.CodeAlreadyReversed, accounting.OutcomeReport{Key: k1[2], Confirmed: 10})
		// The regulator cannot let fewer requesters decide a score.
		weak := *chaincode.DefaultQualityPolicy()
		weak.MinRequesters = 1
		wantErr(t, reg.SetQualityPolicy(ctx(t), weak), accounting.ErrInvalidArgument)
	})

	t.Run("MedianOfRequesters", func(t *testing.T) {
		reportOK(t, b1, accounting.OutcomeReport{Key: k1[0], Confirmed: 4, Wrong: 1}, accounting.OutcomeReport{Key: k1[1], Confirmed: 4, Unknown: 1})
		reportOK(t, b2, accounting.OutcomeReport{Key: k2[0], Confirmed: 3, Wrong: 1})
		got := scoreOf(t)
		if got.Coverage != 2 || got.Confirmation.Shown || got.Confirmation.BP != 0 || len(got.Confirmation.Values) != 0 {
			t.Fatalf("two requesters' score is shown: %+v", got)
		}
		reportOK(t, rg, accounting.OutcomeReport{Key: kr[0], Confirmed: 1, Wrong: 1})
		got = scoreOf(t)
		// Bank1 8/9 = 8888, Bank2 3/4 = 7500, the regulator 1/2 = 5000.
		if got.Coverage != 3 || got.Entries != 4 || got.Items != 40 || got.Confirmed != 12 || got.Wrong != 3 || got.Unknown != 1 {
			t.Fatalf("score totals: %+v", got)
		}
		wantConfirmation(t, 7500, 5000, 7500, 8888)
		if h := got.HitRate; !h.Shown || h.BP != 4000 { // 10/20, 4/10, 2/10 hits per item
			t.Fatalf("hit rate %+v, want 4000", h)
		}
		if w := got.WrongRate; !w.Shown || w.BP != 2500 { // 1/10, 1/4, 1/2 of hits wrong
			t.Fatalf("wrong-hit rate %+v, want 2500", w)
		}
		// Reporting the same again is a no-op; a revision replaces.
		wantOutcome(t, report(t, b2, accounting.OutcomeReport{Key: k2[0], Confirmed: 3, Wrong: 1})[0], accounting.OutcomeDuplicate, "")
		reportOK(t, b2, accounting.OutcomeReport{Key: k2[0], Confirmed: 2, Wrong: 2})
		wantConfirmation(t, 5000, 5000, 5000, 8888)
		reportOK(t, b2, accounting.OutcomeReport{Key: k2[0], Confirmed: 3, Wrong: 1})
	})

	t.Run("AdversaryOneRequesterBound", func(t *testing.T) {
		// Without Bank1 the others' rates are 5000 and 7500: whatever Bank1
		// reports, and however many entries it reports on, the median stays
		// between them.
		more := ask(t, b1, 4)
		var worst, best []accounting.OutcomeReport
		for _, k := range append(more, k1[:2]...) {
			worst = append(worst, accounting.OutcomeReport{Key: k, Wrong: 10})
			best = append(best, accounting.OutcomeReport{Key: k, Confirmed: 10})
		}
		reportOK(t, b1, worst...)
		wantConfirmation(t, 5000, 0, 5000, 7500)
		reportOK(t, b1, best...)
		wantConfirmation(t, 7500, 5000, 7500, 10000)
		// Back to its honest reports (the extra entries unresolved).
		var honest []accounting.OutcomeReport
		for _, k := range more {
			honest = append(honest, accounting.OutcomeReport{Key: k})
		}
		reportOK(t, b1, append(honest, accounting.OutcomeReport{Key: k1[0], Confirmed: 4, Wrong: 1}, accounting.OutcomeReport{Key: k1[1], Confirmed: 4, Unknown: 1})...)
		wantConfirmation(t, 7500, 5000, 7500, 8888)
	})

	t.Run("DeclaredStatistics", func(t *testing.T) {
		key := registerOPRFKey(t, b3.Ledger, a)
		d := sha256.Sum256([]byte("quality catalog " + s.tag))
		stats := &accounting.CatalogStats{Entries: 1200, Added: 40, Removed: 15, MeanAgeDays: 90}
		cat := accounting.Catalog{Category: a, Period: c, Digest: d[:], OPRFKey: key, Stats: stats}
		must(t, b3.Ledger.PublishCatalog(ctx(t), cat))
		must(t, b3.Ledger.PublishCatalog(ctx(t), cat))
		inflated := cat
		inflated.Stats = &accounting.CatalogStats{Entries: 5000, Added: 40, Removed: 15, MeanAgeDays: 90}
		wantErr(t, b3.Ledger.PublishCatalog(ctx(t), inflated), accounting.ErrConflict)
		if got := scoreOf(t).Declared; got == nil || *got != *stats {
			t.Fatalf("declared statistics %+v, want %+v", got, stats)
		}
	})

	t.Run("PolicyPricesTheNextPeriod", func(t *testing.T) {
		policy := accounting.QualityPolicy{MinRequesters: 3, Window: 1, Tiers: []accounting.QualityTier{
			{MinConfirmation: 9000, Multiplier: 12000}, {MinConfirmation: 8000, Multiplier: 10000}, {MinConfirmation: 0, Multiplier: 5000},
		}}
		wantErr(t, b1.Ledger.SetQualityPolicy(ctx(t), policy), accounting.ErrForbidden)
		for i, bad := range []accounting.QualityPolicy{
			{MinRequesters: 3, Window: 1, Tiers: []accounting.QualityTier{{MinConfirmation: 10, Multiplier: 10000}}},
			{MinRequesters: 3, Window: 1, Tiers: []accounting.QualityTier{{MinConfirmation: 0, Multiplier: 0}}},
			{MinRequesters: 3, Window: 0, Tiers: policy.Tiers},
			{MinRequesters: 3, Window: 1, Tiers: []accounting.QualityTier{{MinConfirmation: 0, Multiplier: 1}, {MinConfirmation: 0, Multiplier: 1}}},
		} {
			if err := reg.SetQualityPolicy(ctx(t), bad); err == nil {
				t.Fatalf("bad policy %d accepted", i)
			}
		}
		must(t, reg.SetQualityPolicy(ctx(t), policy))
		got, err := b3.Ledger.QualityPolicy(ctx(t))
		must(t, err)
		if fmt.Sprint(*got) != fmt.Sprint(policy) {
			t.Fatalf("policy %+v, want %+v", got, policy)
		}
		// The next period opens before c is snapshotted: no factor yet.
		if prev, err := reg.Period(ctx(t), c-1); err == nil && prev.State == accounting.PeriodGrace {
			must(t, reg.ForceClosePeriod(ctx(t), c-1))
		}
		next, err := reg.Rollover(ctx(t))
		must(t, err)
		if _, ok := next.Factors[chaincode.FactorKey(Bank3MSP, a)]; ok || next.Quality == nil {
			t.Fatalf("period %d: factors %v, policy %v", next.Number, next.Factors, next.Quality)
		}
		snapshotThrough(t, reg, c)
		refused(t, b1, chaincode.CodePeriodClosed, accounting.OutcomeReport{Key: k1[0], Confirmed: 5})
		after, err := reg.Rollover(ctx(t))
		must(t, err)
		f, ok := after.Factors[chaincode.FactorKey(Bank3MSP, a)]
		if !ok || f.Tier != 2 || f.Multiplier != 5000 || f.Confirmation.BP != 7500 || f.From != c || f.To != c {
			t.Fatalf("period %d factor of %s in %s: %+v", after.Number, Bank3MSP, a, f)
		}
		half, ok := after.Price(a, accounting.ModeCatalog, Bank3MSP)
		if base, _ := after.Price(a, accounting.ModeCatalog, Bank2MSP); !ok || half != price/2 || base != price {
			t.Fatalf("period %d prices: Bank3 %d, Bank2 %d, base %d", after.Number, half, base, price)
		}
		outs, err := b3.Ledger.Record(ctx(t), []accounting.Entry{
			s.entry(t, b1, b3, a, after.Number, 10, half, entryOpts{}),
			s.entry(t, b1, b3, a, after.Number, 10, price, entryOpts{}),
		})
		must(t, err)
		wantOutcome(t, outs[0], accounting.OutcomeRecorded, "")
		wantOutcome(t, outs[1], accounting.OutcomeRejected, chaincode.CodeWrongAmount)
	})

	must(t, reg.SetQualityPolicy(ctx(t), *chaincode.DefaultQualityPolicy()))
	must(t, reg.SetRoles(ctx(t), RegulatorMSP, []accounting.Role{accounting.RoleAuditor}))
}

// snapshotThrough closes, settles and snapshots every period up to last
// that is not snapshotted yet, oldest first, forcing the closes, and marks
// the snapshots paid, so no flag outlives the step.
func snapshotThrough(t *testing.T, reg accounting.Ledger, last uint64) {
	t.Helper()
	first := last
	for first > 1 {
		p, err := reg.Period(ctx(t), first-1)
		must(t, err)
		if p.State == accounting.PeriodSnapshotted {
			break
		}
		first--
	}
	for n := first; n <= last; n++ {
		p, err := reg.Period(ctx(t), n)
		must(t, err)
		if p.State == accounting.PeriodGrace {
			must(t, reg.ForceClosePeriod(ctx(t), n))
		}
		if p.State != accounting.PeriodSettled && p.State != accounting.PeriodSnapshotted {
			settleAll(t, reg, n, 0)
		}
		if p.State != accounting.PeriodSnapshotted {
			snap, err := reg.TakeSnapshot(ctx(t), n)
			must(t, err)
			if len(snap.Flagged) > 0 {
				_, err := reg.MarkPaid(ctx(t), n)
				must(t, err)
			}
		}
	}
}
