package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
)

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
			q := accounting.QualityQuery{Provider: provider, Category: category, Window: window}
			if len(args) == 1 {
				var err error
				if q.Period, err = parsePeriod(args[0]); err != nil {
					return err
				}
			}
			r, err := accounting.ReadQualityReport(ctx, l(), q, history)
			if err != nil {
				return err
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
				t, err := accounting.ParseQualityTier(s)
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
