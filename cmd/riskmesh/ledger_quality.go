package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
)

// qualityReport is what `ledger quality` prints: the period's policy and
// price factors (why each provider pays its multiplier), the scores, and
// with --history the scores of each earlier period on its own.
type qualityReport struct {
	Period  uint64                               `json:"period"`
	Policy  *accounting.QualityPolicy            `json:"policy"`
	Factors map[string]accounting.PriceFactor    `json:"factors,omitempty"`
	Scores  []accounting.QualityScore            `json:"scores"`
	History map[uint64][]accounting.QualityScore `json:"history,omitempty"`
}

// maxHistory bounds --history.
const maxHistory = 24

// newLedgerQualityCommands returns the quality subcommands of `ledger`:
// reading scores and setting the consortium's quality policy.
func newLedgerQualityCommands(l func() accounting.Ledger) []*cobra.Command {
	var (
		provider, category string
		window, history    uint32
		policyWindow       uint32
		minRequesters      uint32
		tiers              []string
	)
	show := ledgerCmd("quality [PERIOD]", "print providers' quality scores, the period's quality policy and the price factors it set", -1,
		func(ctx context.Context, w io.Writer, args []string, _ *ledgerFlags) error {
			var n uint64
			if len(args) == 1 {
				var err error
				if n, err = parsePeriod(args[0]); err != nil {
					return err
				}
			}
			if history > maxHistory {
				return fmt.Errorf("--history: at most %d periods", maxHistory)
			}
			p, err := l().Period(ctx, n)
			if err != nil {
				return err
			}
			r := qualityReport{Period: p.Number, Policy: p.Quality, Factors: map[string]accounting.PriceFactor{}}
			for k, f := range p.Factors {
				if (provider == "" || f.Provider == provider) && (category == "" || f.Category == category) {
					r.Factors[k] = f
				}
			}
			q := accounting.QualityQuery{Period: p.Number, Provider: provider, Category: category, Window: window}
			if r.Scores, err = l().Scores(ctx, q); err != nil {
				return err
			}
			for i := uint64(1); i <= uint64(history) && i < p.Number; i++ {
				if r.History == nil {
					r.History = map[uint64][]accounting.QualityScore{}
				}
				q.Period, q.Window = p.Number-i, 1
				if r.History[q.Period], err = l().Scores(ctx, q); err != nil {
					return err
				}
			}
			return printJSON(w, r)
		}, nil)
	show.Flags().StringVar(&provider, "provider", "", "only this provider")
	show.Flags().StringVar(&category, "category", "", "only this category")
	show.Flags().Uint32Var(&window, "window", 0, "periods the scores cover, ending at PERIOD (0: the period's policy window)")
	show.Flags().Uint32Var(&history, "history", 0, "also print each of this many earlier periods' own scores")

	set := ledgerCmd("set-quality", "set the quality policy the next period captures: confirmation-rate tiers to price multipliers", 0,
		func(ctx context.Context, w io.Writer, _ []string, _ *ledgerFlags) error {
			p := accounting.QualityPolicy{MinRequesters: minRequesters, Window: policyWindow}
			for _, s := range tiers {
				t, err := parseTier(s)
				if err != nil {
					return err
				}
				p.Tiers = append(p.Tiers, t)
			}
			if err := l().SetQualityPolicy(ctx, p); err != nil {
				return err
			}
			return printJSON(w, p)
		}, nil)
	set.Flags().Uint32Var(&minRequesters, "min-requesters", chaincode.MinPolicyRequesters, "requesters that must report before a score is shown or moves a price")
	set.Flags().Uint32Var(&policyWindow, "window", 3, "periods a rolling score covers")
	set.Flags().StringSliceVar(&tiers, "tier", []string{"0:10000"}, "MIN_CONFIRMATION_BP:MULTIPLIER_BP, best tier first; the last one's minimum is 0")
	return []*cobra.Command{show, set}
}

// parseTier reads "MIN:MULTIPLIER", both in basis points.
func parseTier(s string) (accounting.QualityTier, error) {
	minConf, mult, ok := strings.Cut(s, ":")
	a, errA := strconv.ParseUint(minConf, 10, 32)
	b, errB := strconv.ParseUint(mult, 10, 32)
	if !ok || errA != nil || errB != nil {
		return accounting.QualityTier{}, fmt.Errorf("tier %q: want MIN_CONFIRMATION_BP:MULTIPLIER_BP, e.g. 9000:12000", s)
	}
	return accounting.QualityTier{MinConfirmation: uint32(a), Multiplier: uint32(b)}, nil
}
